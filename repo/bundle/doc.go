// Package bundle owns the export bundle: one channel of a repository as a
// single file for sites without a network path to the vendor ("hotfix
// repo export" writes it; "hotfix install --from" and "hotfix mirror"
// read it).
//
// The format is a plain (uncompressed: the archives inside are
// compressed already) POSIX tar file whose entries come in this order
// (format 2):
//
//	hotfix-export.json                   {"format":2,"product","base","from","root","repodata","customers"}: what the bundle claims to hold
//	keys/NAME                            the repository's keys/ folder (public keys, every key list version), sorted by name
//	repo.json, repo.json.asc             the signed list of channels, where the repository has one ("root")
//	PRODUCT/BASE/index.json              the channel index, byte for byte as published
//	PRODUCT/BASE/index.json.asc          its detached signature
//	PRODUCT/BASE/FILE                    the archives (.fix, then the fix's .rpm) of every fix from "from" on, in chain order
//	PRODUCT/BASE/repodata/repomd.xml     the yum repodata, where the channel has RPMs ("repodata"),
//	PRODUCT/BASE/repodata/repomd.xml.asc then the data files repomd.xml names, in its order
//	PRODUCT/BASE/custom/C/index.json     per customer channel ("customers", sorted): its index,
//	PRODUCT/BASE/custom/C/index.json.asc signature and archives in index order
//	PRODUCT/BASE/custom/C/FILE
//
// The keys come first because an index signed under a key list is
// verified by walking keys/N.root.json. Format 1 bundles (keys/ last,
// after the archives, and nothing of repo.json, repodata or customers)
// are still read.
//
// Every entry is a regular file with mode 0644, owner 0, and the
// modification time of SOURCE_DATE_EPOCH (or 1970), so that the same
// channel exported twice gives the same bytes.
//
// A bundle arrives by hand, so Read treats it as hostile: every entry's
// type, name, position and size are checked before its bytes are
// accepted, the index and signature are handed to the caller's
// verification before any archive is read, an archive must be one the
// verified index (or repomd.xml, or customer index) names, with exactly its size and sha256, and the tar
// stream is read to its end (its end-of-archive marker, nothing but
// zeros after it or in the padding after each entry).
package bundle
