package site

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"golang.org/x/sync/errgroup"
)

// Options is what the pages show beyond the indexes: how bug ids link to
// the vendor's tracker, and the key that signs the indexes.
type Options struct {
	// BugURL turns a bug id into a link: "{id}" is replaced by the
	// (path-escaped) id, e.g. "https://bugs.example.com/browse/{id}".
	// Empty: ids stay plain text.
	BugURL string
	// Fingerprint is the signing key's, shown with a link to
	// keys/FINGERPRINT.asc on every page.
	Fingerprint string
}

// BugLink is the link for a bug id under the template, "" without one.
func (o Options) BugLink(id string) string {
	if o.BugURL == "" {
		return ""
	}
	return strings.ReplaceAll(o.BugURL, "{id}", url.PathEscape(id))
}

// pageStyle keeps every page inside a 390 px phone screen: tables and
// long hashes scroll in their own box, commands never break inside a
// word, and everything else wraps.
const pageStyle = `
:root{--fg:#1d2433;--muted:#5b6475;--line:#e3e7ee;--accent:#0b5fff;--bg:#f7f9fc}
*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);overflow-wrap:break-word}
main{max-width:960px;margin:0 auto;padding:2rem 1rem 4rem}
h1{font-size:1.8rem;margin:0 0 .25rem;line-height:1.25}h2{font-size:1.2rem;margin:0;line-height:1.35}h3{font-size:1rem;margin:1rem 0 .25rem}
.sub{color:var(--muted);margin:0 0 1.5rem}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.fix{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1.1rem 1.25rem;margin:0 0 1rem;box-shadow:0 1px 2px rgba(0,0,0,.03)}
.fix header{display:flex;justify-content:space-between;align-items:baseline;gap:.25rem 1rem;flex-wrap:wrap}
.ver{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef3ff;color:#0b3fa8;border-radius:6px;padding:.1rem .5rem;font-size:.95rem;white-space:nowrap}
.sev{display:inline-block;border-radius:999px;padding:0 .55rem;font-size:.75rem;font-weight:700;text-transform:uppercase;letter-spacing:.03em;vertical-align:.1em;white-space:nowrap}
.sev-security{background:#fde2e1;color:#a10f0b}.sev-critical{background:#fff0d6;color:#8a4b00}.sev-normal{background:#eef1f5;color:#4a5263}
.meta{color:var(--muted);font-size:.85rem}
.desc{white-space:pre-wrap;margin:.5rem 0}
ul.bugs{list-style:none;padding:0;margin:.75rem 0 0}
ul.bugs li{padding:.4rem 0;border-top:1px solid var(--line)}
.bugid{font-family:ui-monospace,monospace;font-weight:600;margin-right:.5rem;white-space:nowrap}
ul.paths{margin:.25rem 0;padding-left:1.25rem;font-family:ui-monospace,monospace;font-size:.85rem}
code{font-family:ui-monospace,monospace;font-size:.85rem}
.cmd{display:block;background:#0f172a;color:#e2e8f0;border-radius:6px;padding:.5rem .75rem;margin:.5rem 0;white-space:pre;overflow-x:auto}
.hash{color:var(--muted);word-break:break-all;font-size:.8rem}
.scroll{overflow-x:auto;margin:0 0 1.5rem}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;padding:.5rem .75rem;border-bottom:1px solid var(--line);vertical-align:top}th{background:#f0f3f8;font-weight:600;white-space:nowrap}
td.nowrap,a.ver-link,a.bug{white-space:nowrap}
table.overview td{font-size:.9rem}
footer{margin-top:2rem;color:var(--muted);font-size:.85rem}
`

var funcs = template.FuncMap{"size": humanSize, "date": fmtDate, "day": fmtDay, "plural": plural}

