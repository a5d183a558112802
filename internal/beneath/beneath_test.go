package beneath

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// modes runs f once with openat2 and once with the component walk.
func modes(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, walk := range []bool{false, true} {
		name := "openat2"
		if walk {
			name = "walk"
		}
		t.Run(name, func(t *testing.T) {
			forceWalk.Store(walk)
			t.Cleanup(func() { forceWalk.Store(false) })
			f(t)
		})
	}
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listing is every name under dir with its type and content.
func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		data := ""
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			data = string(b)
		}
		out[rel] = fi.Mode().String() + " " + data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// linkedRoot is a root whose a/b/c/f exists, with one of a, a/b, a/b/c
// replaced by a link to a copy of that directory outside the root.
func linkedRoot(t *testing.T, at string) (*Root, string) {
	t.Helper()
	dir := t.TempDir()
	root, outside := filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	writeFile(t, filepath.Join(root, "a/b/c/f"), "inside\n")
	writeFile(t, filepath.Join(outside, "b/c/f"), "outside\n")
	writeFile(t, filepath.Join(outside, "c/f"), "outside\n")
	writeFile(t, filepath.Join(outside, "f"), "outside\n")
	target := map[string]string{"a": outside, "a/b": filepath.Join(outside, "b"), "a/b/c": filepath.Join(outside, "b/c")}[at]
	if err := os.RemoveAll(filepath.Join(root, at)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(root, at)); err != nil {
		t.Fatal(err)
	}
	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, outside
}

// TestLinksAreNeverFollowed: a directory link at the first, a middle or
// the last directory component stops every operation with ErrLink, naming
// the link, and the directory it points to stays as it was.
func TestLinksAreNeverFollowed(t *testing.T) {
	modes(t, func(t *testing.T) {
		ops := map[string]func(r *Root) error{
			"lstat":      func(r *Root) error { _, err := r.Lstat("a/b/c/f"); return err },
			"open":       func(r *Root) error { f, err := r.Open("a/b/c/f"); closeIf(f); return err },
			"opendir":    func(r *Root) error { f, err := r.OpenDir("a/b/c"); closeIf(f); return err },
			"mkdir":      func(r *Root) error { return r.Mkdir("a/b/c/new", 0o755) },
			"mkdirall":   func(r *Root) error { return r.MkdirAll("a/b/c/new/deeper", 0o755) },
			"remove":     func(r *Root) error { return r.Remove("a/b/c/f") },
			"rmdir":      func(r *Root) error { return r.RemoveDir("a/b/c/x") },
			"createtemp": func(r *Root) error { f, _, err := r.CreateTemp("a/b/c/f"); closeIf(f); return err },
			"rename-to":  func(r *Root) error { return renameIn(t, r, "a/b/c/f") },
			"rename-from": func(r *Root) error {
				return Rename(r, "a/b/c/f", r, "moved")
			},
			"removetemps": func(r *Root) error { return r.RemoveTemps("a/b/c/f") },
			"syncdir":     func(r *Root) error { return r.SyncDir("a/b/c") },
			"attrs":       func(r *Root) error { _, err := r.Attrs("a/b/c/f"); return err },
			"access":      func(r *Root) error { return r.Access("a/b/c", 2) },
		}
		for _, at := range []string{"a", "a/b", "a/b/c"} {
			for name, op := range ops {
				t.Run(strings.ReplaceAll(at, "/", "_")+"/"+name, func(t *testing.T) {
					r, outside := linkedRoot(t, at)
					writeFile(t, filepath.Join(outside, "c/.f.tmp-old"), "keep\n")
					before := listing(t, outside)
					err := op(r)
					var le *LinkError
					if !errors.Is(err, ErrLink) || !errors.As(err, &le) || le.Path != at {
						t.Fatalf("%s through a link at %s = %v; want a LinkError naming %s", name, at, err, at)
					}
					if !strings.Contains(err.Error(), filepath.Join(r.Name(), at)+" is a symbolic link") {
						t.Errorf("message %q does not name the link", err)
					}
					if got := listing(t, outside); !reflect.DeepEqual(got, before) {
						t.Errorf("outside changed:\n%v\nwant\n%v", got, before)
					}
				})
			}
		}
	})
}

