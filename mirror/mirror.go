package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// stagingName is the dot-directory of DIR where a run keeps what it has
// fetched and verified but not yet put in place.
const stagingName = ".mirror"

// lockName is DIR's lock: one mirror run into a directory at a time.
const lockName = ".mirror.lock"

// ErrRollback is the refusal of a source whose index or repo.json is
// older than what the mirror already holds.
var ErrRollback = errors.New("the source is older than the mirror")

// Options say what to mirror where.
type Options struct {
	Source  string // http(s) URL of a repository, a repository directory, or an export bundle file
	Dir     string // the mirror
	Keyring *sign.Keyring
	// KeyringPath is where Keyring was read, named in remedies.
	KeyringPath string
	Product     string        // only this product's channels ("" all)
	Base        *repo.Version // only this base's channels (nil all)
	// Customers names the customer channels to mirror from an http(s)
	// source, where nothing lists them; a directory source gives all.
	Customers []string
	Network   client.Network
	Now       func() time.Time // nil means time.Now
	Log       *slog.Logger
}

// ChannelResult is one mirrored channel.
type ChannelResult struct {
	Product string
	Base    repo.Version
	Serial  int64
	Fixes   int
}

// Result says what a run did.
type Result struct {
	Channels []ChannelResult
	Fetched  int // archives and repodata files fetched and put in place
	Kept     int // archives the mirror already held, byte for byte
	Updated  int // metadata files (indexes, signatures, keys, repo.json) written because they changed
	Removed  int // repodata files the new repomd.xml no longer names, removed
}

