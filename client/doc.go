// Package client is what runs on a server that receives hotfixes: its
// configuration (/etc/hotfix/hotfix.toml), local state (state.json,
// seen.json, keylist.json, the pause marker, the audit log), check,
// download, install orchestration, rollback, recover, status and info.
//
// Install and install --from share one shell, runFixes, fed by a
// fixSource (the repository, or one local .fix, .rpm or fix directory);
// each fix's transaction on the root is client/txn's, and the report of a
// scheduled run and its transports are client/notify's.
//
// Check splits the chain after the installed level into pending fixes
// and those a staged rollout holds back from this server (rollout.go:
// ring, machine id, bucket); only a version named by the administrator
// takes a held fix.
//
// Nothing here trusts the repository: indexes and archives are verified
// against the keys in the configured trusted key directory before any byte
// of them is used outside the download cache. Where the repository
// publishes a key list, those keys are its root keys: the list, walked
// forward version by version (keylist.go), names the signing keys that
// count.
package client
