// Package client is what runs on a server that receives hotfixes: its
// configuration (/etc/hotfix/hotfix.toml), local state, check, download, the
// transactional installer, rollback and notifications.
//
// Nothing here trusts the repository: indexes and archives are verified
// against the keys in the configured trusted key directory before any byte
// of them is used outside the download cache.
package client
