// Package sign makes and checks the OpenPGP signatures that protect a hotfix
// repository: it generates vendor keys, signs indexes and packages with a
// secret key file, and verifies detached signatures against a trusted keyring
// that the client loads from its own key directory.
//
// Keys are v4 OpenPGP keys (Ed25519 EdDSA by default, RSA on request) so that
// plain gpg 2.2 and rpm can read every key and signature this package writes.
// Verification is pure: it works on bytes and an explicit time, and every
// failure is a *VerifyError wrapping one of the ErrXxx sentinels.
package sign
