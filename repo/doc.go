// Package repo is the model of a hotfix repository, bytes in and bytes
// out: versions and the chain-gap rule, product and file names, the fix
// source (fix.toml) and the manifest it becomes, the channel index
// (index.json) and the root index (repo.json), what a build knows of an
// archive, a fix's staged rollout with the per-server bucket and ramp
// (rollout.go), and the signer and verifier types. The formats that carry
// these bytes (repo/fixarchive, repo/rpm, repo/yum, repo/site) and the
// operations on a repository directory (repo/publish) build on it, so it
// imports nothing of hotfix but internal helpers. It never prints.
package repo
