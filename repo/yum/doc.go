// Package yum owns the yum repodata dnf reads from a channel with RPM fix
// packages: primary, filelists and other rendered from each package's
// header the way createrepo_c does, repomd.xml naming them, a check of
// published repodata as dnf would make it, and the channel's caches of
// rendered package XML (.repodata.cache) and compressed runs of it
// (.repodata.gz), which make adding one package to thousands cost one
// header read. It renders bytes; reading headers and writing files
// belong to the caller (repo/publish).
package yum
