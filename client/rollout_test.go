package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// Staged rollouts, end to end: the vendor records stages with the real
// publish.SetRollout and signs them with publish.Build; clients read them
// from a real HTTP server on 127.0.0.1.

// stage records a rollout change for a sample fix, starting an hour ago,
// and rebuilds.
func (r *testRepo) stage(t testing.TB, ch publish.RolloutChange) {
	t.Helper()
	r.stageAt(t, ch, time.Now().Add(-time.Hour))
}

// stageAt records a rollout change starting at start and rebuilds (with
// the real clock: the signature is made now, and a client whose clock
// reads before that refuses it).
func (r *testRepo) stageAt(t testing.TB, ch publish.RolloutChange, start time.Time) {
	t.Helper()
	if _, err := publish.SetRollout(context.Background(), r.Dir, ch, publish.RolloutOptions{Now: func() time.Time { return start }}); err != nil {
		t.Fatal(err)
	}
	r.build(t, publish.BuildOptions{})
}

func v(s string) repo.Version { return repo.MustParseVersion(s) }

func intp(n int) *int { return &n }

// machineWithBucket finds a machine id whose bucket in the sample channel
// is b.
func machineWithBucket(t testing.TB, b int) string {
	t.Helper()
	for i := range 100000 {
		id := fmt.Sprintf("machine-%d", i)
		if repo.Bucket(id, demo.Product, v(demo.Base)) == b {
			return id
		}
	}
	t.Fatalf("no machine id with bucket %d", b)
	return ""
}

func rolloutEnv(t *testing.T, r *testRepo, ring, machineID string) *testEnv {
	t.Helper()
	return newEnv(t, envOptions{Repo: r, Extra: fmt.Sprintf("ring = %q\nmachine_id = %q\n", ring, machineID)})
}

func versionList(fs []repo.IndexFix) string { return joinVersions(versionsOf(fs)) }

func heldList(hs []HeldFix) string {
	var s []string
	for _, h := range hs {
		s = append(s, h.Fix.Version.String()+": "+h.Reason)
	}
	return strings.Join(s, " | ")
}

// TestRolloutBuckets: a fix at 20 % reaches 20 % ± 4 of 1,000 simulated
// machines reading the signed index over HTTP, and the fixes after it
// follow it.
func TestRolloutBuckets(t *testing.T) {
	r := newRepo(t)
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.2"), Percent: intp(20)})
	e := rolloutEnv(t, r, "stable", "m")
	c := e.client(t)
	res, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	taking := 0
	for i := range 1000 {
		c.Cfg.MachineID = fmt.Sprintf("%08x-sim-%d", i*2654435761, i)
		pending, held := c.split(res.Index, res.Installed)
		switch {
		case len(held) == 0 && versionList(pending) == "2.4.1.1, 2.4.1.2, 2.4.1.3":
			taking++
		case versionList(pending) == "2.4.1.1" && len(held) == 2:
			if !strings.Contains(held[0].Reason, "rollout at 20 %, this server's bucket is ") ||
				held[1].Reason != "comes after 2.4.1.2, which is held back" {
				t.Fatalf("reasons: %s", heldList(held))
			}
		default:
			t.Fatalf("machine %d: pending %s, held %s", i, versionList(pending), heldList(held))
		}
	}
	if taking < 160 || taking > 240 {
		t.Fatalf("20 %% rollout reached %d of 1,000 machines", taking)
	}
}

