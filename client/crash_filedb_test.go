package client

// The crash proof for the file database: after every kill and recover,
// the database in state.json must name exactly the owners the model
// gives for the level status reports, and every record must match the
// root (what "hotfix verify" checks).

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hotfix-project/hotfix/internal/beneath"
)

// crashOwners is the model of the file database after the first n crash
// fixes: each file belongs to the newest fix that installed it, unless
// a later one deleted it.
func crashOwners(t testing.TB, dir string, n int) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k := 1; k <= n; k++ {
		v := crashVersions[k-1]
		deleted := crashFixSource(t, filepath.Join(dir, "fixes", v), func(rel, _ string, _ fs.FileInfo) { out[rel] = v })
		for _, d := range deleted {
			delete(out, d)
		}
	}
	return out
}

// checkFileDB asserts the trial's file database against the model of
// level n and against the root.
func (tr *crashTrial) checkFileDB(t testing.TB, what string, n int) {
	t.Helper()
	st, err := LoadState(filepath.Join(tr.dir, "state"))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	want := tr.env.owners[n]
	if st.DB == nil {
		if n == 0 && len(st.Installed) == 0 {
			return // never installed: no database yet
		}
		t.Fatalf("%s: state.json lists %d fixes and no file database", what, n)
	}
	r, err := beneath.Open(tr.root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var bad []string
	for p, rec := range st.DB.Files {
		if want[p] != rec.Fix {
			bad = append(bad, fmt.Sprintf("%s owned by %q, want %q", p, rec.Fix, want[p]))
		} else if prob, differs := verifyFile(r, p, rec); differs {
			bad = append(bad, fmt.Sprintf("%s differs from its record: %+v", p, prob))
		}
	}
	for p, v := range want {
		if _, ok := st.DB.Files[p]; !ok {
			bad = append(bad, fmt.Sprintf("%s (of %s) has no record", p, v))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		if len(bad) > 12 {
			bad = append(bad[:12], fmt.Sprintf("... and %d more", len(bad)-12))
		}
		t.Fatalf("%s: the file database at level %d is wrong:\n  %v", what, n, bad)
	}
}
