// Package mirror copies a vendor's repository, or an export bundle of one
// channel, into a local directory that any static host (or "hotfix
// serve") serves to clients: byte for byte, nothing re-signed, so clients
// verify the mirror with the vendor's key exactly as the vendor's site.
//
// A run first reads and verifies everything it will keep, then keeps it:
// repo.json and every chosen channel's index against the keyring (with
// the client's own rules: product, base, expiry, and a serial never lower
// than the one already mirrored; where the source has a key list, the
// keyring holds the root keys and the list is walked from them with
// client.WalkKeyLists, signatures counting by the newest version's
// signing keys), every archive's size and sha256 against its signed
// index, the yum repodata against its signed repomd.xml. New
// archives are downloaded into DIR/.mirror/ (a dot-directory nobody
// serves), resuming a partial file after a cut. Only when all is verified
// are the files put in place, in the safe order: archives, repodata,
// keys/, repomd.xml and its signature (then the repodata files it no
// longer names are removed), each index and its signature, then
// repo.json and its signature last. A mirror cut off at any point
// serves what it served before or the new state (an index never names an
// archive that is missing), and the next run finishes it.
//
// Network reads use the client's Fetcher: connect and whole-file
// deadlines, a minimum rate, no transparent decompression. The pages
// for people (HTML, Atom feeds), being unsigned, are not mirrored.
package mirror
