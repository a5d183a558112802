package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

// customRepo is a private copy of the sample repository with one customer
// fix of shop-a (IS-1, a file of its own) published beside the vendor's.
func customRepo(t *testing.T) string {
	t.Helper()
	uaSetup(t)
	dir := filepath.Join(t.TempDir(), "repo")
	testkit.CopyTree(t, uaRepo, dir)
	src := t.TempDir()
	testkit.WriteFile(t, src, "fix.toml", "product = \""+demo.Product+"\"\nkind = \"custom\"\ncustomer = \"shop-a\"\nid = \"IS-1\"\nversion = \"1\"\nbase = \""+demo.Base+"\"\nsummary = \"Shop A export\"\n", 0o644)
	testkit.WriteFile(t, src, "files/app/shop-a.php", "<?php // shop a\n", 0o644)
	p, _, err := fixarchive.Pack(context.Background(), src, filepath.Join(src, "out"), fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Add(context.Background(), dir, []string{p}, publish.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	signer, err := sign.LoadSigner(testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Build(context.Background(), dir, publish.BuildOptions{Signer: signer}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestInstallCustomerFixesConfirmedAndJSON: the terminal's transaction
// summary counts and names the customer's pending fixes, also when they
// are all that is pending (the vendor chain up to date), and install
// --json reports the customer fixes it installed under "custom".
func TestInstallCustomerFixesConfirmedAndJSON(t *testing.T) {
	e := newUAEnvRepo(t, customRepo(t), "customer = \"shop-a\"\n")
	nVendor := len(demo.FixVersions)
	code, out, errOut := e.runTTY(t, "n\n", "install")
	if code != ExitError || !strings.Contains(out, "Transaction summary: install "+plural(nVendor+1, "fix", "fixes")) ||
		!strings.Contains(out, "IS-1         customer fix 1: Shop A export, after the vendor fixes") {
		t.Fatalf("answered n: exit %d\n%s\n%s", code, out, errOut)
	}
	js, _ := e.hotfix(t, ExitOK, "--json", "install", "--yes")
	if !strings.Contains(js, `"custom": [`) || !strings.Contains(js, `"id": "IS-1"`) {
		t.Fatalf("install --json lacks the customer fix:\n%s", js)
	}
	e.hotfix(t, ExitOK, "uninstall", "IS-1")
	// Only the customer fix pending: still summarised and asked.
	code, out, errOut = e.runTTY(t, "y\n", "install")
	if code != ExitOK || !strings.Contains(out, "Transaction summary: install 1 fix") || !strings.Contains(out, "installed customer fix IS-1 1: Shop A export") {
		t.Fatalf("customer fix only: exit %d\n%s\n%s", code, out, errOut)
	}
}