var channelPage = template.Must(template.New("channel").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Index.Product}} {{.Index.Base}} — hotfixes</title><style>{{.Style}}</style>
<link rel="alternate" type="application/atom+xml" title="{{.Index.Product}} {{.Index.Base}} hotfixes" href="feed.xml"></head>
<body><main>
<p class="meta"><a href="../../">All products</a></p>
<h1>{{.Index.Product}} {{.Index.Base}}</h1>
{{if .Rows}}<p class="sub">{{plural (len .Rows) "fix" "fixes"}}, latest {{.Latest}}. Each fix requires the one before it: <code>hotfix install</code> installs every pending fix in order. New fixes: <a href="feed.xml">Atom feed</a>.</p>
<div class="scroll"><table class="overview"><thead><tr><th>Version</th><th>Published</th><th>Bugs fixed</th></tr></thead><tbody>
{{range .Rows}}<tr><td><a class="ver-link" href="#{{.Version}}">{{.Version}}</a>{{if .Severity}} <span class="sev sev-{{.Severity}}">{{.Severity}}</span>{{end}}</td><td class="nowrap">{{if not .Published.IsZero}}{{day .Published}}{{else}}—{{end}}</td><td>{{range $i, $b := .Bugs}}{{if $i}}, {{end}}<a class="bug" href="#{{$.Index.Product}}-{{$b.ID}}">{{$b.ID}}</a>{{end}}</td></tr>
{{end}}</tbody></table></div>
{{with .Staged}}<table class="rollout"><thead><tr><th>Fix</th><th>Rollout</th></tr></thead><tbody>
{{range .}}<tr><td><a href="#{{.Version}}">{{.Version}}</a></td><td>{{.Stage}}</td></tr>
{{end}}</tbody></table>
<p class="meta">Fixes not listed here go to every server. A fix held back holds back the fixes after it.</p>
{{end}}{{range .Sections}}{{.}}{{end}}{{else}}<p class="sub">No fixes are published for {{.Index.Product}} {{.Index.Base}} yet.</p>
{{end}}<footer>Index serial {{.Index.Serial}}, generated {{date .Index.Generated}}, valid until {{date .Index.Expires}}. Signed metadata: <a href="index.json">index.json</a> (<a href="index.json.asc">signature</a>){{if .Fingerprint}}, signed by key <code class="hash">{{.Fingerprint}}</code> (<a href="../../keys/{{.Fingerprint}}.asc">public key</a>){{end}}.</footer>
</main></body></html>
`))

// fixSectionSource is one fix's section of the channel page. Sections are
// rendered once per fix and kept by the caller (see ChannelPage), so
// adding a fix to thousands renders one.
const fixSectionSource = `<section class="fix" id="{{.Version}}">
<header><h2><span class="ver">{{.Version}}</span>{{if .Severity}} <span class="sev sev-{{.Severity}}">{{.Severity}}</span>{{end}} {{.Summary}}</h2><span class="meta">{{if not .Published.IsZero}}published {{day .Published}} · {{end}}requires {{.Requires}}</span></header>
{{if .Description}}<p class="desc">{{.Description}}</p>{{end}}
{{if .Bugs}}<ul class="bugs">{{range .Bugs}}<li id="{{$.Product}}-{{.ID}}">{{if .Link}}<a class="bugid" href="{{.Link}}">{{.ID}}</a>{{else}}<span class="bugid">{{.ID}}</span>{{end}}{{.Summary}}{{if .Description}}<div class="meta">{{.Description}}</div>{{end}}</li>{{end}}</ul>{{end}}{{if .Parts}}<h3>Parts</h3><ul class="parts">{{range .Parts}}<li><span class="bugid">{{.Name}}</span> {{if .Mandatory}}mandatory{{else}}optional{{end}}{{if .Summary}}: {{.Summary}}{{end}}</li>{{end}}</ul>{{end}}
{{if .Files}}<h3>Changes {{plural (len .Files) "file" "files"}}</h3><ul class="paths">{{range .Files}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Deleted}}<h3>Deletes {{plural (len .Deleted) "file" "files"}}</h3><ul class="paths">{{range .Deleted}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Scripts}}<h3>Runs {{plural (len .Scripts) "script" "scripts"}}</h3><ul class="paths">{{range .Scripts}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h3>Install</h3><code class="cmd">hotfix install {{.Version}}</code>
<p class="meta">Installs {{.Version}} and any fix before it that is missing. Archive <a href="{{.File}}">{{.File}}</a> · {{size .Size}} · sha256 <code class="hash">{{.SHA256}}</code>{{if .RPM}}<br>RPM <a href="{{.RPM.File}}">{{.RPM.File}}</a> · {{size .RPM.Size}} · sha256 <code class="hash">{{.RPM.SHA256}}</code>{{end}}</p>
</section>
`

var fixSection = template.Must(template.New("fix").Funcs(funcs).Parse(fixSectionSource))

// SectionID identifies how a fix's section is rendered: the template and
// the options it uses. A caller that keeps sections between builds renders
// again those rendered another way.
func SectionID(opts Options) string {
	sum := sha256.Sum256([]byte(fixSectionSource + "\x00" + opts.BugURL))
	return hex.EncodeToString(sum[:8])
}

var repoPage = template.Must(template.New("repo").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Hotfix repository</title><style>{{.Style}}</style></head>
<body><main>
<h1>Hotfix repository</h1>
<p class="sub">Urgent fixes per product version, each chained to the one before and signed.</p>
{{if .Repo.Products}}<div class="scroll"><table><thead><tr><th>Product</th><th>Version</th><th>Fixes</th><th>Latest fix</th></tr></thead><tbody>
{{range $p := .Repo.Products}}{{range $p.Channels}}<tr><td>{{$p.Name}}</td><td class="nowrap"><a href="{{$p.Name}}/{{.Base}}/">{{.Base}}</a></td><td>{{.Fixes}}</td><td class="nowrap">{{if .Latest}}{{.Latest}}{{else}}—{{end}}</td></tr>
{{end}}{{end}}</tbody></table></div>
{{else}}<p>No products published yet.</p>{{end}}
<footer>Generated {{date .Repo.Generated}}. Signing key <code class="hash">{{.Fingerprint}}</code>: <a href="keys/{{.Fingerprint}}.asc">public key</a>. Metadata: <a href="repo.json">repo.json</a> (<a href="repo.json.asc">signature</a>).</footer>
</main></body></html>
`))

