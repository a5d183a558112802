package site

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

var generated = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// sampleChannel is a channel of two fixes, the second with an RPM and
// text that needs escaping, as a build hands it over.
func sampleChannel() (*repo.Index, map[string]*repo.Archive) {
	base := repo.MustParseVersion("2.4.1")
	a1 := &repo.Archive{File: "acme-2.4.1.1.fix", Size: 1536, SHA256: strings.Repeat("1a", 32), Product: "acme", Version: base.Fix(1),
		Summary: "Checkout no longer times out", Description: "Raises the payment timeout.\n",
		Bugs:  []repo.Bug{{ID: "ACME-101", Summary: "Checkout times out", Description: "Seen under load."}},
		Files: []string{"app/checkout.php"}}
	a2 := &repo.Archive{File: "acme-2.4.1.2.fix", Size: 3 << 20, SHA256: strings.Repeat("2b", 32), Product: "acme", Version: base.Fix(2),
		Summary: "Escape <script> & \"quotes\" in reviews", Severity: "security",
		Bugs:  []repo.Bug{{ID: "ACME-117", Summary: "XSS in <review>"}, {ID: "ACME-118", Summary: "Quotes & ampersands"}},
		Files: []string{"app/review.php", "lib/escape.php"}, Deleted: []string{"app/legacy.php"}, Scripts: []string{"20-clear-cache.sh"}}
	rpm := &repo.Archive{File: "acme-hotfix-2_4_1_2-1-0.noarch.rpm", Size: 4096, SHA256: strings.Repeat("3c", 32)}
	ix := &repo.Index{Format: repo.IndexFormat, Product: "acme", Base: base, Serial: 7, Generated: generated,
		Expires: generated.Add(30 * 24 * time.Hour), Fixes: []repo.IndexFix{a1.IndexFix(nil), a2.IndexFix(rpm)}}
	ix.Fixes[0].Published = generated.Add(-48 * time.Hour)
	ix.Fixes[1].Published = generated
	return ix, map[string]*repo.Archive{a1.Version.String(): a1, a2.Version.String(): a2}
}

var sampleOptions = Options{BugURL: "https://bugs.example.com/browse/{id}", Fingerprint: "0123456789ABCDEF0123456789ABCDEF01234567"}

func TestChannelPage(t *testing.T) {
	ix, details := sampleChannel()
	sections := map[string][]byte{}
	page, err := ChannelPage(t.Context(), ix, details, sections, sampleOptions)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "channel.html", page)
	if len(sections) != 2 || sections[ix.Fixes[1].SHA256] == nil {
		t.Fatalf("sections kept: %d", len(sections))
	}
	// Kept sections are used as they are: without details, the page is
	// the same.
	again, err := ChannelPage(t.Context(), ix, nil, sections, sampleOptions)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, page) {
		t.Error("the page made from kept sections differs")
	}
	// A kept section is not rendered again, whatever it holds.
	sections[ix.Fixes[0].SHA256] = []byte("<section>kept</section>\n")
	kept, err := ChannelPage(t.Context(), ix, details, sections, sampleOptions)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(kept, []byte("<section>kept</section>")) {
		t.Error("a kept section was rendered again")
	}
}

func TestChannelPageEmpty(t *testing.T) {
	ix, _ := sampleChannel()
	ix.Fixes = []repo.IndexFix{}
	page, err := ChannelPage(t.Context(), ix, nil, map[string][]byte{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "channel-empty.html", page)
}

func TestRootPage(t *testing.T) {
	latest := repo.MustParseVersion("2.4.1.2")
	ri := &repo.RootIndex{Format: repo.IndexFormat, Generated: generated, Expires: generated.Add(30 * 24 * time.Hour),
		Products: []repo.Product{
			{Name: "acme", Channels: []repo.ChannelSummary{
				{Base: repo.MustParseVersion("2.4.1"), Serial: 7, Latest: &latest, Fixes: 2},
				{Base: repo.MustParseVersion("2.5.0"), Serial: 1, Fixes: 0},
			}},
			{Name: "shop<x>", Channels: []repo.ChannelSummary{{Base: repo.MustParseVersion("6.14"), Serial: 1}}},
		}}
	page, err := RootPage(ri, "0123456789ABCDEF0123456789ABCDEF01234567")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "repo.html", page)
	empty, err := RootPage(&repo.RootIndex{Format: repo.IndexFormat, Generated: generated, Products: []repo.Product{}}, "0123")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "repo-empty.html", empty)
}
