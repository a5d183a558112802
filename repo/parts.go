package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Part is a named group of a fix's files and scripts, declared in
// fix.toml as [[part]]. Files and scripts in no part, and those of a
// mandatory part, are installed everywhere; an optional part only where
// the server chose it.
type Part struct {
	Name      string   `json:"name"`
	Summary   string   `json:"summary,omitempty"`
	Mandatory bool     `json:"mandatory,omitempty"`
	Files     []string `json:"files,omitempty"`   // sorted paths, each in Manifest.Files
	Scripts   []string `json:"scripts,omitempty"` // sorted names, each in Manifest.Scripts
}

// PartRef is what the channel index says of a part.
type PartRef struct {
	Name      string `json:"name"`
	Summary   string `json:"summary,omitempty"`
	Mandatory bool   `json:"mandatory,omitempty"`
}

// maxParts bounds the parts of one fix.
const maxParts = 1000

// ValidPartName checks a part name: what servers write in parts = [...]
// and --with, so kept plain: lowercase letters, digits, '.', '-', '_',
// starting with a letter or digit, at most 64 characters.
func ValidPartName(s string) error { return plainName("part", s) }

// validateParts checks the parts of a manifest: names valid and unique,
// every file and script one the fix ships, none in two parts.
func (m *Manifest) validateParts() error {
	if len(m.Parts) > maxParts {
		return fmt.Errorf("manifest: more than %d parts", maxParts)
	}
	files := map[string]bool{}
	for _, f := range m.Files {
		files[f.Path] = true
	}
	scripts := map[string]bool{}
	for _, s := range m.Scripts {
		scripts[s.Path] = true
	}
	names := map[string]bool{}
	fileIn, scriptIn := map[string]string{}, map[string]string{}
	for _, p := range m.Parts {
		if err := ValidPartName(p.Name); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		if names[p.Name] {
			return fmt.Errorf("manifest: part %q listed twice", p.Name)
		}
		names[p.Name] = true
		check := func(kind string, list []string, known map[string]bool, in map[string]string) error {
			if !sort.StringsAreSorted(list) {
				return fmt.Errorf("manifest: part %q: %s are not sorted", p.Name, kind)
			}
			for _, x := range list {
				if !known[x] {
					return fmt.Errorf("manifest: part %q names %s %q, which the fix does not ship", p.Name, kind, x)
				}
				if other, dup := in[x]; dup {
					return fmt.Errorf("manifest: %s %q is in part %q and in part %q", kind, x, other, p.Name)
				}
				in[x] = p.Name
			}
			return nil
		}
		if err := check("files", p.Files, files, fileIn); err != nil {
			return err
		}
		if err := check("scripts", p.Scripts, scripts, scriptIn); err != nil {
			return err
		}
	}
	return nil
}

// PartOf names the part a file of the fix belongs to ("" for none).
func (m *Manifest) PartOf(path string) string {
	for _, p := range m.Parts {
		if i := sort.SearchStrings(p.Files, path); i < len(p.Files) && p.Files[i] == path {
			return p.Name
		}
	}
	return ""
}

// Part is the part of the fix named name, if it has one.
func (m *Manifest) Part(name string) (Part, bool) {
	for _, p := range m.Parts {
		if p.Name == name {
			return p, true
		}
	}
	return Part{}, false
}

// Without is a copy of m less the files and scripts of the parts named
// in skip (parts it does not have are ignored). The skipped parts stay
// listed, empty, so that the copy is a valid manifest of what is
// installed.
func (m *Manifest) Without(skip []string) *Manifest {
	out := *m
	if len(skip) == 0 {
		return &out
	}
	drop := map[string]bool{}
	dropScript := map[string]bool{}
	out.Parts = append([]Part(nil), m.Parts...)
	for i, p := range out.Parts {
		if !slices.Contains(skip, p.Name) {
			continue
		}
		for _, f := range p.Files {
			drop[f] = true
		}
		for _, s := range p.Scripts {
			dropScript[s] = true
		}
		out.Parts[i].Files, out.Parts[i].Scripts = nil, nil
	}
	out.Files, out.Scripts = nil, nil
	for _, f := range m.Files {
		if !drop[f.Path] {
			out.Files = append(out.Files, f)
		}
	}
	for _, s := range m.Scripts {
		if !dropScript[s.Path] {
			out.Scripts = append(out.Scripts, s)
		}
	}
	return &out
}

// PartRefs is what the index says of m's parts (nil when it has none).
func (m *Manifest) PartRefs() []PartRef {
	var out []PartRef
	for _, p := range m.Parts {
		out = append(out, PartRef{Name: p.Name, Summary: p.Summary, Mandatory: p.Mandatory})
	}
	return out
}

// partTOML is one [[part]] of fix.toml.
type partTOML struct {
	Name      string   `toml:"name"`
	Summary   string   `toml:"summary"`
	Mandatory bool     `toml:"mandatory"`
	Files     []string `toml:"files"`
	Scripts   []string `toml:"scripts"`
}