// TestRolloutRamp: a ramp of 10 % every 6 hours from 0, started an hour
// before the build, opens to a server in bucket 37 after 24 hours, not
// before, on the client's clock alone: nothing is rebuilt.
func TestRolloutRamp(t *testing.T) {
	r := newRepo(t)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	r.stageAt(t, publish.RolloutChange{Version: v("2.4.1.1"), Percent: intp(0), Ramp: &repo.Ramp{Step: 10, Every: 6 * time.Hour}}, start)
	e := rolloutEnv(t, r, "stable", machineWithBucket(t, 37))
	c := e.client(t)
	for _, step := range []struct {
		after   time.Duration
		pending string
		reason  string
	}{
		{time.Hour + 5*time.Minute, "", "rollout at 0 %, this server's bucket is 37"},
		{6 * time.Hour, "", "rollout at 10 %, this server's bucket is 37"},
		{23*time.Hour + 59*time.Minute, "", "rollout at 30 %, this server's bucket is 37"},
		{24 * time.Hour, "2.4.1.1, 2.4.1.2, 2.4.1.3", ""},
		{9 * 24 * time.Hour, "2.4.1.1, 2.4.1.2, 2.4.1.3", ""},
	} {
		c.Now = func() time.Time { return start.Add(step.after) }
		res, err := c.Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if versionList(res.Pending) != step.pending || step.reason != "" && (len(res.Held) != 3 || res.Held[0].Reason != step.reason) {
			t.Fatalf("after %s: pending %q, held %s", step.after, versionList(res.Pending), heldList(res.Held))
		}
	}
}

// TestRolloutHalt: a halted fix is held for every server, bucket 0 and
// the testing ring included, and with it the fixes after it; a scheduled
// run takes only what comes before it.
func TestRolloutHalt(t *testing.T) {
	r := newRepo(t)
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.2"), Percent: intp(50)})
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.2"), Halt: true})
	for _, tt := range []struct{ ring, machine string }{
		{"stable", machineWithBucket(t, 0)},
		{"stable", machineWithBucket(t, 99)},
		{"testing", machineWithBucket(t, 0)},
	} {
		e := rolloutEnv(t, r, tt.ring, tt.machine)
		res, err := e.client(t).Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if versionList(res.Pending) != "2.4.1.1" || heldList(res.Held) != "2.4.1.2: rollout halted by the vendor | 2.4.1.3: comes after 2.4.1.2, which is held back" {
			t.Fatalf("%s ring: pending %q, held %s", tt.ring, versionList(res.Pending), heldList(res.Held))
		}
		out := e.hotfix(t, "cron", "--now")
		if out.Code != 0 {
			t.Fatalf("cron: %d\n%s%s", out.Code, out.Stdout, out.Stderr)
		}
		st, err := e.client(t).Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Level != "2.4.1.1" || st.Pending != 0 || st.Held != 2 {
			t.Fatalf("after a scheduled run: level %s, pending %d, held %d", st.Level, st.Pending, st.Held)
		}
	}
}

