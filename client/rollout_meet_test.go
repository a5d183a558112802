package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// Where staged rollouts meet customer fixes and instance trees: a held
// vendor fix is not reached by the chain, so the customer fixes whose
// min_fix it is wait; taking it by hand installs them after it; and a
// held fix taken by hand is still held to the parent instance's level.

// TestRolloutHeldCustomerFixWaits: with 2.4.1.2 held back (testing ring),
// check lists the customer fix needing 2.4.1.2 as waiting and counts only
// 2.4.1.1 and the free customer fix as pending; install takes those two;
// install 2.4.1.2 by hand installs the vendor fix and then the waiting
// customer fix.
func TestRolloutHeldCustomerFixWaits(t *testing.T) {
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.addCustom(t,
		packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/extra.php": "<?php // shop a\n"}, ""),
		packCustomFix(t, "shop-a", "IS-2", "1", map[string]string{"lib/b.php": "b\n"}, "min_fix = \"2.4.1.2\"\n"))
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.2"), Testing: true})
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine + "ring = \"stable\"\nmachine_id = \"m-held\"\n"})
	ids := func(list []repo.CustomIndexFix) string {
		var s []string
		for _, f := range list {
			s = append(s, f.ID)
		}
		return strings.Join(s, ",")
	}
	res, err := e.client(t).Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if versionList(res.Pending) != "2.4.1.1" || heldList(res.Held) != "2.4.1.2: in the testing ring, and this server is in the stable ring" ||
		res.Custom == nil || ids(res.Custom.Pending) != "IS-1" || ids(res.Custom.Waiting) != "IS-2" || res.PendingCount() != 2 {
		t.Fatalf("check: pending %s held %s custom %+v count %d", versionList(res.Pending), heldList(res.Held), res.Custom, res.PendingCount())
	}
	out := e.hotfix(t, "check", "--json")
	if out.Code != 100 || !strings.Contains(out.Stdout, `"held": [`) || !strings.Contains(out.Stdout, `"custom": {`) || !strings.Contains(out.Stdout, `"min_fix": "2.4.1.2"`) {
		t.Fatalf("check --json: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}

	got, err := e.client(t).Install(t.Context(), InstallOptions{})
	if err != nil || versionList(got.Installed) != "2.4.1.1" || len(got.Custom) != 1 || got.Custom[0].ID != "IS-1" {
		t.Fatalf("install: %+v %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(e.Root, "lib/b.php")); !os.IsNotExist(err) {
		t.Fatalf("IS-2 installed before the held fix it needs: %v", err)
	}
	// Only the held fix and what waits for it remain: nothing pending.
	if out := e.hotfix(t, "check"); out.Code != 0 || !strings.Contains(out.Stdout, "2.4.1.2 held back") || !strings.Contains(out.Stdout, "IS-2") {
		t.Fatalf("check after install: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}

	got, err = e.client(t).Install(t.Context(), InstallOptions{Target: ptr(v("2.4.1.2"))})
	if err != nil || versionList(got.Installed) != "2.4.1.2" || len(got.Custom) != 1 || got.Custom[0].ID != "IS-2" {
		t.Fatalf("install 2.4.1.2: %+v %v", got, err)
	}
	if got := readRoot(t, e.Root, "lib/b.php"); got != "b\n" {
		t.Fatalf("lib/b.php = %q", got)
	}
	if res, err := e.client(t).Check(t.Context()); err != nil || res.PendingCount()+len(res.Held)+len(res.Custom.Waiting) != 0 {
		t.Fatalf("check at the end: %+v %v", res, err)
	}
}

// TestRolloutHeldByHandStillGated: an instance asked for a held fix by
// version goes no further than its parent's level; the parent taking it
// by hand lets the child follow, by hand too, and a plain install of the
// child never takes it. check over the tree lists each instance's held
// fixes.
func TestRolloutHeldByHandStillGated(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "machine_id = \"m-tree\"\n")
	// A private copy of the shared tree repository, 1.0.2 staged to the
	// testing ring only.
	dir := filepath.Join(t.TempDir(), "repo")
	testkit.CopyTree(t, treeRepo(t), dir)
	if _, err := publish.SetRollout(context.Background(), dir, publish.RolloutChange{Version: v("1.0.2"), Testing: true},
		publish.RolloutOptions{Now: func() time.Time { return time.Now().Add(-time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Build(context.Background(), dir, publish.BuildOptions{Signer: testSigner(t, "vendor.sec.asc")}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(data), "file://"+filepath.ToSlash(treeRepo(t)), "file://"+filepath.ToSlash(dir), 1)
	testkit.WriteFile(t, e.Dir, "hotfix.toml", cfg, 0o644)
	if e.Cfg, err = LoadConfig(e.Config); err != nil {
		t.Fatal(err)
	}
	// check over the tree lists the held fix of each instance, apart.
	out := e.hotfix(t, "check", "--instance", "a", "--instance", "b")
	if out.Code != 100 || strings.Count(out.Stdout, "1.0.2 held back: in the testing ring") != 2 {
		t.Fatalf("check over the tree: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	out = e.hotfix(t, "--json", "check", "--instance", "b")
	if out.Code != 100 || !strings.Contains(out.Stdout, `"held": [`) || !strings.Contains(out.Stdout, `"version": "1.0.2"`) {
		t.Fatalf("check --json over the tree: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	ctx := context.Background()
	one, two := v("1.0.1"), v("1.0.2")
	if res, err := e.tree(t, "a").Install(ctx, InstallOptions{Target: &one}); err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	// b asks for the held 1.0.2 by hand: its parent a is at 1.0.1.
	res, err := e.tree(t, "b").Install(ctx, InstallOptions{Target: &two})
	if err != nil {
		t.Fatal(err)
	}
	var be *BlockedError
	if !errors.As(res.Err(), &be) || outcomes(res) != "b=installed@1.0.1" {
		t.Fatalf("b by hand past its parent: %s %v", outcomes(res), res.Err())
	}
	assertTree(t, expectedRoot(t, 1), e.Roots["b"])
	// a takes it by hand; a plain install of b still does not.
	if res, err := e.tree(t, "a").Install(ctx, InstallOptions{Target: &two}); err != nil || res.Err() != nil || outcomes(res) != "a=installed@1.0.2" {
		t.Fatalf("a by hand: %v %s %v", err, outcomes(res), res.Err())
	}
	if res, _ := e.tree(t, "b").Install(ctx, InstallOptions{}); res.Err() != nil {
		t.Fatalf("b plain install: %s %v", outcomes(res), res.Err())
	}
	assertTree(t, expectedRoot(t, 1), e.Roots["b"])
	if res, err := e.tree(t, "b").Install(ctx, InstallOptions{Target: &two}); err != nil || res.Err() != nil || outcomes(res) != "b=installed@1.0.2" {
		t.Fatalf("b by hand after a: %v %s %v", err, outcomes(res), res.Err())
	}
	assertTree(t, expectedRoot(t, 2), e.Roots["b"])
}
