package repo

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// CleanRelPath refuses what manifest.json cannot name exactly or what
// would show as something else, wherever a path comes from (a source
// tree, a manifest, an RPM's cpio names).
func TestCleanRelPath(t *testing.T) {
	tests := []struct {
		path string
		want string // "" means accepted
	}{
		{"lib/a.php", ""},
		{"lib/café.php", ""},
		{"日本/ファイル.txt", ""},
		{"lib/caf\xe9.php", "not valid UTF-8"},
		{"\xff", "not valid UTF-8"},
		{"lib/a\nb", "control character"},
		{"lib/\x7f", "control character"},
		{"lib/\u0085next-line", "control character"},
		{"lib/a\x00b", "NUL"},
		{"../etc/passwd", "climbs out"},
		{"/etc/passwd", "absolute path"},
		{"lib//a", "canonical form"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := CleanRelPath(tt.path)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// A manifest naming a path with a control character (JSON can carry
// one, escaped) is refused like a source tree holding it.
func TestParseManifestRefusesControlCharacters(t *testing.T) {
	data := `{"format":1,"product":"acme","version":"1.0.1","base":"1.0","requires":"1.0","summary":"s","bugs":[],` +
		`"files":[{"path":"lib/a\u001b[2J.php","size":1,"mode":"0644","sha256":"` + strings.Repeat("0", 64) + `"}],"scripts":[]}`
	if _, err := ParseManifest([]byte(data)); err == nil || !strings.Contains(err.Error(), "control character") {
		t.Fatalf("ParseManifest: %v, want a refusal naming the control character", err)
	}
}

// A manifest (hand-made, or from an older packer) naming a file with a mode
// every server refuses is refused when read, so that repo add never
// publishes what no client would install; ordinary modes pass.
func TestParseManifestRefusesUnsafeModes(t *testing.T) {
	for _, tt := range []struct{ mode, want string }{
		{"0777", "writable by every user"},
		{"0646", "writable by every user"},
		{"0000", "not readable by its owner"},
		{"0044", "not readable by its owner"},
		{"0644", ""},
		{"0755", ""},
		{"0400", ""},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			data := `{"format":1,"product":"acme","version":"1.0.1","base":"1.0","requires":"1.0","summary":"s","bugs":[],` +
				`"files":[{"path":"lib/a.php","size":1,"mode":"` + tt.mode + `","sha256":"` + strings.Repeat("0", 64) + `"}],"scripts":[]}`
			_, err := ParseManifest([]byte(data))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			testkit.WantErr(t, err, `"lib/a.php"`, "mode "+tt.mode, tt.want, "0644")
		})
	}
}

// A severity outside security, critical and normal is refused wherever a
// fix can carry one: the manifest of an archive and a channel index (a
// hand-edited index, or one from a newer vendor tool), naming the choices.
func TestSeverityRefused(t *testing.T) {
	sum := strings.Repeat("0", 64)
	manifest := `{"format":1,"product":"acme","version":"1.0.1","base":"1.0","requires":"1.0","summary":"s","severity":"%s","bugs":[],"files":[],"scripts":[]}`
	index := `{"format":1,"product":"acme","base":"1.0","serial":1,"generated":"2026-01-01T00:00:00Z","expires":"2026-02-01T00:00:00Z",` +
		`"fixes":[{"version":"1.0.1","requires":"1.0","file":"acme-1.0.1.fix","size":1,"sha256":"` + sum + `","summary":"s","bugs":[],"severity":"%s"}]}`
	for _, sev := range []string{"security", "critical", "normal"} {
		if _, err := ParseManifest(fmt.Appendf(nil, manifest, sev)); err != nil {
			t.Errorf("manifest severity %q refused: %v", sev, err)
		}
		if _, err := ParseIndex(fmt.Appendf(nil, index, sev)); err != nil {
			t.Errorf("index severity %q refused: %v", sev, err)
		}
	}
	for _, sev := range []string{"urgent", "SECURITY", "security ", "<b>"} {
		_, err := ParseManifest(fmt.Appendf(nil, manifest, sev))
		testkit.WantErr(t, err, "severity", "security, critical, normal")
		_, err = ParseIndex(fmt.Appendf(nil, index, sev))
		testkit.WantErr(t, err, "fix 1.0.1: severity", "security, critical, normal")
	}
}