// pageFix is what one fix's section and overview row show.
type pageFix struct {
	repo.IndexFix
	Product     string
	Description string
	Bugs        []pageBug
	Files       []string
	Deleted     []string
	Scripts     []string
}

type pageBug struct {
	repo.Bug
	Link string
}

// ChannelPage renders a channel's index.html. details gives, by version,
// what the index leaves out of a fix (its description, bug details and
// paths); sections holds rendered fix sections by the sha256 of the fix's
// file: a fix found there is not rendered again (a published fix never
// changes; the caller drops them when SectionID changes), and the
// sections rendered now are added to it.
func ChannelPage(ctx context.Context, ix *repo.Index, details map[string]*repo.Archive, sections map[string][]byte, opts Options) ([]byte, error) {
	data := struct {
		Index       *repo.Index
		Rows        []repo.IndexFix // the overview, from the index alone: right whether a section was kept or rendered
		Sections    []template.HTML
		Latest      string
		Fingerprint string
		Style       template.CSS
		Staged      []stagedFix
	}{Index: ix, Fingerprint: opts.Fingerprint, Style: template.CSS(pageStyle), Staged: staged(ix)}
	// Newest first: people come for the latest fix.
	data.Sections = make([]template.HTML, len(ix.Fixes))
	rendered := make([][]byte, len(ix.Fixes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for k := range ix.Fixes {
		f := &ix.Fixes[len(ix.Fixes)-1-k]
		data.Rows = append(data.Rows, *f)
		if page, ok := sections[f.SHA256]; ok {
			data.Sections[k] = template.HTML(page)
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			b, err := renderSection(ix.Product, f, details[f.Version.String()], opts)
			if err != nil {
				return err
			}
			rendered[k] = b
			data.Sections[k] = template.HTML(b)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for k, page := range rendered {
		if page != nil {
			sections[ix.Fixes[len(ix.Fixes)-1-k].SHA256] = page
		}
	}
	if n := len(ix.Fixes); n > 0 {
		data.Latest = ix.Fixes[n-1].Version.String()
	}
	var b bytes.Buffer
	b.Grow(len(pageStyle) + 1536*len(ix.Fixes))
	if err := channelPage.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render page for %s %s: %w", ix.Product, ix.Base, err)
	}
	return b.Bytes(), nil
}

// renderSection renders one fix's section from its index entry and, when
// known, its archive's details.
func renderSection(product string, f *repo.IndexFix, d *repo.Archive, opts Options) ([]byte, error) {
	pf := pageFix{IndexFix: *f, Product: product}
	if d != nil {
		pf.Description = strings.TrimSpace(d.Description)
		pf.Files, pf.Deleted, pf.Scripts = d.Files, d.Deleted, d.Scripts
		if pf.Severity == "" {
			pf.Severity = d.Severity
		}
		for _, b := range d.Bugs {
			pf.Bugs = append(pf.Bugs, pageBug{Bug: b, Link: opts.BugLink(b.ID)})
		}
	} else {
		for _, b := range f.Bugs {
			pf.Bugs = append(pf.Bugs, pageBug{Bug: repo.Bug{ID: b.ID, Summary: b.Summary}, Link: opts.BugLink(b.ID)})
		}
	}
	var b bytes.Buffer
	if err := fixSection.Execute(&b, pf); err != nil {
		return nil, fmt.Errorf("render page for %s %s: %w", product, pf.Version, err)
	}
	return b.Bytes(), nil
}

// stagedFix is a fix whose rollout is not "everyone yet", for the
// channel page's rollout table. It stays outside the fix sections, which
// are kept between builds while a rollout changes.
type stagedFix struct {
	Version repo.Version
	Stage   string
}

func staged(ix *repo.Index) []stagedFix {
	var out []stagedFix
	for _, f := range ix.Fixes {
		if f.Rollout != nil {
			out = append(out, stagedFix{f.Version, f.Rollout.Stage()})
		}
	}
	return out
}

// RootPage renders the repository's top index.html from repo.json and the
// signing key's fingerprint.
func RootPage(ri *repo.RootIndex, fingerprint string) ([]byte, error) {
	var b bytes.Buffer
	err := repoPage.Execute(&b, struct {
		Repo        *repo.RootIndex
		Fingerprint string
		Style       template.CSS
	}{ri, fingerprint, template.CSS(pageStyle)})
	if err != nil {
		return nil, fmt.Errorf("render repository page: %w", err)
	}
	return b.Bytes(), nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func fmtDate(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func fmtDay(t time.Time) string { return t.UTC().Format("2006-01-02") }

// plural says "1 fix" or "3 fixes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