// TestRolloutRings: a fix in the testing ring goes to a testing server
// and not to a stable one, whatever its bucket.
func TestRolloutRings(t *testing.T) {
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	p := sampleArchives(t)["2.4.1.3"]
	if _, err := publish.Add(context.Background(), r.Dir, []string{p}, publish.AddOptions{Testing: true}); err != nil {
		t.Fatal(err)
	}
	r.build(t, publish.BuildOptions{})
	for _, tt := range []struct {
		ring, pending, held string
	}{
		{"stable", "2.4.1.1, 2.4.1.2", "2.4.1.3: in the testing ring, and this server is in the stable ring"},
		{"testing", "2.4.1.1, 2.4.1.2, 2.4.1.3", ""},
	} {
		e := rolloutEnv(t, r, tt.ring, machineWithBucket(t, 0))
		c := e.client(t)
		res, err := c.Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if versionList(res.Pending) != tt.pending || heldList(res.Held) != tt.held {
			t.Fatalf("%s ring: pending %q, held %s", tt.ring, versionList(res.Pending), heldList(res.Held))
		}
		got, err := c.Install(context.Background(), InstallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if versionList(got.Installed) != tt.pending {
			t.Fatalf("%s ring installed %s", tt.ring, versionList(got.Installed))
		}
	}
}

// TestRolloutInstallByHand: naming a held fix installs it and those
// before it, and the audit log says it was held back; download by
// version fetches it too.
func TestRolloutInstallByHand(t *testing.T) {
	r := newRepo(t)
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.2"), Testing: true})
	e := rolloutEnv(t, r, "stable", machineWithBucket(t, 5))
	c := e.client(t)
	got, err := c.Install(context.Background(), InstallOptions{})
	if err != nil || versionList(got.Installed) != "2.4.1.1" {
		t.Fatalf("install: %v, %v", got, err)
	}
	dl, err := c.Download(context.Background(), ptr(v("2.4.1.3")), nil)
	if err != nil || len(dl) != 2 {
		t.Fatalf("download 2.4.1.3: %v, %v", dl, err)
	}
	got, err = c.Install(context.Background(), InstallOptions{Target: ptr(v("2.4.1.3"))})
	if err != nil || versionList(got.Installed) != "2.4.1.2, 2.4.1.3" {
		t.Fatalf("install 2.4.1.3: %v, %v", got, err)
	}
	audit, err := os.ReadFile(filepath.Join(e.Cfg.LogDir, AuditName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(audit)), "\n")
	want := []string{
		"held back by the rollout (in the testing ring, and this server is in the stable ring), installed by hand",
		"held back by the rollout (comes after 2.4.1.2, which is held back), installed by hand",
	}
	if len(lines) != 3 || strings.Contains(lines[0], "held back") || !strings.Contains(lines[1], want[0]) || !strings.Contains(lines[2], want[1]) {
		t.Fatalf("audit log:\n%s", audit)
	}
	res, err := c.Check(context.Background())
	if err != nil || len(res.Pending)+len(res.Held) != 0 {
		t.Fatalf("after install: %v, %v", res, err)
	}
}

func ptr[T any](x T) *T { return &x }

// TestRolloutEditedUnsigned: an index whose rollout was changed after
// signing (widened, removed, un-halted) is refused as a bad signature,
// nothing is installed and the cached index stays the signed one.
func TestRolloutEditedUnsigned(t *testing.T) {
	r := newRepo(t)
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.1"), Percent: intp(5)})
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.2"), Testing: true})
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.3"), Percent: intp(5)})
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.3"), Halt: true})
	signed, err := os.ReadFile(r.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, edit := range []struct{ name, from, to string }{
		{"widened", `"percent": 5,`, `"percent": 100,`},
		{"testing to stable", `"ring": "testing"`, `"ring": "stable"`},
		{"un-halted", `,
        "halted": true`, ``},
	} {
		t.Run(edit.name, func(t *testing.T) {
			edited := strings.Replace(string(signed), edit.from, edit.to, 1)
			if edited == string(signed) {
				t.Fatalf("%q not in the index:\n%s", edit.from, signed)
			}
			if _, err := repo.ParseIndex([]byte(edited)); err != nil {
				t.Fatalf("the edit makes an invalid index, not a forged one: %v", err)
			}
			e := newEnv(t, envOptions{Repo: r, Extra: "machine_id = \"m\"\n", Wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					if strings.HasSuffix(req.URL.Path, "/"+repo.IndexName) {
						w.Write([]byte(edited))
						return
					}
					h.ServeHTTP(w, req)
				})
			}})
			before := snapshot(t, e.Root)
			c := e.client(t)
			_, err := c.Check(context.Background())
			var te *TrustError
			if !errors.As(err, &te) {
				t.Fatalf("check of an edited index: %v", err)
			}
			if _, err := c.Install(context.Background(), InstallOptions{Target: ptr(v("2.4.1.3"))}); !errors.As(err, &te) {
				t.Fatalf("install from an edited index: %v", err)
			}
			assertTree(t, before, e.Root)
			if files := listFiles(t, e.cachePath("")); len(files) != 0 {
				t.Fatalf("cached from an edited index: %v", files)
			}
		})
	}
}

