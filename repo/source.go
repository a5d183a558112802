package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/internal/tomlpos"
	"github.com/pelletier/go-toml/v2"
	"golang.org/x/sync/errgroup"
)

// SourceFile is the name of the fix description in a fix source directory.
const SourceFile = "fix.toml"

// maxSourceTOML bounds fix.toml; a description longer than this is a mistake.
const maxSourceTOML = 4 << 20

// SourceError is one problem in a fix source, located by file and line.
type SourceError struct {
	File string // path of the offending file
	Line int    // 1-based; 0 when the problem has no line
	Err  error
}

func (e *SourceError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// sourceTOML is fix.toml as written by the vendor.
type sourceTOML struct {
	Product     string     `toml:"product"`
	Version     string     `toml:"version"`
	Summary     string     `toml:"summary"`
	Description string     `toml:"description"`
	Severity    string     `toml:"severity"`
	Delete      []string   `toml:"delete"`
	Bug         []bugTOML  `toml:"bug"`
	Part        []partTOML `toml:"part"`
	customTOML             // kind = "custom": see custom.go
}

type bugTOML struct {
	ID          string   `toml:"id"`
	Summary     string   `toml:"summary"`
	Description string   `toml:"description"`
	Files       []string `toml:"files"`
}

// Source is a validated fix source directory, ready to pack. Its Manifest
// has every field but the file digests, which packing computes.
type Source struct {
	Dir      string
	Manifest Manifest
}

// ParseSourceTOML decodes and validates fix.toml bytes. name is used in
// error messages. It is pure; LoadSource adds the checks against files/.
func ParseSourceTOML(name string, data []byte) (*Manifest, error) {
	if len(data) > maxSourceTOML {
		return nil, &SourceError{File: name, Err: fmt.Errorf("larger than %d bytes", maxSourceTOML)}
	}
	var st sourceTOML
	dec := toml.NewDecoder(strings.NewReader(string(data))).DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, tomlError(name, err)
	}
	var problems []error
	var lines map[string]int
	add := func(table string, idx int, key string, format string, args ...any) {
		if lines == nil {
			lines = tomlpos.Lines(data)
		}
		problems = append(problems, &SourceError{File: name, Line: tomlpos.Line(lines, table, idx, key), Err: fmt.Errorf(format, args...)})
	}
	m := Manifest{Format: ManifestFormat, Product: st.Product, Summary: strings.TrimSpace(st.Summary), Description: st.Description}
	if err := ValidProductName(st.Product); err != nil {
		add("", 0, "product", "product: %v", err)
	}
	st.parseVersionFields(&m, add)
	if m.Summary == "" {
		add("", 0, "summary", "summary: a one-line summary is required")
	}
	m.Severity = st.Severity
	if err := ValidSeverity(st.Severity); err != nil {
		add("", 0, "severity", "severity: %v", err)
	}
	deleted := map[string]bool{}
	for _, d := range st.Delete {
		p, err := CleanRelPath(d)
		if err != nil {
			add("", 0, "delete", "delete: %v", err)
			continue
		}
		if deleted[p] {
			add("", 0, "delete", "delete: %q listed twice", p)
		}
		deleted[p] = true
		m.Delete = append(m.Delete, p)
	}
	sort.Strings(m.Delete)
	ids := map[string]int{}
	for i, b := range st.Bug {
		if strings.TrimSpace(b.ID) == "" {
			add("bug", i, "", "bug %d: id is required", i+1)
		} else if first, dup := ids[b.ID]; dup {
			add("bug", i, "id", "bug id %q is used twice (first in bug %d)", b.ID, first+1)
		} else {
			ids[b.ID] = i
		}
		if strings.TrimSpace(b.Summary) == "" {
			add("bug", i, "", "bug %q: summary is required", b.ID)
		}
		bug := Bug{ID: b.ID, Summary: strings.TrimSpace(b.Summary), Description: b.Description}
		for _, f := range b.Files {
			p, err := CleanRelPath(f)
			if err != nil {
				add("bug", i, "files", "bug %q: files: %v", b.ID, err)
				continue
			}
			bug.Files = append(bug.Files, p)
		}
		m.Bugs = append(m.Bugs, bug)
	}
	m.Parts = parseParts(st.Part, func(idx int, key, format string, args ...any) { add("part", idx, key, format, args...) })
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return &m, nil
}

