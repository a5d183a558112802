package repo

// Signer makes detached armored OpenPGP signatures over published
// metadata; *sign.Signer implements it.
type Signer interface {
	SignDetached(data []byte) ([]byte, error)
	ArmoredPublic() ([]byte, error)
	Fingerprint() string
}

// CheckSignature verifies a detached signature over data; the caller binds
// it to a trusted keyring.
type CheckSignature func(data, sig []byte) error