// TestRolloutNoMachineID: without machine_id and without a readable
// machine id file, partial rollouts are held back (never placed by
// chance); fixes for everyone still come.
func TestRolloutNoMachineID(t *testing.T) {
	r := newRepo(t)
	r.stage(t, publish.RolloutChange{Version: v("2.4.1.3"), Percent: intp(99)})
	dir := t.TempDir()
	old := MachineIDFile
	t.Cleanup(func() { MachineIDFile = old })
	for _, tt := range []struct {
		name, content, want string
	}{
		{"missing", "", "held"},
		{"empty", "\n", "held"},
		{"placeholder", "uninitialized\n", "held"},
		{"present", "0123456789abcdef0123456789abcdef\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			MachineIDFile = filepath.Join(dir, tt.name)
			if tt.name != "missing" {
				if err := os.WriteFile(MachineIDFile, []byte(tt.content), 0o444); err != nil {
					t.Fatal(err)
				}
			}
			e := newEnv(t, envOptions{Repo: r})
			res, err := e.client(t).Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := "2.4.1.1, 2.4.1.2"
			b := repo.Bucket(strings.TrimSpace(tt.content), demo.Product, v(demo.Base))
			if tt.want == "" && b < 99 {
				want += ", 2.4.1.3"
			}
			if versionList(res.Pending) != want {
				t.Fatalf("pending %q, held %s", versionList(res.Pending), heldList(res.Held))
			}
			if tt.want != "" && !strings.Contains(heldList(res.Held), "no machine id") {
				t.Fatalf("held %s", heldList(res.Held))
			}
		})
	}
}

// TestRolloutConfig: ring and machine_id are validated, each error
// naming the line and what is wanted.
func TestRolloutConfig(t *testing.T) {
	base := SandboxConfig("https://fixes.example.com", "acme", "/opt/acme", "/etc/hotfix/trusted.d", "/var/tmp/x")
	for _, tt := range []struct{ extra, want string }{
		{`ring = "beta"`, `ring: "beta" is not one of "stable" or "testing"`},
		{`ring = ""`, `ring: "" is not one of`},
		{`machine_id = ""`, "machine_id: empty"},
		{`machine_id = "a b"`, "holds a space"},
		{`machine_id = "uninitialized"`, "systemd's placeholder"},
		{`machine_id = "` + strings.Repeat("a", 129) + `"`, "more than 128"},
		{`machine_id = "é"`, "non-ASCII"},
		{`machine_id = 5`, "machine_id"},
	} {
		_, err := ParseConfig("hotfix.toml", []byte(base+tt.extra+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "hotfix.toml:10") {
			t.Errorf("%s: %v, want %q at line 10", tt.extra, err, tt.want)
		}
	}
	c, err := ParseConfig("hotfix.toml", []byte(base+"ring = \"testing\"\nmachine_id = \"0123456789abcdef0123456789abcdef\"\n"))
	if err != nil || c.Ring != repo.RingTesting || c.MachineID != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("%+v, %v", c, err)
	}
	if c, err := ParseConfig("hotfix.toml", []byte(base)); err != nil || c.Ring != repo.RingStable || c.MachineID != "" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
}

// TestSplitRollout: the chain rule on its own, pure.
func TestSplitRollout(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	fixes := func(rs ...*repo.Rollout) []repo.IndexFix {
		var out []repo.IndexFix
		for i, r := range rs {
			out = append(out, repo.IndexFix{Version: v(fmt.Sprintf("1.0.%d", i+1)), Rollout: r})
		}
		return out
	}
	at := func(p int) *repo.Rollout {
		return &repo.Rollout{Ring: repo.RingStable, Percent: intp(p), Start: &start}
	}
	inTesting := &repo.Rollout{Ring: repo.RingTesting}
	for _, tt := range []struct {
		name    string
		fixes   []repo.IndexFix
		ring    string
		pending string
		held    string
	}{
		{"none staged", fixes(nil, nil), "stable", "1.0.1, 1.0.2", ""},
		{"first held holds all", fixes(at(10), nil, nil), "stable", "", "1.0.1: rollout at 10 %, this server's bucket is 50 | 1.0.2: comes after 1.0.1, which is held back | 1.0.3: comes after 1.0.1, which is held back"},
		{"later held own reason", fixes(nil, at(10), inTesting), "stable", "1.0.1", "1.0.2: rollout at 10 %, this server's bucket is 50 | 1.0.3: in the testing ring, and this server is in the stable ring"},
		{"open", fixes(at(51), at(60)), "stable", "1.0.1, 1.0.2", ""},
		{"testing server", fixes(inTesting, at(0)), "testing", "1.0.1, 1.0.2", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pending, held := SplitRollout(tt.fixes, tt.ring, 50, start)
			if versionList(pending) != tt.pending || heldList(held) != tt.held {
				t.Fatalf("pending %q, held %q", versionList(pending), heldList(held))
			}
		})
	}
}
