package rpm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
)

// packSampleRPMs packs the demo fixes as signed RPMs into dir/rpms and
// returns their paths in chain order.
func packSampleRPMs(t testing.TB, dir string) []string {
	t.Helper()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, v := range demo.FixVersions {
		p, _, err := Pack(context.Background(), filepath.Join(dir, "fixes", v), filepath.Join(dir, "rpms"),
			PackOptions{Epoch: testEpoch, Signer: vendorSigner(t)})
		if err != nil {
			t.Fatalf("pack rpm %s: %v", v, err)
		}
		paths = append(paths, p)
	}
	return paths
}

func runTool(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func TestNames(t *testing.T) {
	v := repo.MustParseVersion("6.14.2.3")
	if got := Name("shop", v); got != "shop-hotfix-6_14_2_3" {
		t.Errorf("Name = %q", got)
	}
	if got := FileName("shop", v); got != "shop-hotfix-6_14_2_3-1-0.noarch.rpm" {
		t.Errorf("FileName = %q", got)
	}
}

func TestPackReadByRPM(t *testing.T) {
	dir := t.TempDir()
	rpms := packSampleRPMs(t, dir)
	if got, want := filepath.Base(rpms[2]), "acme-hotfix-2_4_1_3-1-0.noarch.rpm"; got != want {
		t.Fatalf("file name %s, want %s", got, want)
	}

	info := runTool(t, "rpm", "-qip", rpms[2])
	for _, want := range []string{"Name        : acme-hotfix-2_4_1_3", "Version     : 1", "Release     : 0", "Architecture: noarch",
		"Summary     : Checkout survives a failed payment provider call"} {
		if !strings.Contains(info, want) {
			t.Errorf("rpm -qip lacks %q:\n%s", want, info)
		}
	}
	provides := runTool(t, "rpm", "-qp", "--provides", rpms[2])
	if !strings.Contains(provides, "acme-hotfix = 2.4.1.3") {
		t.Errorf("provides:\n%s", provides)
	}
	requires := runTool(t, "rpm", "-qp", "--requires", rpms[2])
	if !strings.Contains(requires, "acme-hotfix-2_4_1_2\n") {
		t.Errorf("requires of .3:\n%s", requires)
	}
	if req1 := runTool(t, "rpm", "-qp", "--requires", rpms[0]); strings.Contains(req1, "acme-hotfix") {
		t.Errorf(".1 must require no other fix:\n%s", req1)
	}
	list := runTool(t, "rpm", "-qlp", rpms[2])
	for _, want := range []string{
		"/var/lib/hotfix/incoming/acme/2.4.1.3/manifest.json",
		"/var/lib/hotfix/incoming/acme/2.4.1.3/files/app/checkout.php",
		"/var/lib/hotfix/incoming/acme/2.4.1.3/files/app",
		"/var/lib/hotfix/incoming/acme/2.4.1.3/scripts/20-record-shared.sh",
	} {
		if !strings.Contains(list, want+"\n") {
			t.Errorf("rpm -qlp lacks %s:\n%s", want, list)
		}
	}
	scripts := runTool(t, "rpm", "-qp", "--scripts", rpms[2])
	if !strings.Contains(scripts, `exec hotfix install --from "$dir"`) || !strings.Contains(scripts, "HOTFIX_NO_INSTALL") {
		t.Errorf("%%post:\n%s", scripts)
	}
	changelog := runTool(t, "rpm", "-qp", "--changelog", rpms[2])
	if !strings.Contains(changelog, "- ACME-130: Blank checkout page on payment provider timeout") {
		t.Errorf("changelog:\n%s", changelog)
	}

	// rpm -K passes once the public key is imported into a private database.
	db := filepath.Join(dir, "rpmdb")
	runTool(t, "rpm", "--dbpath", db, "--import", vendorPublic)
	for _, p := range rpms {
		out := runTool(t, "rpm", "--dbpath", db, "-K", p)
		if !strings.Contains(out, "digests signatures OK") {
			t.Errorf("rpm -K %s: %s", p, out)
		}
	}
	// Without the key, rpm -K must not call it OK.
	empty := filepath.Join(dir, "emptydb")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("rpm", "--dbpath", empty, "-K", rpms[0]).CombinedOutput()
	if strings.Contains(string(out), "signatures OK") {
		t.Errorf("rpm -K without the key: %s", out)
	}
}

func TestPackDeterministic(t *testing.T) {
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "fixes", demo.FixVersions[1])
	var sums [2][]byte
	for i := range sums {
		p, _, err := Pack(context.Background(), src, filepath.Join(dir, "out", string(rune('a'+i))), PackOptions{Epoch: testEpoch})
		if err != nil {
			t.Fatal(err)
		}
		if sums[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Error("two packs of the same source differ")
	}
}
