package client

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
)

// ErrUnknownPart means a part was asked for by name (to install or to
// leave out) that no fix of the run has.
var ErrUnknownPart = errors.New("unknown part")

// choosePart decides whether this server installs the optional part
// name of a fix: what the command asked (opts.Without, then opts.With)
// wins; else the choice recorded with the newest installed fix that had
// the part, so that a later fix's files of a part go exactly where the
// part is installed; else whether the configuration's parts lists it.
func (c *Client) choosePart(st *State, name string, opts *InstallOptions) bool {
	switch {
	case slices.Contains(opts.Without, name):
		return false
	case slices.Contains(opts.With, name):
		return true
	}
	for i := len(st.Installed) - 1; i >= 0; i-- {
		f := &st.Installed[i]
		if slices.Contains(f.Parts, name) {
			return true
		}
		if slices.Contains(f.SkippedParts, name) {
			return false
		}
	}
	return slices.Contains(c.Cfg.Parts, name)
}

// chooseParts splits the parts of m into those this server installs
// (mandatory ones and chosen optional ones) and the optional ones it
// leaves out, each in manifest order.
func (c *Client) chooseParts(st *State, m *repo.Manifest, opts *InstallOptions) (installed, skipped []string) {
	for _, p := range m.Parts {
		if p.Mandatory || c.choosePart(st, p.Name, opts) {
			installed = append(installed, p.Name)
		} else {
			skipped = append(skipped, p.Name)
		}
	}
	return installed, skipped
}

// checkPartNames refuses, before anything runs, a part named to install
// or to leave out that no fix of todo declares (from the index), and one
// named both ways.
func checkPartNames(todo []repo.IndexFix, opts *InstallOptions) error {
	if len(opts.With) == 0 && len(opts.Without) == 0 {
		return nil
	}
	known := map[string]bool{}
	for _, f := range todo {
		for _, p := range f.Parts {
			known[p.Name] = true
		}
	}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	have := "none of them has parts"
	if len(names) > 0 {
		have = "their parts: " + strings.Join(names, ", ")
	}
	for _, n := range opts.With {
		if slices.Contains(opts.Without, n) {
			return fmt.Errorf("part %q is both to install and to leave out: name it once", n)
		}
	}
	for _, n := range append(append([]string(nil), opts.With...), opts.Without...) {
		if !known[n] {
			return fmt.Errorf("%w %q: no fix to install (%s) has it; %s", ErrUnknownPart, n, joinVersions(versionsOf(todo)), have)
		}
	}
	return nil
}

// partOf names the part of each file of m ("" for none); nil when m is
// nil.
func partOf(m *repo.Manifest) func(rel string) string {
	if m == nil {
		return nil
	}
	return m.PartOf
}
