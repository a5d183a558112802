package mirror

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/bundle"
)

// planBundle reads an export bundle to its end, verifying it with the
// client's rules as a repository is verified (its keys/ first: the key
// lists an index is signed under; repo.json, the index, repomd.xml and
// the customer indexes; every archive and data file against what names
// it), into the staging directory. A bundle that starts after the first
// fix is taken only when the mirror holds the earlier archives: a
// mirror's index never names an archive it lacks.
func (m *mirror) planBundle(ctx context.Context, path string) (*plan, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("mirror: %s is neither a directory, a URL nor a regular file", path)
	}
	p := &plan{}
	cp := &channelPlan{}
	refs := map[string]fileRef{}
	handled := map[string]bool{} // carried by the bundle: staged or already held
	lists := client.KeyListFiles{}
	m.keyRead = lists.Read
	contents, err := bundle.Read(ctx, fh, bundle.Handler{
		MaxIndexSize: m.maxIndex(),
		Key: func(name string, data []byte) error {
			ok, err := keyFileOK(name, data)
			if ok {
				p.keys = append(p.keys, keyFile{name, data})
			}
			if err != nil {
				return err
			}
			return lists.Add(name, data)
		},
		Root: func(data, sig []byte) error {
			if _, err := m.verifyRoot(ctx, data, sig); err != nil {
				return err
			}
			p.root, p.rootSig = data, sig
			return nil
		},
		Index: func(h *bundle.Header, data, sig []byte) (*repo.Index, error) {
			if !m.wanted(h.Product, h.Base) {
				return nil, &ChannelChoiceError{Source: path, Bundle: true, Chosen: m.choice(), Have: []ChannelID{{h.Product, h.Base}}}
			}
			cp.product, cp.base = h.Product, h.Base
			if err := h.CheckKeyListOrder(client.ClaimedKeyList(data)); err != nil {
				return nil, err
			}
			ix, err := m.verifyIndex(ctx, h.Product, h.Base, data, sig)
			if err == nil {
				for _, f := range archivesOf(ix) {
					refs[f.name] = f
				}
			}
			return ix, err
		},
		Repodata: func(md, sig []byte) ([]bundle.FileRef, error) {
			files, err := m.verifyRepoMD(cp, md, sig)
			if err != nil {
				return nil, err
			}
			cp.repomd, cp.repomdSig = md, sig
			return bundleRefs(files, refs), nil
		},
		Custom: func(customer string, data, sig []byte) (*repo.CustomIndex, error) {
			ix, err := m.verifyCustom(ctx, cp, customer, data, sig)
			if err != nil {
				return nil, err
			}
			bundleRefs(customArchives(ix), refs)
			cp.customs = append(cp.customs, customPlan{customer: customer, index: data, sig: sig})
			return ix, nil
		},
		Archive: func(name string) (bundle.Sink, error) {
			handled[name] = true
			if keep, err := m.have(cp, refs[name]); err != nil || keep {
				return nil, err
			}
			cp.staged = append(cp.staged, name)
			return m.createStaged(cp.rel() + "/" + name)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mirror %s: %w", path, err)
	}
	cp.index, cp.sig, cp.ix = contents.IndexRaw, contents.SigRaw, contents.Index
	if err := m.haveEarlier(cp, handled, path, contents.Header.FromVersion()); err != nil {
		return nil, err
	}
	p.channels = []*channelPlan{cp}
	return p, nil
}

// ChannelChoiceError is the refusal of a source that holds none of the
// channels the options choose: a bundle of another channel (a bundle
// holds one), a repository that lists none of them. Have lists the
// channels the source holds, for the command to name the options that
// take them.
type ChannelChoiceError struct {
	Source string
	Bundle bool
	Chosen string // what the options chose: "acme 2.5.0", "product acme", "base 2.5.0"
	Have   []ChannelID
}

// ChannelID names a channel.
type ChannelID struct {
	Product string
	Base    repo.Version
}

func (c ChannelID) String() string { return c.Product + " " + c.Base.String() }

func (e *ChannelChoiceError) Error() string {
	if e.Bundle && len(e.Have) == 1 {
		return fmt.Sprintf("the bundle holds the channel %s, not %s: nothing was mirrored", e.Have[0], e.Chosen)
	}
	have := make([]string, len(e.Have))
	for i, c := range e.Have {
		have[i] = c.String()
	}
	if len(have) == 0 {
		have = []string{"none"}
	}
	return fmt.Sprintf("%s lists no channel of %s (it lists %s): nothing was mirrored", e.Source, e.Chosen, strings.Join(have, ", "))
}

// bundleRefs notes files in refs (by name relative to the channel) and
// returns them as the bundle reader takes them.
func bundleRefs(files []fileRef, refs map[string]fileRef) []bundle.FileRef {
	out := make([]bundle.FileRef, 0, len(files))
	for _, f := range files {
		refs[f.name] = f
		out = append(out, bundle.FileRef{Name: f.name, Size: f.size, SHA256: f.sha256})
	}
	return out
}

// customArchives lists a customer index's archives, relative to the
// channel.
func customArchives(ix *repo.CustomIndex) []fileRef {
	out := make([]fileRef, 0, len(ix.Fixes))
	for _, f := range ix.Fixes {
		out = append(out, fileRef{name: repo.CustomDir + "/" + ix.Customer + "/" + f.File, size: f.Size, sha256: f.SHA256})
	}
	return out
}

// haveEarlier refuses a bundle that starts after a fix the mirror lacks:
// a mirror's index never names an archive it does not hold. The advice
// names the fix (what export --from takes), not its file.
func (m *mirror) haveEarlier(cp *channelPlan, handled map[string]bool, path string, from repo.Version) error {
	for _, fx := range cp.ix.Fixes {
		for _, f := range archivesOf(&repo.Index{Fixes: []repo.IndexFix{fx}}) {
			if handled[f.name] {
				continue
			}
			keep, err := m.have(cp, f)
			if err != nil {
				return err
			}
			if !keep {
				return fmt.Errorf("mirror %s: the bundle carries the fixes from %s on, and the mirror lacks %s of %s: mirror a bundle exported with --from %s (or without --from) first",
					path, from, f.name, cp.rel(), fx.Version)
			}
		}
	}
	return nil
}
