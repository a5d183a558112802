package site

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"runtime"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"golang.org/x/sync/errgroup"
)

const pageStyle = `
:root{--fg:#1d2433;--muted:#5b6475;--line:#e3e7ee;--accent:#0b5fff;--bg:#f7f9fc}
*{box-sizing:border-box}body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:960px;margin:0 auto;padding:2.5rem 1.25rem 4rem}
h1{font-size:1.9rem;margin:0 0 .25rem}h2{font-size:1.25rem;margin:0}
.sub{color:var(--muted);margin:0 0 2rem}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.fix{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1.25rem 1.5rem;margin:0 0 1rem;box-shadow:0 1px 2px rgba(0,0,0,.03)}
.fix header{display:flex;justify-content:space-between;align-items:baseline;gap:1rem;flex-wrap:wrap}
.ver{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef3ff;color:#0b3fa8;border-radius:6px;padding:.1rem .5rem;font-size:.95rem}
.meta{color:var(--muted);font-size:.85rem}
.desc{white-space:pre-wrap;margin:.5rem 0}
ul.bugs{list-style:none;padding:0;margin:.75rem 0 0}
ul.bugs li{padding:.4rem 0;border-top:1px solid var(--line)}
.bugid{font-family:ui-monospace,monospace;font-weight:600;margin-right:.5rem}
code{font-family:ui-monospace,monospace;font-size:.8rem;color:var(--muted);word-break:break-all}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:.6rem .9rem;border-bottom:1px solid var(--line)}th{background:#f0f3f8;font-weight:600}
footer{margin-top:2rem;color:var(--muted);font-size:.85rem}
`

var channelPage = template.Must(template.New("channel").Funcs(template.FuncMap{
	"size": humanSize, "date": fmtDate,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Index.Product}} {{.Index.Base}} — hotfixes</title><style>{{.Style}}</style></head>
<body><main>
<p class="meta"><a href="../../">All products</a></p>
<h1>{{.Index.Product}} {{.Index.Base}}</h1>
<p class="sub">{{len .Index.Fixes}} fix{{if ne (len .Index.Fixes) 1}}es{{end}}{{if .Latest}}, latest {{.Latest}}{{end}}. Each fix requires the one before it; install them in order with <code>hotfix install</code>.</p>
{{range .Sections}}{{.}}{{else}}<p>No fixes published for this version yet.</p>
{{end}}
<footer>Index serial {{.Index.Serial}}, generated {{date .Index.Generated}}, valid until {{date .Index.Expires}}. Signed metadata: <a href="index.json">index.json</a> (<a href="index.json.asc">signature</a>).</footer>
</main></body></html>
`))

// fixSectionSource is one fix's section of the channel page. Sections are
// rendered once per fix and kept by the caller (see ChannelPage), so
// adding a fix to thousands renders one.
const fixSectionSource = `<section class="fix" id="{{.Version}}">
<header><h2><span class="ver">{{.Version}}</span> {{.Summary}}</h2><span class="meta">requires {{.Requires}}</span></header>
{{if .Description}}<p class="desc">{{.Description}}</p>{{end}}
{{if .Bugs}}<ul class="bugs">{{range .Bugs}}<li><span class="bugid">{{.ID}}</span>{{.Summary}}{{if .Description}}<div class="meta">{{.Description}}</div>{{end}}</li>{{end}}</ul>{{end}}
<p class="meta"><a href="{{.File}}">{{.File}}</a> · {{size .Size}} · sha256 <code>{{.SHA256}}</code></p>
</section>
`

var fixSection = template.Must(template.New("fix").Funcs(template.FuncMap{"size": humanSize}).Parse(fixSectionSource))

// TemplateID identifies the template of a fix's section: a caller that
// keeps sections between builds renders again those rendered by another
// version of it.
var TemplateID = func() string {
	sum := sha256.Sum256([]byte(fixSectionSource))
	return hex.EncodeToString(sum[:8])
}()

var repoPage = template.Must(template.New("repo").Funcs(template.FuncMap{"date": fmtDate}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Hotfix repository</title><style>{{.Style}}</style></head>
<body><main>
<h1>Hotfix repository</h1>
<p class="sub">Urgent fixes per product version, each chained to the one before and signed.</p>
{{if .Repo.Products}}<table><thead><tr><th>Product</th><th>Version</th><th>Fixes</th><th>Latest fix</th></tr></thead><tbody>
{{range $p := .Repo.Products}}{{range $p.Channels}}<tr><td>{{$p.Name}}</td><td><a href="{{$p.Name}}/{{.Base}}/">{{.Base}}</a></td><td>{{.Fixes}}</td><td>{{if .Latest}}{{.Latest}}{{else}}—{{end}}</td></tr>
{{end}}{{end}}</tbody></table>
{{else}}<p>No products published yet.</p>{{end}}
<footer>Generated {{date .Repo.Generated}}. Signing key <code>{{.Fingerprint}}</code>: <a href="keys/{{.Fingerprint}}.asc">public key</a>. Metadata: <a href="repo.json">repo.json</a> (<a href="repo.json.asc">signature</a>).</footer>
</main></body></html>
`))

type pageFix struct {
	repo.IndexFix
	Description string
	Bugs        []repo.Bug
}

// ChannelPage renders a channel's index.html. details gives, by version,
// what the index leaves out of a fix (its description and bug details);
// sections holds rendered fix sections by the sha256 of the fix's file:
// a fix found there is not rendered again (a published fix never
// changes), and the sections rendered now are added to it.
func ChannelPage(ctx context.Context, ix *repo.Index, details map[string]*repo.Archive, sections map[string][]byte) ([]byte, error) {
	data := struct {
		Index    *repo.Index
		Sections []template.HTML
		Latest   string
		Style    template.CSS
	}{Index: ix, Style: template.CSS(pageStyle)}
	// Newest first: people come for the latest fix.
	data.Sections = make([]template.HTML, len(ix.Fixes))
	rendered := make([][]byte, len(ix.Fixes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for k := range ix.Fixes {
		f := &ix.Fixes[len(ix.Fixes)-1-k]
		if page, ok := sections[f.SHA256]; ok {
			data.Sections[k] = template.HTML(page)
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			pf := pageFix{IndexFix: *f}
			if d := details[f.Version.String()]; d != nil {
				pf.Description, pf.Bugs = strings.TrimSpace(d.Description), d.Bugs
			}
			var b bytes.Buffer
			if err := fixSection.Execute(&b, pf); err != nil {
				return fmt.Errorf("render page for %s %s: %w", ix.Product, pf.Version, err)
			}
			rendered[k] = b.Bytes()
			data.Sections[k] = template.HTML(b.String())
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
	b.Grow(len(pageStyle) + 1024*len(ix.Fixes))
	if err := channelPage.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render page for %s %s: %w", ix.Product, ix.Base, err)
	}
	return b.Bytes(), nil
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
