package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/bundle"
)

// maxSigSize bounds a detached signature.
const maxSigSize = 64 << 10

// maxKeyLists bounds the walk over keys/N.root.json (as TUF clients do).
const maxKeyLists = 256

// remote is a repository read through the client's Fetcher (http, https
// or file).
type remote struct {
	m   *mirror
	f   *client.Fetcher
	dir string // the local directory for a file:// source, else ""
}

// planRemote reads and verifies what the mirror will keep of a served or
// local repository, fetching new archives into the staging directory.
func (m *mirror) planRemote(ctx context.Context, source string) (*plan, error) {
	cfg := &client.Config{Repo: strings.TrimSuffix(source, "/"), Network: m.opts.Network}
	f, err := client.NewFetcher(cfg, m.opts.Log)
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	r := &remote{m: m, f: f}
	if rest, ok := strings.CutPrefix(cfg.Repo, "file://"); ok {
		r.dir = filepath.FromSlash(rest)
	}
	m.keyRead = r.keyList
	p := &plan{}
	ri, err := r.rootIndex(ctx, p)
	if err != nil {
		return nil, err
	}
	// Every index is verified before any archive is fetched: a source
	// that rolls one channel back is refused before it costs a download.
	for _, prod := range ri.Products {
		for _, ch := range prod.Channels {
			if !m.wanted(prod.Name, ch.Base) {
				continue
			}
			cp, err := r.channel(ctx, prod.Name, ch.Base)
			if err != nil {
				return nil, err
			}
			p.channels = append(p.channels, cp)
		}
	}
	if len(p.channels) == 0 {
		e := &ChannelChoiceError{Source: m.opts.Source, Chosen: m.choice()}
		for _, prod := range ri.Products {
			for _, ch := range prod.Channels {
				e.Have = append(e.Have, ChannelID{prod.Name, ch.Base})
			}
		}
		return nil, fmt.Errorf("mirror: %w", e)
	}
	found := map[string]bool{}
	for _, cp := range p.channels {
		if err := r.fetch(ctx, cp, archivesOf(cp.ix)); err != nil {
			return nil, err
		}
		if err := r.repodata(ctx, cp); err != nil {
			return nil, err
		}
		if err := r.customers(ctx, cp, found); err != nil {
			return nil, err
		}
	}
	for _, name := range m.opts.Customers {
		if !found[name] {
			return nil, fmt.Errorf("mirror: %s has no channel of customer %s among %s", source, name, m.choice())
		}
	}
	if p.keys, err = r.keys(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (m *mirror) choice() string {
	switch {
	case m.opts.Product != "" && m.opts.Base != nil:
		return m.opts.Product + " " + m.opts.Base.String()
	case m.opts.Product != "":
		return "product " + m.opts.Product
	case m.opts.Base != nil:
		return "base " + m.opts.Base.String()
	}
	return "any product"
}

// signed fetches a file and its detached signature and verifies them.
func (r *remote) signed(ctx context.Context, rel string, limit int64) (data, sig []byte, err error) {
	if data, _, _, err = r.f.Small(ctx, rel, limit, ""); err != nil {
		return nil, nil, fmt.Errorf("mirror: fetch %s: %w", rel, err)
	}
	if sig, _, _, err = r.f.Small(ctx, rel+repo.SigSuffix, maxSigSize, ""); err != nil {
		return nil, nil, fmt.Errorf("mirror: fetch %s: %w", rel+repo.SigSuffix, err)
	}
	return data, sig, nil
}

// rootIndex fetches and verifies repo.json, refusing one older than the
// mirror's.
func (r *remote) rootIndex(ctx context.Context, p *plan) (*repo.RootIndex, error) {
	data, sig, err := r.signed(ctx, repo.RootIndexName, r.m.maxIndex())
	if err != nil {
		return nil, err
	}
	ri, err := r.m.verifyRoot(ctx, data, sig)
	if err != nil {
		return nil, err
	}
	p.root, p.rootSig = data, sig
	return ri, nil
}

// verifyRoot applies the client's rules to repo.json (signature under
// the key list, key-list version, expiry) and refuses one generated
// before the mirror's.
func (m *mirror) verifyRoot(ctx context.Context, data, sig []byte) (*repo.RootIndex, error) {
	check, err := m.check(ctx, data)
	if err != nil {
		return nil, err
	}
	ri, err := client.VerifyRootIndex(data, sig, check)
	var te *client.TrustError
	if errors.As(err, &te) && errors.Is(err, client.ErrExpired) {
		te.Hint = "the source is stale: the vendor must rebuild it, or the mirror is pointed at an old copy"
	}
	if err != nil {
		return nil, err
	}
	if old, err := m.readLocal(repo.RootIndexName, m.maxIndex()); err == nil {
		if prev, perr := repo.ParseRootIndex(old); perr == nil && ri.Generated.Before(prev.Generated) {
			return nil, fmt.Errorf("%w: %s generated %s, the mirror's %s", ErrRollback, repo.RootIndexName,
				ri.Generated.UTC().Format(time.RFC3339), prev.Generated.UTC().Format(time.RFC3339))
		}
	}
	return ri, nil
}

// keyList is the source's key list version v, for the walk.
func (r *remote) keyList(ctx context.Context, v int64) (data, sig []byte, ok bool, err error) {
	rel := repo.KeyListPath(v)
	data, _, _, err = r.f.Small(ctx, rel, repo.MaxKeyListSize, "")
	if missing(err) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("mirror: fetch %s: %w", rel, err)
	}
	if sig, _, _, err = r.f.Small(ctx, rel+repo.SigSuffix, repo.MaxKeyListSignature, ""); err != nil {
		return nil, nil, false, fmt.Errorf("mirror: fetch %s: %w", rel+repo.SigSuffix, err)
	}
	return data, sig, true, nil
}

// channel fetches and verifies one channel's index.
func (r *remote) channel(ctx context.Context, product string, base repo.Version) (*channelPlan, error) {
	cp := &channelPlan{product: product, base: base}
	data, sig, err := r.signed(ctx, cp.rel()+"/"+repo.IndexName, r.m.maxIndex())
	if err != nil {
		return nil, err
	}
	ix, err := r.m.verifyIndex(ctx, product, base, data, sig)
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	cp.index, cp.sig, cp.ix = data, sig, ix
	return cp, nil
}

// fetch downloads every file of files (archives the index names, data
// files repomd.xml names) that the mirror does not hold byte for byte,
// into the staging directory, verified.
func (r *remote) fetch(ctx context.Context, cp *channelPlan, files []fileRef) error {
	for _, f := range files {
		keep, err := r.m.have(cp, f)
		if err != nil {
			return err
		}
		if keep {
			continue
		}
		rel := cp.rel() + "/" + f.name
		dest, done, err := r.m.prepareDownload(rel)
		if err != nil {
			return err
		}
		err = r.f.Download(ctx, rel, dest, f.size, f.sha256, nil)
		done()
		if err != nil {
			return fmt.Errorf("mirror: %s: %w", rel, err)
		}
		cp.staged = append(cp.staged, f.name)
	}
	return nil
}

// keys fetches the keys/ files to keep: from a directory, every plain
// file; over HTTP, where nothing lists the folder, the key lists
// N.root.json(.asc) from 1 until one is missing, then FINGERPRINT.asc of
// each key in --keyring and of each root and signing key those lists
// name.
func (r *remote) keys(ctx context.Context) ([]keyFile, error) {
	var names []string
	if r.dir != "" {
		ents, err := os.ReadDir(filepath.Join(r.dir, "keys"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range ents {
			if e.Type().IsRegular() && repo.IsPlainFileName(e.Name()) {
				names = append(names, e.Name())
			}
		}
	} else {
		for n := 1; n <= maxKeyLists; n++ {
			name := strconv.Itoa(n) + ".root.json"
			names = append(names, name, name+repo.SigSuffix)
		}
		names = append(names, fingerprintFiles(r.m.opts.Keyring.Fingerprints())...)
	}
	var out []keyFile
	listsEnded := false
	queued := map[string]bool{}
	for _, n := range names {
		queued[n] = true
	}
	for i := 0; i < len(names); i++ {
		name := names[i]
		isList := keyListName.MatchString(name)
		if isList && listsEnded {
			continue
		}
		data, _, _, err := r.f.Small(ctx, "keys/"+name, bundle.MaxKeySize, "")
		if missing(err) {
			// Over HTTP the key lists end at the first missing version.
			listsEnded = listsEnded || (r.dir == "" && strings.HasSuffix(name, ".root.json"))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("mirror: fetch keys/%s: %w", name, err)
		}
		ok, err := keyFileOK(name, data)
		if err != nil {
			return nil, fmt.Errorf("mirror: keys/%s: %w", name, err)
		}
		if !ok {
			continue
		}
		out = append(out, keyFile{name, data})
		if kl, perr := repo.ParseKeyList(data); r.dir == "" && perr == nil {
			// (the list is verified by checkKeyLists before anything is kept)
			for _, f := range fingerprintFiles(append(kl.RootFingerprints(), kl.SigningFingerprints()...)) {
				if !queued[f] {
					queued[f] = true
					names = append(names, f)
				}
			}
		}
	}
	return out, nil
}

// fingerprintFiles names the public key files of fingerprints.
func fingerprintFiles(fps []string) []string {
	out := make([]string, 0, len(fps))
	for _, fp := range fps {
		out = append(out, fp+".asc")
	}
	return out
}

// missing reports a file the source does not have.
func missing(err error) bool {
	var he *client.HTTPError
	return errors.Is(err, fs.ErrNotExist) || (errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusForbidden))
}
