package site

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// FeedName is the channel's Atom feed, beside its index.html.
const FeedName = "feed.xml"

// feedEntries bounds the feed: readers only look at what is new, and a
// channel of thousands of fixes should not make every poll download all.
const feedEntries = 50

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      string         `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published,omitempty"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Summary    atomText       `xml:"summary"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

// ChannelFeed renders the channel's Atom feed (RFC 4287): one entry per
// fix, newest first, at most the 50 newest. Links are relative to the
// feed, which readers resolve against the address they fetched it from;
// ids are the archives' sha256 as urn:sha256 URNs, which never change. A
// fix's time is its signed published time (the index's generation time
// for an index from before that field).
func ChannelFeed(ix *repo.Index, details map[string]*repo.Archive) ([]byte, error) {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			t = ix.Generated
		}
		return t.UTC().Format(time.RFC3339)
	}
	feed := atomFeed{
		ID:     fmt.Sprintf("urn:hotfix:%s:%s", ix.Product, ix.Base),
		Title:  fmt.Sprintf("%s %s hotfixes", ix.Product, ix.Base),
		Author: atomAuthor{Name: ix.Product + " vendor"},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: FeedName},
			{Rel: "alternate", Type: "text/html", Href: "index.html"},
		},
		Updated: stamp(ix.Generated),
	}
	if n := len(ix.Fixes); n > 0 {
		feed.Updated = stamp(ix.Fixes[n-1].Published)
	}
	for k := len(ix.Fixes) - 1; k >= 0 && len(feed.Entries) < feedEntries; k-- {
		f := ix.Fixes[k]
		var text strings.Builder
		fmt.Fprintf(&text, "%s (requires %s).", f.Summary, f.Requires)
		for _, b := range f.Bugs {
			fmt.Fprintf(&text, "\n%s: %s", b.ID, b.Summary)
		}
		if d := details[f.Version.String()]; d != nil && strings.TrimSpace(d.Description) != "" {
			fmt.Fprintf(&text, "\n\n%s", strings.TrimSpace(d.Description))
		}
		fmt.Fprintf(&text, "\n\nInstall: hotfix install %s", f.Version)
		e := atomEntry{
			ID:        "urn:sha256:" + f.SHA256,
			Title:     fmt.Sprintf("%s %s: %s", ix.Product, f.Version, f.Summary),
			Updated:   stamp(f.Published),
			Published: stamp(f.Published),
			Links:     []atomLink{{Rel: "alternate", Type: "text/html", Href: "index.html#" + f.Version.String()}},
			Summary:   atomText{Type: "text", Text: text.String()},
		}
		if f.Severity != "" {
			e.Categories = append(e.Categories, atomCategory{Term: f.Severity})
		}
		feed.Entries = append(feed.Entries, e)
	}
	out, err := xml.MarshalIndent(feed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render feed for %s %s: %w", ix.Product, ix.Base, err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
