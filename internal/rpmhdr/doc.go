// Package rpmhdr reads dependency and file lists out of parsed RPM
// headers, checking that their parallel tag arrays agree (the header
// library's own accessors index past them). It is shared by repo/rpm,
// which reads fix packages, and repo/yum, which renders repodata from the
// same headers; format packages do not import each other, so the checked
// accessors and tag numbers both need live here.
package rpmhdr
