package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// writeFixSource writes a fix source directory: fix.toml, files (path ->
// content) and scripts (name -> body, made executable).
func writeFixSource(t *testing.T, version, extraTOML string, files, scripts map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), version)
	toml := "product = \"acme\"\nversion = \"" + version + "\"\nsummary = \"Test fix " + version + "\"\n" + extraTOML
	write := func(p, data string, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "fix.toml"), toml, 0o644)
	for p, data := range files {
		write(filepath.Join(dir, "files", filepath.FromSlash(p)), data, 0o644)
	}
	for name, body := range scripts {
		write(filepath.Join(dir, "scripts", name), body, 0o755)
	}
	return dir
}

func ver(s string) *repo.Version { v := repo.MustParseVersion(s); return &v }

// installed lists the versions recorded in the state.
func installed(t *testing.T, e *testEnv) []string {
	t.Helper()
	st, err := LoadState(e.Cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range st.Installed {
		out = append(out, f.Version.String())
	}
	return out
}

func TestInstallDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	c := e.client(t)
	before := snapshot(t, e.Root)
	res, err := c.Install(context.Background(), InstallOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || len(res.Installed) != 3 {
		t.Fatalf("dry run: %+v", res)
	}
	assertTree(t, before, e.Root)
	if _, err := os.Stat(filepath.Join(e.Cfg.StateDir, stateName)); !os.IsNotExist(err) {
		t.Errorf("dry run wrote %s (%v)", stateName, err)
	}
	for _, f := range listFiles(t, e.Cfg.StateDir) {
		if f != seenName { // what the check learned is not install state
			t.Errorf("dry run left %s in the state directory", f)
		}
	}
}

func TestInstallFailingScriptRestoresRoot(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	src := writeFixSource(t, "2.4.1.4", `delete = ["config/app.ini"]`+"\n",
		map[string]string{"lib/tax.php": "<?php // 2.4.1.4\n", "lib/new/added.php": "<?php // new\n"},
		map[string]string{"10-migrate.sh": "#!/bin/sh\necho migrating $HOTFIX_VERSION\nexit 1\n"})
	r.addSource(t, src)
	r.build(t, publish.BuildOptions{})
	e := newEnv(t, envOptions{Repo: r})
	c := e.client(t)
	ctx := context.Background()
	if _, err := c.Install(ctx, InstallOptions{Target: ver("2.4.1.3")}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e.Root)
	_, err := c.Install(ctx, InstallOptions{})
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("error %T is not a *StepError: %v", err, err)
	}
	if se.Version.String() != "2.4.1.4" || se.Step != "script 10-migrate.sh" || se.Log == "" {
		t.Errorf("StepError = %+v", se)
	}
	wantErr(t, err, nil, "fix 2.4.1.4", "script 10-migrate.sh", "log: "+se.Log, "restored")
	assertTree(t, before, e.Root)
	if got := installed(t, e); strings.Join(got, " ") != "2.4.1.1 2.4.1.2 2.4.1.3" {
		t.Errorf("installed after the failure: %v", got)
	}
	log, err := os.ReadFile(se.Log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"migrating 2.4.1.4", "FAILED at script 10-migrate.sh"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("install log lacks %q:\n%s", want, log)
		}
	}
	if _, err := os.Stat(filepath.Join(e.Root, "lib", "new")); !os.IsNotExist(err) {
		t.Errorf("directory created by the failed fix is still there: %v", err)
	}
}

func TestInstallRefusesLocalModification(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.addSource(t, writeFixSource(t, "2.4.1.4", "", map[string]string{"lib/tax.php": "<?php // tax as of 2.4.1.4\n"}, nil))
	r.build(t, publish.BuildOptions{})
	e := newEnv(t, envOptions{Repo: r})
	c := e.client(t)
	ctx := context.Background()
	if _, err := c.Install(ctx, InstallOptions{Target: ver("2.4.1.3")}); err != nil {
		t.Fatal(err)
	}
	tax := filepath.Join(e.Root, "lib", "tax.php")
	local := "<?php // hand-edited by the admin\n"
	if err := os.WriteFile(tax, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e.Root)

	_, err := c.Install(ctx, InstallOptions{})
	wantErr(t, err, ErrLocalChanges, tax, "--force", "fix 2.4.1.4")
	var lc *LocalChangesError
	if !errors.As(err, &lc) || !slices.Equal(lc.Files, []string{tax}) {
		t.Errorf("error %v does not list the changed files as a *LocalChangesError: %+v", err, lc)
	}
	assertTree(t, before, e.Root)
	// A version already installed is refused as such, naming both.
	_, err = c.Install(ctx, InstallOptions{Target: ver("2.4.1.2")})
	wantErr(t, err, ErrAlreadyInstalled, "fix 2.4.1.2 is already installed (installed: 2.4.1.3)")
	var ai *AlreadyInstalledError
	if !errors.As(err, &ai) || ai.Version.String() != "2.4.1.2" || ai.Installed.String() != "2.4.1.3" {
		t.Errorf("error %v is not an *AlreadyInstalledError with both versions: %+v", err, ai)
	}
	// A dry run refuses the same way.
	_, err = c.Install(ctx, InstallOptions{DryRun: true})
	wantErr(t, err, ErrLocalChanges, tax)

	res, err := c.Install(ctx, InstallOptions{Force: true})
	if err != nil {
		t.Fatalf("install --force: %v", err)
	}
	if len(res.Installed) != 1 {
		t.Fatalf("installed %d", len(res.Installed))
	}
	if b, _ := os.ReadFile(tax); string(b) != "<?php // tax as of 2.4.1.4\n" {
		t.Errorf("tax.php after --force: %q", b)
	}
	done, err := c.Rollback(ctx, RollbackOptions{})
	if err != nil || len(done.RolledBack) != 1 || done.RolledBack[0].String() != "2.4.1.4" || len(done.Kept) != 0 {
		t.Fatalf("rollback: %+v %v", done, err)
	}
	if b, _ := os.ReadFile(tax); string(b) != local {
		t.Errorf("rollback did not bring back the local modification: %q", b)
	}
	assertTree(t, before, e.Root)
}

func TestHealthCheckFailureRollsBackTheRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{Extra: "[hooks]\nhealth_check = \"echo unhealthy >&2; exit 3\"\n"})
	c := e.client(t)
	ctx := context.Background()
	before := snapshot(t, e.Root, "var")
	_, err := c.Install(ctx, InstallOptions{})
	wantErr(t, err, nil, "health_check")
	assertTree(t, before, e.Root, "var") // the sample's script writes var/cache, which no fix records
	if got := installed(t, e); len(got) != 0 {
		t.Errorf("installed after a failed health check: %v", got)
	}
}

func TestHealthCheckFailureKeepsEarlierRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.client(t).Install(ctx, InstallOptions{Target: ver("2.4.1.1")}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e.Root, "var")
	e.Cfg.Hooks.HealthCheck = "exit 1"
	_, err := e.client(t).Install(ctx, InstallOptions{})
	wantErr(t, err, nil, "health_check")
	assertTree(t, before, e.Root, "var")
	if got := installed(t, e); strings.Join(got, " ") != "2.4.1.1" {
		t.Errorf("installed = %v, want the earlier run's 2.4.1.1 only", got)
	}
}

func TestBaseChangeSupersedesFixes(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.addSource(t, writeFixSource(t, "2.4.2.1", "", map[string]string{"lib/tax.php": "<?php // 2.4.2.1\n"}, nil))
	r.build(t, publish.BuildOptions{})
	e := newEnv(t, envOptions{Repo: r})
	ctx := context.Background()
	if _, err := e.client(t).Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	// A full patch to 2.4.2 rewrites the version file.
	if err := os.WriteFile(filepath.Join(e.Root, "VERSION"), []byte("2.4.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	res, err := c.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Base.String() != "2.4.2" || len(res.Pending) != 1 || res.Pending[0].Version.String() != "2.4.2.1" {
		t.Fatalf("check after the full patch: base %s, pending %v", res.Base, res.Pending)
	}
	st, err := c.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Base != "2.4.2" || len(st.Installed) != 0 {
		t.Errorf("status after the full patch: base %s, installed %v", st.Base, st.Installed)
	}
	if _, err := c.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	state, err := LoadState(e.Cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if state.Base.String() != "2.4.2" || len(state.Installed) != 1 || state.Installed[0].Version.String() != "2.4.2.1" {
		t.Errorf("state: base %s, installed %+v", state.Base, state.Installed)
	}
	var sup []string
	for _, s := range state.Superseded {
		sup = append(sup, s.Base.String()+"/"+s.Version.String())
	}
	if strings.Join(sup, " ") != "2.4.1/2.4.1.1 2.4.1/2.4.1.2 2.4.1/2.4.1.3" {
		t.Errorf("superseded = %v", sup)
	}
	recs, err := ReadAudit(e.Cfg.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Action == "superseded" && strings.Contains(r.Detail, "2.4.1 to 2.4.2") {
			found = true
		}
	}
	if !found {
		t.Errorf("audit log has no superseded record: %+v", recs)
	}
}

func TestScriptsForRole(t *testing.T) {
	scripts := []repo.FileEntry{
		{Path: "10-stop.sh"}, {Path: "20-db-shared.sql"}, {Path: "30-cache-local.sh"},
		{Path: "40-notify-final.sh"}, {Path: "50-local"}, {Path: "60-x-local.d.sh"},
	}
	tests := []struct {
		role string
		want string
	}{
		{RoleSingle, "10-stop.sh 20-db-shared.sql 30-cache-local.sh 40-notify-final.sh 50-local 60-x-local.d.sh"},
		{RolePrimary, "10-stop.sh 20-db-shared.sql 40-notify-final.sh 50-local"},
		{RoleSecondary, "10-stop.sh 30-cache-local.sh 50-local 60-x-local.d.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			var got []string
			for _, s := range ScriptsForRole(scripts, tt.role) {
				got = append(got, s.Path)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("ScriptsForRole(%s) = %v, want %s", tt.role, got, tt.want)
			}
		})
	}
}

// TestInstallRunsScriptsForRole: the sample's *-local.* script runs on a
// secondary and not on a primary, with the documented environment.
func TestInstallRunsScriptsForRole(t *testing.T) {
	t.Parallel()
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	for _, tt := range []struct {
		role string
		runs bool
	}{{RolePrimary, false}, {RoleSecondary, true}} {
		e := newEnv(t, envOptions{Repo: r, Edit: func(s string) string {
			return strings.Replace(s, `role = "single"`, `role = "`+tt.role+`"`, 1)
		}})
		res, err := e.client(t).Install(context.Background(), InstallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		log, _ := os.ReadFile(res.Logs[1])
		ran := strings.Contains(string(log), "cache cleared on")
		if ran != tt.runs {
			t.Errorf("role %s: local script ran = %v, want %v\n%s", tt.role, ran, tt.runs, log)
		}
		if tt.runs && !strings.Contains(string(log), "for acme 2.4.1.2 (secondary)") {
			t.Errorf("script environment not set:\n%s", log)
		}
	}
}
