package publish

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// twoChannelRepo holds acme 2.4.1 (three fixes) and tool 1.0 (one fix),
// built with the given clock.
func twoChannelRepo(t *testing.T, now func() time.Time) string {
	t.Helper()
	paths := packSample(t)
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", "product = \"tool\"\nversion = \"1.0.1\"\nsummary = \"tool fix\"\n", 0o644)
	testkit.WriteFile(t, dir, "files/bin/tool.sh", "#!/bin/sh\necho fixed\n", 0o755)
	p, _, err := fixarchive.Pack(t.Context(), dir, filepath.Join(dir, "out"), fixarchive.PackOptions{Epoch: testEpoch})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, err := Add(t.Context(), root, append(paths, p), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t), Now: now}); err != nil {
		t.Fatal(err)
	}
	return root
}

func verify(t *testing.T, root, keys string) []string {
	t.Helper()
	now := time.Now()
	problems, err := VerifyRepo(t.Context(), root, VerifyOptions{Check: keyringCheck(t, keys, now), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.String())
	}
	return out
}

func TestVerifyGood(t *testing.T) {
	root := twoChannelRepo(t, nil)
	if problems := verify(t, root, vendorPublic); len(problems) != 0 {
		t.Fatalf("problems in a good repository:\n%s", strings.Join(problems, "\n"))
	}
	// The published key verifies it too.
	if problems := verify(t, root, filepath.Join(root, "keys")); len(problems) != 0 {
		t.Fatalf("problems with keys/:\n%s", strings.Join(problems, "\n"))
	}
}

// Verify lists every problem at once, each naming its file and cause.
func TestVerifyListsEveryProblem(t *testing.T) {
	past := time.Now().Add(-40 * 24 * time.Hour)
	root := twoChannelRepo(t, func() time.Time { return past })
	acme := channelDir(root)

	// Tampered index: its signature no longer matches.
	toolIndex := filepath.Join(root, "tool", "1.0", repo.IndexName)
	data, _ := os.ReadFile(toolIndex)
	os.WriteFile(toolIndex, []byte(strings.Replace(string(data), `"serial": 1`, `"serial": 2`, 1)), 0o644)
	// Truncated archive.
	a1 := filepath.Join(acme, "acme-2.4.1.1.fix")
	info, _ := os.Stat(a1)
	os.Truncate(a1, info.Size()/2)
	// One flipped byte, same size.
	a2 := filepath.Join(acme, "acme-2.4.1.2.fix")
	data, _ = os.ReadFile(a2)
	data[len(data)/2] ^= 0x01
	os.WriteFile(a2, data, 0o644)
	// An archive nobody indexed.
	os.WriteFile(filepath.Join(acme, "acme-2.4.1.4.fix"), []byte("stray"), 0o644)

	problems := verify(t, root, vendorPublic)
	all := strings.Join(problems, "\n")
	t.Logf("problems:\n%s", all)
	for _, want := range []string{
		"repo.json: expired on",
		"acme/2.4.1/index.json: expired on",
		"tool/1.0/index.json.asc:",
		"acme/2.4.1/acme-2.4.1.1.fix: size",
		"acme/2.4.1/acme-2.4.1.2.fix: sha256",
		"acme/2.4.1/acme-2.4.1.4.fix: not in the index",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q", want)
		}
	}
	if len(problems) != 6 {
		t.Errorf("%d problems, want 6", len(problems))
	}
	if !strings.Contains(all, "acme-2.4.1.1.fix: size "+strconv.FormatInt(info.Size()/2, 10)+", the index says "+strconv.FormatInt(info.Size(), 10)) {
		t.Errorf("size problem does not give both sizes")
	}
}

func TestVerifyUnknownKey(t *testing.T) {
	root := twoChannelRepo(t, nil)
	problems := verify(t, root, otherPublic)
	if len(problems) != 3 {
		t.Fatalf("want 3 signature problems (repo.json and two indexes), got:\n%s", strings.Join(problems, "\n"))
	}
	for _, p := range problems {
		if !strings.Contains(p, ".asc:") {
			t.Errorf("problem %q is not about a signature", p)
		}
	}
}

func TestVerifyMissingFiles(t *testing.T) {
	root := twoChannelRepo(t, nil)
	os.Remove(filepath.Join(root, repo.RootIndexName+repo.SigSuffix))
	os.Remove(filepath.Join(channelDir(root), "acme-2.4.1.3.fix"))
	os.Remove(filepath.Join(root, "tool", "1.0", repo.IndexName))
	all := strings.Join(verify(t, root, vendorPublic), "\n")
	for _, want := range []string{
		"repo.json.asc: missing signature",
		"acme/2.4.1/acme-2.4.1.3.fix: listed in the index but unreadable",
		"tool/1.0/index.json: missing",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
}

func TestVerifyNeedsKeyring(t *testing.T) {
	_, err := VerifyRepo(t.Context(), t.TempDir(), VerifyOptions{})
	testkit.WantErr(t, err, "keyring")
}
