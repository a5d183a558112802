// Package publish owns the operations on a repository directory: Add
// puts verified archives into their channels, Build writes the signed
// indexes, repodata and pages, VerifyRepo checks a repository as a client
// would, SetRollout records a fix's rollout stage (.rollout.json, the
// vendor's decision, which Build signs into the index), and Publish
// copies a built repository to object storage or a directory in the order
// that keeps clients working (upload*.go; the destinations in dest_*.go).
// Its catalog (.catalog) remembers what each channel's archives hold, and
// the speed work (multi-lane hashing of mapped archives, rendered
// fragments kept between builds) lives behind this boundary, so the model
// and the formats stay plain.
package publish