// tomlError turns go-toml's decode errors into a SourceError with a line.
func tomlError(name string, err error) error {
	// StrictMissingError unwraps to its DecodeErrors, so it must be tested
	// first or the unknown key's name is lost.
	var se *toml.StrictMissingError
	if errors.As(err, &se) {
		var problems []error
		for _, e := range se.Errors {
			row, _ := e.Position()
			problems = append(problems, &SourceError{File: name, Line: row,
				Err: fmt.Errorf("unknown key %q (known: product, version, summary, description, delete, [[bug]] id/summary/description/files, [[part]] name/summary/mandatory/files/scripts; for a customer fix kind, customer, id, base, min_fix, supersedes)", strings.Join(e.Key(), "."))})
		}
		return errors.Join(problems...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return &SourceError{File: name, Line: row, Err: de}
	}
	return &SourceError{File: name, Err: err}
}

// LoadSource reads and validates a fix source directory: fix.toml, files/
// and scripts/. Every problem found is reported, each with its file (and
// line where there is one), joined into one error.
func LoadSource(dir string) (*Source, error) {
	tomlPath := filepath.Join(dir, SourceFile)
	data, err := os.ReadFile(tomlPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no %s: a fix source needs fix.toml, files/ and optionally scripts/", dir, SourceFile)
		}
		return nil, fmt.Errorf("read fix source: %w", err)
	}
	m, err := ParseSourceTOML(tomlPath, data)
	if err != nil {
		return nil, err
	}
	var problems []error
	files, err := walkPayload(filepath.Join(dir, "files"), true)
	if err != nil {
		problems = append(problems, err)
	}
	scripts, err := walkPayload(filepath.Join(dir, "scripts"), false)
	if err != nil {
		problems = append(problems, err)
	}
	lines := tomlpos.Lines(data)
	shipped := map[string]bool{}
	for _, f := range files {
		shipped[f.Path] = true
	}
	for i, d := range m.Delete {
		if shipped[d] {
			problems = append(problems, &SourceError{File: tomlPath, Line: tomlpos.Line(lines, "", 0, "delete"),
				Err: fmt.Errorf("%q is both deleted and shipped in files/: keep one", m.Delete[i])})
		}
	}
	for i, b := range m.Bugs {
		for _, f := range b.Files {
			if !shipped[f] && !contains(m.Delete, f) {
				problems = append(problems, &SourceError{File: tomlPath, Line: tomlpos.Line(lines, "bug", i, "files"),
					Err: fmt.Errorf("bug %q names %q, which the fix neither ships under files/ nor deletes", b.ID, f)})
			}
		}
	}
	for _, s := range scripts {
		if err := checkScript(filepath.Join(dir, "scripts", s.Path), s.Mode); err != nil {
			problems = append(problems, err)
		}
	}
	resolveParts(m.Parts, files, scripts, filepath.Join(dir, "scripts"), func(idx int, key, format string, args ...any) {
		problems = append(problems, &SourceError{File: tomlPath, Line: tomlpos.Line(lines, "part", idx, key), Err: fmt.Errorf(format, args...)})
	})
	if len(files) == 0 && len(m.Delete) == 0 && len(scripts) == 0 && len(problems) == 0 {
		problems = append(problems, fmt.Errorf("%s: the fix ships no files, deletes nothing and runs no script", dir))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	m.Files, m.Scripts = files, scripts
	return &Source{Dir: dir, Manifest: *m}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// walkPayload lists the regular files under dir, sorted, refusing links,
// devices and anything else that is not a plain file or directory. nested
// allows subdirectories (files/ has them; scripts/ does not).
func walkPayload(dir string, nested bool) ([]FileEntry, error) {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var out []FileEntry
	var problems []error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			if d.Type()&fs.ModeSymlink != 0 {
				problems = append(problems, fmt.Errorf("%s: is a symbolic link: use a real directory", p))
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			if !nested {
				problems = append(problems, fmt.Errorf("%s: scripts/ must not have subdirectories", p))
				return fs.SkipDir
			}
			return nil
		case mode&fs.ModeSymlink != 0:
			problems = append(problems, fmt.Errorf("%s: is a symbolic link: ship the file it points to instead", p))
			return nil
		case !mode.IsRegular():
			problems = append(problems, fmt.Errorf("%s: is not a regular file (%s): fixes ship only files", p, mode.Type()))
			return nil
		}
		if _, err := CleanRelPath(rel); err != nil {
			// Quoted: the name may not be UTF-8 or hold control
			// characters, which would garble the message.
			problems = append(problems, fmt.Errorf("%q: %v", p, err))
			return nil
		}
		mode := Mode(info.Mode().Perm())
		if why := mode.Unsafe(); nested && why != "" {
			problems = append(problems, fmt.Errorf("%s: mode %s is %s, and every server would refuse to install it: chmod it to 0644 (0755 for programs)", p, mode, why))
			return nil
		}
		out = append(out, FileEntry{Path: rel, Size: info.Size(), Mode: mode})
		return nil
	})
	if err != nil {
		problems = append(problems, fmt.Errorf("read %s: %w", dir, err))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// checkScript insists on an executable with a #! line, so that the
// installer can run it directly on any server.
func checkScript(path string, mode Mode) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 2)
	n, _ := f.Read(head)
	if n < 2 || string(head) != "#!" {
		return fmt.Errorf("%s: install scripts must start with a #! line", path)
	}
	if mode&0o100 == 0 {
		return fmt.Errorf("%s: install script is not executable: chmod +x it", path)
	}
	return nil
}