// Mirror runs one mirror of opts.Source into opts.Dir.
func Mirror(ctx context.Context, opts Options) (*Result, error) {
	if opts.Keyring == nil {
		return nil, errors.New("mirror: a keyring is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	m := &mirror{opts: opts, staging: filepath.Join(opts.Dir, stagingName), res: &Result{}}
	if err := m.openDir(); err != nil {
		return nil, err
	}
	defer m.root.Close()
	lk, err := lockfile.TryAcquire(filepath.Join(opts.Dir, lockName), "hotfix mirror")
	if err != nil {
		return nil, fmt.Errorf("mirror into %s: %w", opts.Dir, err)
	}
	defer lk.Release()
	var p *plan
	resumable := true // a bundle is read again whole: nothing of it to resume
	if isURL(opts.Source) {
		p, err = m.planRemote(ctx, opts.Source)
	} else {
		var fi os.FileInfo
		fi, err = os.Stat(opts.Source)
		switch {
		case err != nil:
			err = fmt.Errorf("mirror: source: %w", err)
		case fi.IsDir():
			abs, aerr := filepath.Abs(opts.Source)
			if aerr != nil {
				return nil, aerr
			}
			p, err = m.planRemote(ctx, "file://"+filepath.ToSlash(abs))
		default:
			resumable = false
			p, err = m.planBundle(ctx, opts.Source)
		}
	}
	if err == nil {
		err = m.checkKeyLists(ctx, p)
	}
	if err == nil {
		err = m.place(p)
	}
	if err != nil {
		// A refusal of the source's content discards what this run
		// fetched: the next run starts clean. A cut (network, signal)
		// keeps it, so that the next run resumes.
		var te *client.TrustError
		if !resumable || errors.As(err, &te) || errors.Is(err, ErrRollback) {
			os.RemoveAll(m.staging) // removes a link in its place, never follows one
		}
		return nil, m.linkAdvice(err)
	}
	os.RemoveAll(m.staging)
	return m.res, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// mirror is one run.
type mirror struct {
	opts    Options
	root    *beneath.Root // DIR: every path in it is resolved beneath it (dir.go)
	staging string
	res     *Result
	// keyRead reads the source's key list versions; keys is the newest
	// walked so far (nil: none, the plain rule).
	keyRead client.KeyListReader
	keys    *client.IndexKeys
}

// plan is everything a run keeps, verified.
type plan struct {
	root, rootSig []byte // nil from a bundle
	channels      []*channelPlan
	keys          []keyFile
}

// channelPlan is one channel's verified files.
type channelPlan struct {
	product    string
	base       repo.Version
	index, sig []byte
	ix         *repo.Index
	// staged are files fetched into the staging directory, relative to
	// the channel (archives first, then repodata data files).
	staged            []string
	repomd, repomdSig []byte
	customs           []customPlan
}

func (c *channelPlan) rel() string { return c.product + "/" + c.base.String() }

// keyFile is one keys/ file to keep.
type keyFile struct {
	name string
	data []byte
}

// wanted reports whether the options choose a channel.
func (m *mirror) wanted(product string, base repo.Version) bool {
	return (m.opts.Product == "" || m.opts.Product == product) && (m.opts.Base == nil || m.opts.Base.Equal(base))
}

// local is a path in the mirror, for messages.
func (m *mirror) local(rel string) string { return m.root.Join(rel) }

// lastSerial is the serial of the channel's index the mirror holds (0
// when none). The mirror's own index was verified when it was kept; it is
// only parsed here.
func (m *mirror) lastSerial(product string, base repo.Version) (int64, []byte, error) {
	data, err := m.readLocal(product+"/"+base.String()+"/"+repo.IndexName, m.maxIndex())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		return 0, nil, fmt.Errorf("the mirror's %s/%s/%s: %w: remove it to mirror the channel afresh", product, base, repo.IndexName, err)
	}
	return ix.Serial, data, nil
}

// verifyIndex applies the client's rules to a channel index, and refuses
// an index with the serial the mirror has but other bytes (a serial is
// never reused by "repo build").
func (m *mirror) verifyIndex(ctx context.Context, product string, base repo.Version, data, sig []byte) (*repo.Index, error) {
	last, have, err := m.lastSerial(product, base)
	if err != nil {
		return nil, err
	}
	check, err := m.check(ctx, data)
	if err != nil {
		return nil, err
	}
	check.Product, check.Base, check.LastSerial = product, base, last
	ix, err := client.VerifyIndex(data, sig, check)
	if errors.Is(err, client.ErrReplayed) {
		return nil, fmt.Errorf("%w: %w", ErrRollback, err)
	}
	if err != nil {
		return nil, err
	}
	if ix.Serial == last && have != nil && string(have) != string(data) {
		return nil, fmt.Errorf("%w: index of %s %s: serial %d with other content than the mirror's: refusing a source that reuses a serial", ErrRollback, product, base, last)
	}
	return ix, nil
}

// check is the client's IndexCheck for signed bytes that name a key-list
// version: the source's key list walked that far (as a client walks it),
// or the keyring under the plain rule.
func (m *mirror) check(ctx context.Context, data []byte) (client.IndexCheck, error) {
	keys, err := m.keysFor(ctx, client.ClaimedKeyList(data))
	return client.IndexCheck{Keyring: m.opts.Keyring, Keys: keys, Now: m.opts.Now(), MaxSize: m.maxIndex(), TrustedKeys: m.trustedKeysName()}, err
}

// keysFor walks the source's key list forward from where this run got
// to, up to version want, with the client's rule (client.WalkKeyLists),
// anchored on the keyring.
func (m *mirror) keysFor(ctx context.Context, want int64) (*client.IndexKeys, error) {
	for m.keys == nil || m.keys.List.Version < want {
		if m.keys == nil && want <= 0 {
			return nil, nil
		}
		var seen *repo.KeyList
		if m.keys != nil {
			seen = m.keys.List
		}
		keys, _, err := client.WalkKeyLists(ctx, m.keyRead, want, client.KeyListWalk{Roots: m.opts.Keyring, RootsDir: m.opts.KeyringPath, Seen: seen, Now: m.opts.Now()})
		if err != nil {
			return nil, fmt.Errorf("mirror: %w", err)
		}
		if keys == nil || (seen != nil && keys.List.Version == seen.Version) {
			break // the source has no further version: the index's check says so
		}
		m.keys = keys
	}
	return m.keys, nil
}

func (m *mirror) maxIndex() int64 {
	if m.opts.Network.MaxIndexSize > 0 {
		return m.opts.Network.MaxIndexSize
	}
	return repo.MaxIndexSize
}

// trustedKeysName names the mirror's keyring in the remedy for an index
// signed by a key not in it (IndexCheck.TrustedKeys).
func (m *mirror) trustedKeysName() string {
	if m.opts.KeyringPath == "" {
		return "the mirror's keyring"
	}
	return "the mirror's keyring " + m.opts.KeyringPath
}
