package site

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/mmcdole/gofeed"
)

// TestChannelFeed: the feed is Atom a real feed parser reads, newest fix
// first, each entry with its signed published time, a link to its
// section, a permanent id, and its severity as a category.
func TestChannelFeed(t *testing.T) {
	ix, details := sampleChannel()
	data, err := ChannelFeed(ix, details)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "feed.xml", data)
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("gofeed: %v", err)
	}
	if feed.FeedType != "atom" || feed.Title != "acme 2.4.1 hotfixes" || len(feed.Items) != 2 {
		t.Fatalf("feed %s %q with %d items", feed.FeedType, feed.Title, len(feed.Items))
	}
	newest := feed.Items[0]
	if !strings.HasPrefix(newest.Title, "acme 2.4.1.2: ") || newest.Link != "index.html#2.4.1.2" ||
		newest.GUID != "urn:sha256:"+ix.Fixes[1].SHA256 || newest.PublishedParsed == nil ||
		!newest.PublishedParsed.Equal(ix.Fixes[1].Published) || len(newest.Categories) != 1 || newest.Categories[0] != "security" {
		t.Errorf("newest entry: %+v", newest)
	}
	if !strings.Contains(newest.Description, "hotfix install 2.4.1.2") || !strings.Contains(newest.Description, "ACME-117: XSS in <review>") {
		t.Errorf("newest entry's summary: %q", newest.Description)
	}
	if feed.UpdatedParsed == nil || !feed.UpdatedParsed.Equal(ix.Fixes[1].Published) {
		t.Errorf("feed updated %v, want the newest fix's %v", feed.UpdatedParsed, ix.Fixes[1].Published)
	}
}

// A channel of many fixes keeps the 50 newest in its feed, and an empty
// channel's feed is still a valid feed.
func TestChannelFeedBounds(t *testing.T) {
	for _, n := range []int{0, 120} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ix := manyFixes(n)
			data, err := ChannelFeed(ix, nil)
			if err != nil {
				t.Fatal(err)
			}
			feed, err := gofeed.NewParser().Parse(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("gofeed: %v", err)
			}
			want := min(n, feedEntries)
			if len(feed.Items) != want {
				t.Fatalf("%d entries, want %d", len(feed.Items), want)
			}
			if n > 0 && !strings.HasPrefix(feed.Items[0].Title, fmt.Sprintf("acme 2.4.1.%d:", n)) {
				t.Errorf("first entry %q, want the newest fix", feed.Items[0].Title)
			}
		})
	}
}

// manyFixes is a channel of n fixes, one a day, every fifth a security
// fix with a long summary.
func manyFixes(n int) *repo.Index {
	base := repo.MustParseVersion("2.4.1")
	ix := &repo.Index{Format: repo.IndexFormat, Product: "acme", Base: base, Serial: int64(n + 1), Generated: generated,
		Expires: generated.Add(30 * 24 * time.Hour), Fixes: []repo.IndexFix{}}
	for i := 1; i <= n; i++ {
		a := &repo.Archive{File: fmt.Sprintf("acme-2.4.1.%d.fix", i), Size: int64(i) << 12, SHA256: fmt.Sprintf("%064x", i),
			Product: "acme", Version: base.Fix(i), Summary: fmt.Sprintf("Fix number %d for the checkout and the order export", i),
			Bugs: []repo.Bug{{ID: fmt.Sprintf("ACME-%d", 1000+i), Summary: "A bug"}, {ID: fmt.Sprintf("ACME-%d", 5000+i), Summary: "Another"}}}
		if i%5 == 0 {
			a.Severity = "security"
			a.Summary = "Order data no longer leaks through the legacy export endpoint when a customer's session has expired"
		}
		f := a.IndexFix(nil)
		f.Published = generated.Add(time.Duration(i-n) * 24 * time.Hour)
		ix.Fixes = append(ix.Fixes, f)
	}
	return ix
}
