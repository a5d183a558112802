package cmd

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateDocs: the hidden generate-docs writes a man page per
// visible command that groff renders without a warning, the same bytes
// every time, and completion files for bash, zsh and fish.
func TestGenerateDocs(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1764201600")
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		mustHotfix(t, ExitOK, "-q", "generate-docs", d)
	}
	pages, _ := filepath.Glob(filepath.Join(dirs[0], "man", "*.1.gz"))
	for _, want := range []string{"hotfix", "hotfix-list", "hotfix-info", "hotfix-install", "hotfix-rollback", "hotfix-repo-add", "hotfix-version"} {
		if _, err := os.Stat(filepath.Join(dirs[0], "man", want+".1.gz")); err != nil {
			t.Errorf("no man page %s: %v", want, err)
		}
	}
	if len(pages) < 20 {
		t.Errorf("%d man pages", len(pages))
	}
	for _, p := range pages {
		other, err := os.ReadFile(filepath.Join(dirs[1], "man", filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		gz, _ := os.ReadFile(p)
		if !bytes.Equal(gz, other) {
			t.Errorf("%s differs between two runs", filepath.Base(p))
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		page, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(filepath.Base(p), "generate-docs") || bytes.Contains(page, []byte("Auto generated")) || !bytes.Contains(page, []byte(".SH NAME")) {
			t.Errorf("%s: hidden command, auto-generated tag or no NAME", filepath.Base(p))
		}
		cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = bytes.NewReader(page)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("groff on %s: %v\n%s", filepath.Base(p), err, out)
		}
	}
	for _, f := range []string{"hotfix.bash", "_hotfix", "hotfix.fish"} {
		if fi, err := os.Stat(filepath.Join(dirs[0], "completions", f)); err != nil || fi.Size() == 0 {
			t.Errorf("completion file %s: %v", f, err)
		}
	}
}

// TestBashCompletionWithoutPackage: the generated bash completion
// completes fix versions in a bash that has no bash-completion package
// loaded (no _init_completion), calling the real binary.
func TestBashCompletionWithoutPackage(t *testing.T) {
	e := newUAEnv(t, "")
	e.hotfix(t, ExitPending, "check")
	dir := t.TempDir()
	mustHotfix(t, ExitOK, "-q", "generate-docs", dir)
	script := `source "$1"
declare -F _init_completion >/dev/null && { echo "bash-completion is loaded"; exit 1; }
compopt() { :; } # the builtin works only inside a real TAB
COMP_WORDS=(hotfix --config "$2" install "")
COMP_CWORD=4
COMP_LINE="hotfix --config $2 install "
COMP_POINT=${#COMP_LINE}
__start_hotfix
printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script, "bash", filepath.Join(dir, "completions", "hotfix.bash"), e.Config)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(uaBin)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	if strings.Join(got, " ") != "2.4.1.1 2.4.1.2 2.4.1.3" {
		t.Errorf("completions %q, want the three pending versions", out)
	}
}
