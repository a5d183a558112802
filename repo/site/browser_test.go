package site

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// widths are the screens the pages must fit: a phone and a laptop.
var widths = []int{390, 1280}

// probe is the harness page: it shows a page in one iframe per width (an
// iframe's width is its page's viewport, which headless Chromium's window
// cannot be made narrower than 500 px to give) and, once everything has
// loaded, writes into its title, per width, how wide the page's content is
// against its viewport and which words the layout broke across lines.
const probe = `<!doctype html><html><head><title>pending</title></head><body style="margin:0">
%s
<script>
function brokenWords(d) {
  const out = [];
  for (const el of d.querySelectorAll('code:not(.hash), .ver, .bugid, .sev, th, h1, a.bug, a.ver-link')) {
    const text = el.firstChild && el.firstChild.nodeType === 3 ? el.firstChild : null;
    if (!text) continue;
    const re = /\S+/g; let m;
    while ((m = re.exec(text.data))) {
      const r = d.createRange(); r.setStart(text, m.index); r.setEnd(text, m.index + m[0].length);
      if (r.getClientRects().length > 1) out.push(m[0]);
    }
  }
  return out;
}
window.addEventListener('load', () => {
  const r = [];
  for (const f of document.querySelectorAll('iframe')) {
    const d = f.contentDocument, e = d.documentElement;
    r.push(f.id + '=' + e.scrollWidth + '/' + e.clientWidth + ' broken[' + brokenWords(d).join(',') + ']');
  }
  document.title = r.join(' ; ');
});
</script></body></html>`

// layoutReport is what the probe found for one page at one width.
type layoutReport struct {
	width, content, viewport int
	broken                   string
}

var reportRE = regexp.MustCompile(`w(\d+)=(\d+)/(\d+) broken\[([^\]]*)\]`)

// measure serves dir over HTTP on 127.0.0.1, loads page in headless
// Chromium at every width and returns what the probe reports. With
// HOTFIX_SCREENSHOTS set to a directory, it also saves a screenshot there
// (kept out of the repository; see scripts/screenshots.sh).
func measure(t *testing.T, dir, page string) []layoutReport {
	t.Helper()
	var frames strings.Builder
	for _, w := range widths {
		fmt.Fprintf(&frames, `<iframe id="w%d" src="%s" style="width:%dpx;height:2400px;border:1px solid #999;vertical-align:top"></iframe>`, w, page, w)
	}
	probeName := "probe-" + strings.ReplaceAll(page, "/", "_")
	if err := os.WriteFile(filepath.Join(dir, probeName), fmt.Appendf(nil, probe, frames.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	url := srv.URL + "/" + probeName
	out := chromium(t, "--window-size=1720,2400", "--virtual-time-budget=5000", "--dump-dom", url)
	m := regexp.MustCompile(`<title>([^<]*)</title>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no title in Chromium's DOM of %s:\n%.2000s", page, out)
	}
	var reports []layoutReport
	for _, r := range reportRE.FindAllStringSubmatch(string(m[1]), -1) {
		var lr layoutReport
		fmt.Sscan(r[1], &lr.width)
		fmt.Sscan(r[2], &lr.content)
		fmt.Sscan(r[3], &lr.viewport)
		lr.broken = r[4]
		reports = append(reports, lr)
	}
	if len(reports) != len(widths) {
		t.Fatalf("probe of %s reported %q", page, m[1])
	}
	if shots := os.Getenv("HOTFIX_SCREENSHOTS"); shots != "" {
		name := strings.TrimSuffix(strings.ReplaceAll(page, "/", "_"), ".html") + ".png"
		chromium(t, "--window-size=1720,2400", "--virtual-time-budget=5000", "--screenshot="+filepath.Join(shots, name), url)
	}
	return reports
}

// chromium runs Debian's headless Chromium with the flags this machine
// kind needs (no sandbox as root, no background connections) and returns
// its standard output.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, "chromium", append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%.2000s", args, err, stderr.String())
	}
	return out
}

// TestPagesFitPhoneAndLaptop renders a channel of 40 fixes (long
// summaries, many bugs, files, scripts, an RPM), an empty channel and a
// repository page of many products in real headless Chromium, at 390 and
// 1280 px, and fails on horizontal overflow or a word broken across lines
// ("hotf / ix install"). A page made too wide on purpose must be caught,
// so that the check is known to work.
func TestPagesFitPhoneAndLaptop(t *testing.T) {
	dir := t.TempDir()
	ix := manyFixes(40)
	details := map[string]*repo.Archive{}
	for i, f := range ix.Fixes {
		details[f.Version.String()] = &repo.Archive{Version: f.Version, Summary: f.Summary, Severity: f.Severity,
			Description: "A longer description of what changed and why, as the vendor wrote it for the fix page.",
			Bugs:        []repo.Bug{{ID: f.Bugs[0].ID, Summary: f.Bugs[0].Summary}, {ID: f.Bugs[1].ID, Summary: f.Bugs[1].Summary}},
			Files:       []string{"app/checkout/payment/provider/timeout_handler_with_a_very_long_name.php", "lib/escape.php"},
			Deleted:     []string{"app/legacy.php"}, Scripts: []string{"20-clear-the-template-cache-on-every-node.sh"}}
		if i%7 == 0 {
			ix.Fixes[i].RPM = &repo.RPMRef{File: fmt.Sprintf("acme-hotfix-2_4_1_%d-1-0.noarch.rpm", i+1), Size: 4096, SHA256: strings.Repeat("3c", 32)}
		}
	}
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page, err := ChannelPage(t.Context(), ix, details, map[string][]byte{}, sampleOptions)
	if err != nil {
		t.Fatal(err)
	}
	write("acme/2.4.1/index.html", page)
	empty, err := ChannelPage(t.Context(), manyFixes(0), nil, map[string][]byte{}, sampleOptions)
	if err != nil {
		t.Fatal(err)
	}
	write("acme/2.5.0/index.html", empty)
	ri := &repo.RootIndex{Format: repo.IndexFormat, Generated: generated, Expires: generated.Add(time.Hour)}
	for i := range 12 {
		latest := repo.MustParseVersion(fmt.Sprintf("6.14.%d.%d", i, 100+i))
		ri.Products = append(ri.Products, repo.Product{Name: fmt.Sprintf("enterprise-resource-planning-%d", i),
			Channels: []repo.ChannelSummary{{Base: repo.MustParseVersion(fmt.Sprintf("6.14.%d", i)), Serial: 9, Latest: &latest, Fixes: 100 + i}}})
	}
	root, err := RootPage(ri, sampleOptions.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	write("index.html", root)
	// The control: a page with a fixed 600 px block must be reported.
	write("wide.html", []byte(strings.Replace(string(empty), "<main>", `<main><div style="width:600px">too wide</div>`, 1)))

	for _, name := range []string{"acme/2.4.1/index.html", "acme/2.5.0/index.html", "index.html", "wide.html"} {
		for _, r := range measure(t, dir, name) {
			overflow := r.content > r.viewport
			if r.viewport != r.width {
				t.Errorf("%s at %d px: the viewport is %d px wide", name, r.width, r.viewport)
			}
			switch {
			case name == "wide.html" && r.width == 390 && !overflow:
				t.Errorf("the control page at 390 px was not reported as overflowing (%d/%d): the check does not work", r.content, r.viewport)
			case name != "wide.html" && overflow:
				t.Errorf("%s overflows at %d px: content %d px wide", name, r.width, r.content)
			}
			if r.broken != "" && name != "wide.html" {
				t.Errorf("%s at %d px breaks words across lines: %s", name, r.width, r.broken)
			}
		}
	}
}
