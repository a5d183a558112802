package repo

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// KeySigners reports which of keys (fingerprint to armored public key)
// made a good signature of data among the signatures in sig, as
// fingerprints. It must count a key only when its key material has the
// listed fingerprint, and each key once. The caller gives it (sign's
// SignedBy at a time of its choosing), so that this package decides trust
// without depending on a cryptographic library.
type KeySigners func(data, sig []byte, keys map[string][]byte) ([]string, error)

// KeyWalk walks the key list forward one version at a time, the way
// TUF's trusted metadata updates its root: each version must be exactly
// the next, signed by a threshold of the previous version's root keys
// and by a threshold of its own. Its decisions are pure: bytes in,
// verdicts out; the caller fetches.
type KeyWalk struct {
	Signers KeySigners
	// Anchor reports whether a root key is trusted out of band (the
	// client's trusted_keys, the vendor's --keyring). It is consulted
	// only while no version is trusted yet: the first version whose own
	// threshold is met by anchored root keys becomes trusted, and every
	// later one by the chain. Nil anchors version 1 by its own
	// signatures (a vendor checking its repository's consistency).
	Anchor func(fingerprint string) bool
	// Trusted is the newest version trusted so far: set it to the
	// version seen on an earlier run to continue from there.
	Trusted *KeyList

	last  *KeyList // the newest version read, trusted or not yet
	steps int
}

// Next is the version Step expects.
func (w *KeyWalk) Next() int64 {
	if p := w.prev(); p != nil {
		return p.Version + 1
	}
	return 1
}

// Steps is how many versions Step accepted.
func (w *KeyWalk) Steps() int { return w.steps }

func (w *KeyWalk) prev() *KeyList {
	if w.last != nil {
		return w.last
	}
	return w.Trusted
}

// Step decides whether data and its detached signature sig, read from
// KeyListPath(w.Next()), is the next version, and takes it if so.
func (w *KeyWalk) Step(data, sig []byte) error {
	want := w.Next()
	where := KeyListPath(want)
	kl, err := ParseKeyList(data)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if kl.Version != want {
		return fmt.Errorf("%s: %w: it holds version %d where version %d belongs (a replayed or misplaced list)", where, ErrKeyListVersion, kl.Version, want)
	}
	if p := w.prev(); p != nil {
		if err := w.threshold(data, sig, kl.Version, p, fmt.Sprintf("the root keys of version %d", p.Version)); err != nil {
			return err
		}
	}
	if err := w.threshold(data, sig, kl.Version, kl, "its own root keys"); err != nil {
		return err
	}
	switch {
	case w.Trusted != nil:
		w.Trusted = kl
	case w.Anchor == nil && kl.Version == 1:
		w.Trusted = kl
	case w.Anchor != nil:
		// Signatures by anchored root keys: the ones that verified
		// above, counted again among the trusted.
		good, err := w.Signers(data, sig, KeyMap(kl.Root.Keys))
		if err == nil && countAnchored(good, w.Anchor) >= kl.Root.Threshold {
			w.Trusted = kl
		}
	}
	w.last = kl
	w.steps++
	return nil
}

func countAnchored(fps []string, anchor func(string) bool) int {
	n := 0
	for _, fp := range slices.Compact(slices.Sorted(slices.Values(fps))) {
		if anchor(fp) {
			n++
		}
	}
	return n
}

// threshold checks that a threshold of by's root keys signed version v.
func (w *KeyWalk) threshold(data, sig []byte, v int64, by *KeyList, whose string) error {
	good, err := w.Signers(data, sig, KeyMap(by.Root.Keys))
	if err != nil {
		return fmt.Errorf("%s: %w: %w", KeyListPath(v), ErrKeyListSignature, err)
	}
	listed := by.RootFingerprints()
	var counted []string
	for _, fp := range good {
		if slices.Contains(listed, fp) && !slices.Contains(counted, fp) {
			counted = append(counted, fp)
		}
	}
	if len(counted) >= by.Root.Threshold {
		return nil
	}
	got := "none of them"
	if len(counted) > 0 {
		slices.Sort(counted)
		got = "only " + strings.Join(counted, ", ")
	}
	return fmt.Errorf("%s: %w: version %d needs good signatures by %d of %s (%s); it has %s",
		KeyListPath(v), ErrKeyListSignature, v, by.Root.Threshold, whose, strings.Join(listed, ", "), got)
}

// Done ends a walk and returns the newest trusted version: refused when
// no version read is trusted, or when the newest trusted one expired at
// now (only the newest counts: older versions may have expired on the
// way).
func (w *KeyWalk) Done(now time.Time) (*KeyList, error) {
	if w.Trusted == nil {
		if w.last == nil {
			return nil, fmt.Errorf("%w: no key list read", ErrKeyListUntrusted)
		}
		return nil, fmt.Errorf("%w: none of key list versions 1 to %d is signed by %d of its root keys among the trusted ones; the newest names root keys %s",
			ErrKeyListUntrusted, w.last.Version, w.last.Root.Threshold, strings.Join(w.last.RootFingerprints(), ", "))
	}
	if err := w.Trusted.CheckExpiry(now); err != nil {
		return nil, err
	}
	return w.Trusted, nil
}

// KeyMap maps listed keys' fingerprints to their armored public keys.
func KeyMap(keys []ListedKey) map[string][]byte {
	m := make(map[string][]byte, len(keys))
	for _, k := range keys {
		m[k.Fingerprint] = []byte(k.PublicKey)
	}
	return m
}