// parseParts checks the [[part]] tables of fix.toml on their own (names,
// paths); resolveParts checks them against files/ and scripts/. Files
// holds the paths as written (a directory stands for what is under it)
// until then.
func parseParts(in []partTOML, add func(idx int, key, format string, args ...any)) []Part {
	var out []Part
	seen := map[string]int{}
	for i, pt := range in {
		p := Part{Name: pt.Name, Summary: strings.TrimSpace(pt.Summary), Mandatory: pt.Mandatory}
		if err := ValidPartName(pt.Name); err != nil {
			add(i, "name", "part %d: %v", i+1, err)
		} else if first, dup := seen[pt.Name]; dup {
			add(i, "name", "part %q is declared twice (first as part %d)", pt.Name, first+1)
		} else {
			seen[pt.Name] = i
		}
		for _, f := range pt.Files {
			c, err := CleanRelPath(strings.TrimSuffix(f, "/"))
			if err != nil {
				add(i, "files", "part %q: files: %v", pt.Name, err)
				continue
			}
			p.Files = append(p.Files, c)
		}
		for _, s := range pt.Scripts {
			if c, err := CleanRelPath(s); err != nil || strings.Contains(c, "/") {
				add(i, "scripts", "part %q: scripts: %q must be the name of a file in scripts/", pt.Name, s)
				continue
			}
			p.Scripts = append(p.Scripts, s)
		}
		if len(p.Files) == 0 && len(p.Scripts) == 0 && len(pt.Files) == 0 && len(pt.Scripts) == 0 {
			add(i, "", "part %q names no files and no scripts", pt.Name)
		}
		out = append(out, p)
	}
	return out
}

// resolveParts turns each part's paths into the files they name (a
// directory names every file under it) and checks what pack refuses: a
// path that names no file of the fix, a file or script in two parts, a
// script that is not in scripts/, and a script of an optional part that a
// script installed everywhere names (it would be missing where the part
// is not chosen). scriptDir is the fix's scripts/ directory.
func resolveParts(parts []Part, files, scripts []FileEntry, scriptDir string, problem func(idx int, key, format string, args ...any)) {
	shipped := make([]string, 0, len(files))
	for _, f := range files {
		shipped = append(shipped, f.Path)
	}
	hasScript := map[string]bool{}
	for _, s := range scripts {
		hasScript[s.Path] = true
	}
	fileIn, scriptIn := map[string]string{}, map[string]string{}
	for i := range parts {
		p := &parts[i]
		var resolved []string
		for _, pat := range p.Files {
			named := filesUnder(shipped, pat)
			if len(named) == 0 {
				problem(i, "files", "part %q names %q, which is not a file or directory under files/ of this fix", p.Name, pat)
			}
			for _, f := range named {
				if other, dup := fileIn[f]; dup && other != p.Name {
					problem(i, "files", "%q is in part %q and in part %q: a file belongs to one part", f, other, p.Name)
				} else if !dup {
					resolved = append(resolved, f)
				}
				fileIn[f] = p.Name
			}
		}
		sort.Strings(resolved)
		p.Files = resolved
		for _, s := range p.Scripts {
			if !hasScript[s] {
				problem(i, "scripts", "part %q names script %q, which is not in scripts/ of this fix", p.Name, s)
			}
			if other, dup := scriptIn[s]; dup {
				problem(i, "scripts", "script %q is in part %q and in part %q: a script belongs to one part", s, other, p.Name)
			}
			scriptIn[s] = p.Name
		}
		sort.Strings(p.Scripts)
	}
	checkScriptDeps(parts, scripts, scriptIn, scriptDir, problem)
}

// checkScriptDeps refuses a script of an optional part that a script
// installed everywhere (in no part or in a mandatory one) names: by its
// file name in the script's text.
func checkScriptDeps(parts []Part, scripts []FileEntry, scriptIn map[string]string, scriptDir string, problem func(idx int, key, format string, args ...any)) {
	optional := map[string]int{} // script → index of its optional part
	for i, p := range parts {
		if !p.Mandatory {
			for _, s := range p.Scripts {
				optional[s] = i
			}
		}
	}
	if len(optional) == 0 {
		return
	}
	deps := make([]string, 0, len(optional))
	for s := range optional {
		deps = append(deps, s)
	}
	sort.Strings(deps)
	mandatoryPart := map[string]bool{}
	for _, p := range parts {
		mandatoryPart[p.Name] = p.Mandatory
	}
	for _, s := range scripts {
		if part, in := scriptIn[s.Path]; in && !mandatoryPart[part] {
			continue
		}
		body, err := os.ReadFile(filepath.Join(scriptDir, s.Path))
		if err != nil {
			continue // walkPayload and checkScript report unreadable scripts
		}
		for _, dep := range deps {
			if i := optional[dep]; strings.Contains(string(body), dep) {
				problem(i, "scripts", "script %q of the optional part %q is named by %q, which runs everywhere: where the part is not chosen it would be missing; make the part mandatory or move %q into it",
					dep, parts[i].Name, s.Path, s.Path)
			}
		}
	}
}

// filesUnder lists the paths of sorted that are pat or lie under the
// directory pat.
func filesUnder(sorted []string, pat string) []string {
	var out []string
	i := sort.SearchStrings(sorted, pat)
	if i < len(sorted) && sorted[i] == pat {
		return []string{pat}
	}
	prefix := pat + "/"
	for j := sort.SearchStrings(sorted, prefix); j < len(sorted) && strings.HasPrefix(sorted[j], prefix); j++ {
		out = append(out, sorted[j])
	}
	return out
}
