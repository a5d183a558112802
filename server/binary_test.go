package server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildHotfix compiles the real command into a temporary directory.
func buildHotfix(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "hotfix")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/hotfix-project/hotfix")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var servingLine = regexp.MustCompile(`^serving (.+) on http://(\S+)/$`)

func TestServeCommand(t *testing.T) {
	bin := buildHotfix(t)
	root := newRepo(t)

	cmd := exec.Command(bin, "serve", root, "--addr", "127.0.0.1:0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			<-exited
		}
	}()

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSuffix(line, "\n")
		io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatal("no serving line within 10s")
	}
	m := servingLine.FindStringSubmatch(line)
	if m == nil || m[1] != root || strings.HasSuffix(m[2], ":0") {
		t.Fatalf("serving line %q does not name %s and a bound port", line, root)
	}

	resp, err := http.Get("http://" + m[2] + "/p/6.14.2/index.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"serial":1}` {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		killed = true
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit within 5s of SIGTERM")
	}
	if log := stderr.String(); !strings.Contains(log, "path=/p/6.14.2/index.json status=200") {
		t.Errorf("stderr lacks the access log line:\n%s", log)
	}
}

func TestServeCommandErrors(t *testing.T) {
	bin := buildHotfix(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing", []string{"serve", filepath.Join(dir, "nope")}, 1, "repository " + filepath.Join(dir, "nope") + " does not exist"},
		{"not a directory", []string{"serve", file}, 1, "repository " + file + " is a file, not a directory"},
		{"a link that loops", []string{"serve", loop}, 1, loop + " is a symbolic link that loops: fix or remove the link"},
		{"under a file", []string{"serve", filepath.Join(file, "repo")}, 1, file + " is a file, not a directory: move it out of the way"},
		{"no argument", []string{"serve"}, 2, "serve: missing REPO"},
		{"bad address", []string{"serve", dir, "--addr", "127.0.0.1:notaport"}, 1, "listen on 127.0.0.1:notaport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d stderr %q; want exit %d and %q", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}