// PrepareSource loads and checks the fix source in dir and completes its
// manifest with every file's digest, as both archive formats need it.
func PrepareSource(ctx context.Context, dir string) (*Source, error) {
	src, err := LoadSource(dir)
	if err != nil {
		return nil, err
	}
	m := &src.Manifest
	if err := hashEntries(ctx, filepath.Join(dir, "files"), m.Files); err != nil {
		return nil, err
	}
	if err := hashEntries(ctx, filepath.Join(dir, "scripts"), m.Scripts); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return src, nil
}

// hashEntries fills in the sha256 of every entry, on every core.
func hashEntries(ctx context.Context, dir string, entries []FileEntry) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range entries {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			sum, n, err := HashFile(filepath.Join(dir, filepath.FromSlash(entries[i].Path)))
			if err == nil && n != entries[i].Size {
				err = fmt.Errorf("%s changed while packing: pack again", entries[i].Path)
			}
			entries[i].SHA256 = sum
			return err
		})
	}
	return g.Wait()
}

// CopyEntry copies the source file of entry e of kind ("files" or
// "scripts") to w and insists that it still has the size and digest the
// manifest records: a file edited during packing must not produce an
// archive that contradicts itself.
func (s *Source) CopyEntry(w io.Writer, kind string, e FileEntry) error {
	path := filepath.Join(s.Dir, kind, filepath.FromSlash(e.Path))
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(f, e.Size))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if n != e.Size || hex.EncodeToString(h.Sum(nil)) != e.SHA256 {
		return fmt.Errorf("%s changed while packing: pack again", path)
	}
	return nil
}

// SourceDateEpoch returns SOURCE_DATE_EPOCH as a time, or the Unix epoch:
// the time written into archives, so that the same source always gives
// the same bytes.
func SourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}
