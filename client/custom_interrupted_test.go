package client

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/client/txn"
	"github.com/hotfix-project/hotfix/repo"
)

// TestInterruptedCustomerUninstallIsSeen: an uninstall of a customer fix
// killed after its rollback journal was written (the handover of the
// files a forced vendor fix overrode included) is what status names,
// and what the dry runs refuse on, changing nothing; the next rollback
// finishes it first, so rolling the vendor fix back gives the vendor
// chain's tree.
func TestInterruptedCustomerUninstallIsSeen(t *testing.T) {
	t.Parallel()
	for _, handed := range []bool{false, true} {
		t.Run(map[bool]string{false: "killed before the handover", true: "killed after the handover"}[handed], func(t *testing.T) {
			t.Parallel()
			r, e := customOverEnv(t)
			if _, err := e.client(t).Install(t.Context(), InstallOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
			// The uninstall's first durable step, as uninstallCustom
			// takes it, then the kill.
			c := e.client(t)
			tx, err := c.customStore("IS-1").BeginRollback(repo.MustParseVersion("1"), txn.HandOver{Path: "app/checkout.php", To: repo.MustParseVersion("2.4.1.3")})
			if err != nil {
				t.Fatal(err)
			}
			if handed {
				// Finish with a forget that fails: the handover and the
				// restore are done, the state still lists IS-1.
				if err := tx.Finish(t.Context(), func(repo.Version) error { return errKilled }); err != errKilled {
					t.Fatalf("finish: %v", err)
				}
			}
			before := snapshot(t, e.Root, "var")
			out := e.hotfix(t, "status", "--json")
			var st struct {
				Interrupted *StatusInterrupted `json:"interrupted"`
			}
			if err := json.Unmarshal([]byte(out.Stdout), &st); err != nil || st.Interrupted == nil {
				t.Fatalf("status --json: %v\n%s%s", err, out.Stdout, out.Stderr)
			}
			if in := st.Interrupted; in.Custom != "IS-1" || in.Version != "1" || in.Step != "rollback" || in.Recover == "" {
				t.Fatalf("status names %+v", in)
			}
			if out := e.hotfix(t, "status"); !strings.Contains(out.Stdout, "the transaction of customer fix IS-1 1 was interrupted") ||
				!strings.Contains(out.Stdout, filepath.Join(e.Cfg.StateDir, customStoreDir, "IS-1", "txn")) {
				t.Fatalf("status:\n%s", out.Stdout)
			}
			for _, args := range [][]string{{"rollback", "--dry-run"}, {"install", "--dry-run"}} {
				out := e.hotfix(t, args...)
				if out.Code == 0 || !strings.Contains(out.Stderr, "the transaction of customer fix IS-1 1") || !strings.Contains(out.Stderr, "hotfix recover") {
					t.Fatalf("%v: exit %d\n%s%s", args, out.Code, out.Stdout, out.Stderr)
				}
				assertTree(t, before, e.Root, "var")
			}
			// The rollback finishes the uninstall first.
			if out := e.hotfix(t, "rollback", "--yes"); out.Code != 0 {
				t.Fatalf("rollback: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
			}
			assertTree(t, vendorTree(t, r, "2.4.1.2"), e.Root, "var")
			assertDB(t, e, "after the rollback", sampleOwners(2))
			if st, _ := e.client(t).Status(); len(st.Custom) != 0 || st.Interrupted != nil {
				t.Fatalf("after the rollback: custom %+v, interrupted %+v", st.Custom, st.Interrupted)
			}
		})
	}
}

var errKilled = errorString("killed")

type errorString string

func (e errorString) Error() string { return string(e) }
