package publish

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// TestPublishedRepoOnNginx: a repository published into a directory and
// served by the real nginx (own configuration, loopback port) is what
// clients and dnf use: check twice (the second answered 304 against
// nginx's ETags), download, install; dnf installs the RPM chain.
func TestPublishedRepoOnNginx(t *testing.T) {
	repoRoot, _ := rpmRepo(t)
	sampleRoot := filepath.Join(filepath.Dir(repoRoot), "root")
	www := filepath.Join(t.TempDir(), "www")
	d, err := NewDirDestination(www)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := Publish(t.Context(), repoRoot, d, PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	nginx := testkit.StartNginx(t, www)
	c := newClientOf(t, nginx.URL, "acme", sampleRoot)
	for range 2 {
		res, err := c.cl.Check(t.Context())
		if err != nil || len(res.Pending) != 3 {
			t.Fatalf("check against nginx: %v", err)
		}
	}
	log, err := os.ReadFile(nginx.AccessLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `GET /acme/2.4.1/index.json HTTP/1.1" 304`) || !strings.Contains(string(log), `GET /acme/2.4.1/index.json.asc HTTP/1.1" 304`) {
		t.Errorf("the second check was not answered 304 by nginx:\n%s", log)
	}
	got, err := c.cl.Download(t.Context(), nil, nil)
	if err != nil || len(got) != 3 {
		t.Fatalf("download from nginx: %d, %v", len(got), err)
	}
	res, err := c.cl.Install(t.Context(), client.InstallOptions{})
	if err != nil {
		t.Fatalf("install from nginx: %v", err)
	}
	if len(res.Installed) != 3 {
		t.Errorf("installed %+v, want the chain of 3", res.Installed)
	}
	dnfInstallChain(t, nginx.URL+"/acme/2.4.1/")
	if strings.Contains(string(log), ".catalog") {
		t.Error("a dot-file was requested from the published copy")
	}
}

// TestPublishedRepoOnS3: the same repository published to moto and read
// over plain HTTP as a CDN would: the client installs the chain, dnf
// installs the RPMs with gpgcheck and repo_gpgcheck.
func TestPublishedRepoOnS3(t *testing.T) {
	repoRoot, _ := rpmRepo(t)
	sampleRoot := filepath.Join(filepath.Dir(repoRoot), "root")
	moto, d := motoDest(t, "cdn", "acme-fixes")
	if _, err := Publish(t.Context(), repoRoot, d, PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	url := moto.URL + "/cdn/acme-fixes"
	c := newClientOf(t, url, "acme", sampleRoot)
	res, err := c.cl.Install(t.Context(), client.InstallOptions{})
	if err != nil || len(res.Installed) != 3 {
		t.Fatalf("install from the bucket: %+v, %v", res, err)
	}
	dnfInstallChain(t, url+"/acme/2.4.1/")
}
