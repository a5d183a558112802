package tour

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun plays the story end to end: vendor side, serving on loopback,
// and the client installing into a sandbox root, each step naming the
// command that does it by hand, in order.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	res, err := Run(t.Context(), Options{Out: &out, Dir: dir})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Dir != dir || !res.Kept || res.Config != filepath.Join(dir, "server", "hotfix.toml") {
		t.Errorf("result %+v", res)
	}
	story := out.String()
	last := 0
	for _, want := range []string{
		"hotfix demo in " + dir,
		"== 1. Vendor", "$ hotfix key generate",
		"== 2. Vendor", "$ hotfix pack", "acme-2.4.1.1.fix: Round tax to cents",
		"== 3. Vendor", "$ hotfix repo add", "added acme/2.4.1/acme-2.4.1.3.fix",
		"== 4. Vendor", "$ hotfix repo build", "acme 2.4.1: serial 1, 3 fixes",
		"== 5. Vendor", "$ hotfix serve", "serving " + filepath.Join(dir, "repo") + " on http://127.0.0.1:",
		"== 6. Server", "lock_dir = ",
		"== 7. Server", "$ hotfix check", "3 fixes pending",
		"== 8. Server", "$ hotfix install --yes", "2.4.1.3 installed",
		"== 9. Server", "$ hotfix status", "pending: 0",
		"== 10. Server", "$ hotfix rollback", "rolled back 2.4.1.3; app/legacy.php is back",
		"== 11. Server", "$ hotfix verify; hotfix owns " + filepath.Join(dir, "server", "root", "lib", "tax.php"), "lib/tax.php edited by hand: size, digest changed (put there by fix 2.4.1.1)",
		"lib/tax.php is owned by fix 2.4.1.1", "put back: all 3 files as installed",
		"== 12. Vendor", "$ hotfix repo rollout repo 2.4.1.3 --testing", "2.4.1.3 held back: in the testing ring",
		"== 13. Vendor", "$ hotfix repo rollout repo 2.4.1.3 --full", "2.4.1.3 installed",
		"== 14. Vendor", "$ hotfix repo publish repo " + filepath.Join(dir, "www"), "first publish: ", "again, nothing changed: 0 objects written",
		"== 15. Vendor", "$ hotfix key generate", "hotfix repo trust repo --root-key vendor.sec", "keys/1.root.json: root key ",
		"server check: index signed by the new key accepted, 0 pending",
	} {
		i := strings.Index(story[last:], want)
		if i < 0 {
			t.Fatalf("story lacks %q after byte %d:\n%s", want, last, story)
		}
		last += i + len(want)
	}
	if strings.Contains(story, "--keep") {
		t.Errorf("the advice that names a flag belongs to the command, not the tour:\n%s", story)
	}

	root := filepath.Join(dir, "server", "root")
	// After rolling back 2.4.1.3 and installing it again once released,
	// 2.4.1.2's coupon module is there and the legacy file that 2.4.1.3
	// deletes is gone again.
	if _, err := os.Stat(filepath.Join(root, "lib", "coupon.php")); err != nil {
		t.Errorf("after the tour: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "app", "legacy.php")); err == nil {
		t.Error("after the tour: app/legacy.php is there, but 2.4.1.3 deletes it")
	}
	// The web root holds what the repository holds, the key list included.
	for _, p := range []string{"repo.json", "repo.json.asc", "acme/2.4.1/index.json.asc", "acme/2.4.1/acme-2.4.1.3.fix"} {
		if _, err := os.Stat(filepath.Join(dir, "www", filepath.FromSlash(p))); err != nil {
			t.Errorf("published web root: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "repo", "keys", "1.root.json.asc")); err != nil {
		t.Errorf("key list: %v", err)
	}
	tax, err := os.ReadFile(filepath.Join(root, "lib", "tax.php"))
	if err != nil || !strings.Contains(string(tax), "round(") {
		t.Errorf("lib/tax.php should carry fix 2.4.1.1, got %q (%v)", tax, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "repo", "acme", "2.4.1", "index.json.asc")); err != nil {
		t.Errorf("repository not signed: %v", err)
	}
}

// Without a directory the tour makes a temporary one and removes it,
// unless asked to keep it.
func TestRunTemporaryDirectory(t *testing.T) {
	for _, keep := range []bool{false, true} {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		res, err := Run(t.Context(), Options{Out: new(bytes.Buffer), Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(res.Dir) != tmp || res.Kept != keep {
			t.Errorf("keep=%v: result %+v, want a kept=%v directory in %s", keep, res, keep, tmp)
		}
		_, err = os.Stat(res.Config)
		if exists := err == nil; exists != keep {
			t.Errorf("keep=%v: configuration exists = %v after the tour", keep, exists)
		}
	}
}

// A cancelled tour stops with an error and leaves no server running.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	if _, err := Run(ctx, Options{Out: &out, Dir: t.TempDir()}); err == nil {
		t.Fatalf("a cancelled tour succeeded:\n%s", out.String())
	}
}
