package client

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// Conditions callers branch on; each is wrapped in a TrustError that says
// what happened and what to do.
var (
	ErrExpired  = errors.New("index expired")
	ErrReplayed = errors.New("index serial went backwards")
	ErrTooLarge = errors.New("larger than allowed")
	ErrMismatch = errors.New("content does not match the signed index")
)

// TrustError is a refusal to trust repository data.
type TrustError struct {
	What string // e.g. "index for acme 2.4.1"
	Err  error
	Hint string // the remedy
}

func (e *TrustError) Error() string {
	// An Err that already names its subject ("index for acme 2.4.1
	// expired on ...") is not prefixed with it a second time.
	s := e.Err.Error()
	if !strings.HasPrefix(s, e.What) {
		s = e.What + ": " + s
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

func (e *TrustError) Unwrap() error { return e.Err }

// subjectError is a sentinel with a message of its own that names its
// subject.
type subjectError struct {
	msg string
	err error
}

func (e *subjectError) Error() string { return e.msg }
func (e *subjectError) Unwrap() error { return e.err }

// IndexCheck is what VerifyIndex needs to know besides the bytes.
type IndexCheck struct {
	Keyring    *sign.Keyring
	Keys       *IndexKeys // the key list's signing keys; nil: Keyring signs indexes directly
	Product    string
	Base       repo.Version
	Now        time.Time
	LastSerial int64 // highest serial seen before for this channel
	MaxSize    int64
	ConfigPath string // named in the remedy for an index over MaxSize
	// TrustedKeys names where the trusted keys come from (a server's
	// trusted_keys, a mirror's keyring), in the remedy for an index
	// signed by a key not among them.
	TrustedKeys string
	// AllowExpired accepts an index past its expiry (an export bundle
	// that travelled longer than its validity, by the administrator's
	// explicit choice); everything else is checked as ever.
	AllowExpired bool
}

// VerifyIndex decides whether index bytes and their detached signature
// can be trusted. It is pure: no I/O, no clock but c.Now. Only an index
// it returns may be acted upon.
func VerifyIndex(data, sig []byte, c IndexCheck) (*repo.Index, error) {
	what := fmt.Sprintf("index for %s %s", c.Product, c.Base)
	var ix *repo.Index
	err := verifySigned(what, data, sig, c, "index", func() (signedHead, error) {
		var err error
		if ix, err = repo.ParseIndex(data); err != nil {
			return signedHead{}, err
		}
		if ix.Product != c.Product || !ix.Base.Equal(c.Base) {
			return signedHead{}, fmt.Errorf("%w: the signed index is for %s %s", ErrMismatch, ix.Product, ix.Base)
		}
		return signedHead{ix.KeyList, ix.Expires, ix.Serial}, nil
	})
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// signedHead is what verifySigned checks of a parsed index, vendor or
// customer alike.
type signedHead struct {
	keyList int64
	expires time.Time
	serial  int64
}

// verifySigned is the trust sequence every signed channel index goes
// through, in this order: size, signature (by a signing key of the newest
// key list, or a trusted key under the plain rule), parse, key-list
// version, expiry, serial. One sequence for every kind of index, so that
// no kind can miss a step (the customer index once skipped the key list,
// letting a revoked key sign it). parse parses data and returns
// ErrMismatch (wrapped) when it belongs to another channel; kind names
// the index in the remedy for a malformed one.
func verifySigned(what string, data, sig []byte, c IndexCheck, kind string, parse func() (signedHead, error)) error {
	if c.MaxSize > 0 && int64(len(data)) > c.MaxSize {
		return &TrustError{What: what, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), c.MaxSize),
			Hint: indexSizeHint(c.MaxSize, c.ConfigPath)}
	}
	if err := verifyIndexSignature(what, data, sig, c); err != nil {
		return err
	}
	h, err := parse()
	switch {
	case errors.Is(err, ErrMismatch):
		return &TrustError{What: what, Err: err, Hint: "the repository serves the wrong file at this path; tell the vendor"}
	case errors.Is(err, repo.ErrCriticalField):
		return &TrustError{What: what, Err: err, Hint: "upgrade hotfix on this server: the vendor's index uses a feature this version must understand and does not"}
	case err != nil:
		return &TrustError{What: what, Err: err, Hint: "the vendor signed a malformed " + kind + "; ask them to rebuild it"}
	}
	if err := checkIndexKeyList(what, h.keyList, c.Keys); err != nil {
		return err
	}
	if c.Now.After(h.expires) && !c.AllowExpired {
		return &TrustError{What: what, Err: &subjectError{msg: fmt.Sprintf("%s expired on %s", what, h.expires.UTC().Format("2006-01-02 15:04 UTC")), err: ErrExpired},
			Hint: `the vendor must re-run "hotfix repo build" (or a mirror is serving stale files)`}
	}
	if h.serial < c.LastSerial {
		return &TrustError{What: what, Err: fmt.Errorf("%w: serial %d is lower than serial %d seen before", ErrReplayed, h.serial, c.LastSerial),
			Hint: "an old signed index is being replayed, or a mirror is out of date; refusing it"}
	}
	return nil
}

// Pending lists the fixes of ix that come after latest, in chain order.
func Pending(ix *repo.Index, latest repo.Version) []repo.IndexFix {
	var out []repo.IndexFix
	for _, f := range ix.Fixes {
		if f.Version.Compare(latest) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// VerifyRootIndex is VerifyIndex for repo.json: signature (under the key
// list, as an index), parse, key-list version and expiry (unless
// AllowExpired). It is pure; a mirror keeps repo.json only through it.
func VerifyRootIndex(data, sig []byte, c IndexCheck) (*repo.RootIndex, error) {
	var ri *repo.RootIndex
	err := verifySigned(repo.RootIndexName, data, sig, c, repo.RootIndexName, func() (signedHead, error) {
		var err error
		if ri, err = repo.ParseRootIndex(data); err != nil {
			return signedHead{}, err
		}
		return signedHead{keyList: ri.KeyList, expires: ri.Expires}, nil
	})
	if err != nil {
		return nil, err
	}
	return ri, nil
}

// VerifySignature checks a detached signature of a file the vendor signs
// with the key that signs indexes (repomd.xml): by a signing key of the
// newest key list, or a trusted key under the plain rule. what names the
// file in the refusal.
func VerifySignature(what string, data, sig []byte, c IndexCheck) error {
	return verifyIndexSignature(what, data, sig, c)
}