func closeIf(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// renameIn renames a new file of the root over rel.
func renameIn(t *testing.T, r *Root, rel string) error {
	t.Helper()
	writeFile(t, r.Join("new"), "new\n")
	return Rename(r, "new", r, rel)
}

// TestLastComponentLink: a link at the end of a path is the link itself
// for Lstat, Remove and Rename, and refused by Open and OpenDir.
func TestLastComponentLink(t *testing.T) {
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "outside/f"), "outside\n")
		writeFile(t, filepath.Join(dir, "root/keep"), "keep\n")
		for _, l := range []string{"root/file", "root/dir"} {
			target := map[string]string{"root/file": "../outside/f", "root/dir": "../outside"}[l]
			if err := os.Symlink(target, filepath.Join(dir, l)); err != nil {
				t.Fatal(err)
			}
		}
		r, err := Open(filepath.Join(dir, "root"))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		before := listing(t, filepath.Join(dir, "outside"))
		if fi, err := r.Lstat("file"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("Lstat(file) = %v, %v; want the link itself", fi, err)
		}
		if f, err := r.Open("file"); !errors.Is(err, ErrLink) {
			closeIf(f)
			t.Errorf("Open(file) = %v; want ErrLink", err)
		}
		if f, err := r.OpenDir("dir"); !errors.Is(err, ErrLink) {
			closeIf(f)
			t.Errorf("OpenDir(dir) = %v; want ErrLink", err)
		}
		if err := renameIn(t, r, "file"); err != nil {
			t.Errorf("rename over a link: %v", err)
		}
		if err := r.Remove("dir"); err != nil {
			t.Errorf("Remove(dir link): %v", err)
		}
		if got := listing(t, filepath.Join(dir, "outside")); !reflect.DeepEqual(got, before) {
			t.Errorf("outside changed:\n%v\nwant\n%v", got, before)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "root/file")); string(got) != "new\n" {
			t.Errorf("root/file = %q, want the renamed file", got)
		}
	})
}

func TestOperations(t *testing.T) {
	modes(t, func(t *testing.T) {
		dir := t.TempDir()
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.MkdirAll("x/y/z", 0o755); err != nil {
			t.Fatal(err)
		}
		f, tmp, err := r.CreateTemp("x/y/z/file")
		if err != nil || !strings.HasPrefix(tmp, "x/y/z/.file.tmp-") {
			t.Fatalf("CreateTemp = %q, %v", tmp, err)
		}
		io.WriteString(f, "data")
		f.Close()
		if err := Rename(r, tmp, r, "x/y/z/file"); err != nil {
			t.Fatal(err)
		}
		if f, err := r.Open("x/y/z/file"); err != nil {
			t.Fatal(err)
		} else if b, _ := io.ReadAll(f); string(b) != "data" {
			t.Errorf("read %q", b)
		} else {
			f.Close()
		}
		if err := r.SyncDir("x/y/z"); err != nil {
			t.Error(err)
		}
		writeFile(t, filepath.Join(dir, "x/y/z/.file.tmp-123"), "")
		writeFile(t, filepath.Join(dir, "x/y/z/.other.tmp-123"), "")
		if err := r.RemoveTemps("x/y/z/file"); err != nil {
			t.Error(err)
		}
		if got := listing(t, filepath.Join(dir, "x/y/z")); len(got) != 3 {
			t.Errorf("after RemoveTemps: %v; want ., file, .other.tmp-123", got)
		}
		if err := r.RemoveDir("x/y/z"); err == nil {
			t.Error("RemoveDir of a full directory succeeded")
		}
		if err := r.Remove("x/y/z/nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Remove(missing) = %v, want ErrNotExist", err)
		}
		if _, err := r.Lstat("x/nope/f"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Lstat under a missing directory = %v, want ErrNotExist", err)
		}
		if err := r.Access(".", 2); err != nil {
			t.Error(err)
		}
		for _, bad := range []string{"", "/etc/passwd", "../x", "x/../../y", "x//y", "./x"} {
			if _, err := r.Lstat(bad); err == nil || errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Lstat(%q) = %v; want a refusal of the path", bad, err)
			}
		}
		if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		if f, err := r.Open("fifo"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			closeIf(f)
			t.Errorf("Open(fifo) = %v; want a refusal that does not block", err)
		}
	})
}

// TestAttrs: an immutable or append-only file and a bind-mounted file
// are reported, so that a caller can refuse before it changes anything.
func TestAttrs(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"plain", "immutable", "append", "mounted", "source"} {
		writeFile(t, filepath.Join(dir, n), n)
	}
	run(t, "chattr", "+i", filepath.Join(dir, "immutable"))
	t.Cleanup(func() { exec.Command("chattr", "-i", filepath.Join(dir, "immutable")).Run() })
	run(t, "chattr", "+a", filepath.Join(dir, "append"))
	t.Cleanup(func() { exec.Command("chattr", "-a", filepath.Join(dir, "append")).Run() })
	run(t, "mount", "--bind", filepath.Join(dir, "source"), filepath.Join(dir, "mounted"))
	t.Cleanup(func() { exec.Command("umount", filepath.Join(dir, "mounted")).Run() })
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for name, want := range map[string]Attrs{
		"plain": {}, "immutable": {Immutable: true}, "append": {AppendOnly: true}, "mounted": {MountPoint: true}, "source": {},
	} {
		got, err := r.Attrs(name)
		if err != nil || got != want {
			t.Errorf("Attrs(%s) = %+v, %v; want %+v", name, got, err, want)
		}
	}
	if a, err := r.Attrs("."); err != nil || a.Immutable {
		t.Errorf("Attrs(.) = %+v, %v", a, err)
	}
}

// run runs a command the test needs; this machine runs the tests as root
// with chattr and mount available, so a failure is a failure.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
