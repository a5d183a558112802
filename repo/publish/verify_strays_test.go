package publish

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// Files beside an index that it does not list, in a vendor channel and a
// customer channel: the one stray check both share reports unlisted
// archives, passes over work in progress and other files, and in a
// customer channel only keeps older versions of a listed id.
func TestVerifyStrays(t *testing.T) {
	root := t.TempDir()
	archives := append(packSample(t), packCustom(t, "IS-1", "1", map[string]string{"app/cart.php": "a\n"}, ""))
	if _, err := Add(t.Context(), root, archives, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	buildAndVerify(t, root)
	check := keyringCheck(t, vendorPublic, time.Now().Add(time.Minute))
	const channel = "acme/2.4.1"
	for _, tt := range []struct {
		dir, name string
		reported  bool
	}{
		{channel, "acme-2.4.1.0.fix", true},
		{channel, "stray.rpm", true},
		{channel, ".acme-2.4.1.9.fix", false}, // work in progress
		{channel, "NOTES.txt", false},
		{shopA, "acme-custom-IS-1-0.fix", false}, // replaced by IS-1 1
		{shopA, "acme-custom-IS-1-2.fix", true},  // newer than listed: not a replaced one
		{shopA, "acme-custom-IS-9-0.fix", true},  // an id the index does not list
		{shopA, "stray.rpm", true},
		{shopA, ".wip.fix", false},
		{shopA, "NOTES.txt", false},
	} {
		t.Run(tt.dir+"/"+tt.name, func(t *testing.T) {
			path := filepath.Join(root, tt.dir, tt.name)
			testkit.WriteFile(t, filepath.Join(root, tt.dir), tt.name, "not an archive", 0o644)
			defer os.Remove(path)
			problems, err := VerifyRepo(t.Context(), root, VerifyOptions{Check: check})
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if tt.reported {
				want = 1
			}
			if len(problems) != want {
				t.Fatalf("want %d problems, got %v", want, problems)
			}
			if want == 1 && (problems[0].Path != tt.dir+"/"+tt.name || problems[0].Err.Error() != `not in the index: run "hotfix repo build"`) {
				t.Fatalf("problem: %v", problems[0])
			}
		})
	}
}
