package repo

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    string // canonical form; "" means an error is expected
		errPart string
	}{
		{"6.14.2", "6.14.2", ""},
		{"6.14.2.3", "6.14.2.3", ""},
		{"0", "0", ""},
		{"1.0.0", "1.0.0", ""},
		{"", "", "empty version"},
		{"6.014", "", `part "014"`},
		{"06.1", "", `part "06"`},
		{"6..1", "", `part ""`},
		{".6.1", "", `part ""`},
		{"6.1.", "", `part ""`},
		{"6.1a", "", `part "1a"`},
		{"6.-1", "", `part "-1"`},
		{"6.+1", "", `part "+1"`},
		{" 6.1", "", `part " 6"`},
		{"1234567890.1", "", `part "1234567890" is too large: at most 9 digits`},
		{"2.4.1.1234567890", "", `part "1234567890" is too large`},
		{"2.4.99999999999999999999", "", "too large"},
		{"999999999.1", "999999999.1", ""},
		{"2.4.0123456789", "", "leading zeros"},
		{"2.4.12345678x9", "", "is not a number ("},
		{strings.Repeat("1.", 16) + "1", "", "more than 16 parts"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseVersion(tt.in)
			if tt.want == "" {
				testkit.WantErr(t, err, tt.errPart)
				if err != nil && !v.IsZero() {
					t.Errorf("error with non-zero version %v", v)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tt.in, err)
			}
			if v.String() != tt.want {
				t.Errorf("String() = %q, want %q", v, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"6.14.10", "6.14.9", 1},
		{"6.14.9", "6.14.10", -1},
		{"6.14.2", "6.14.2", 0},
		{"6.14", "6.14.0", -1},
		{"6.14.2.1", "6.14.2", 1},
		{"10.0", "9.99", 1},
		{"2.4.1.10", "2.4.1.2", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			a, b := MustParseVersion(tt.a), MustParseVersion(tt.b)
			if got := a.Compare(b); got != tt.want {
				t.Errorf("Compare = %d, want %d", got, tt.want)
			}
			if got := b.Compare(a); got != -tt.want {
				t.Errorf("reverse Compare = %d, want %d", got, -tt.want)
			}
			if a.Equal(b) != (tt.want == 0) {
				t.Errorf("Equal = %v", a.Equal(b))
			}
		})
	}
}

func TestChainRelations(t *testing.T) {
	tests := []struct {
		v, base, requires string
		seq               int
	}{
		{"6.14.2.1", "6.14.2", "6.14.2", 1},
		{"6.14.2.2", "6.14.2", "6.14.2.1", 2},
		{"6.14.2.10", "6.14.2", "6.14.2.9", 10},
		{"2.4.1.3", "2.4.1", "2.4.1.2", 3},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			v := MustParseVersion(tt.v)
			if got := v.Base().String(); got != tt.base {
				t.Errorf("Base = %s, want %s", got, tt.base)
			}
			if got := v.Requires().String(); got != tt.requires {
				t.Errorf("Requires = %s, want %s", got, tt.requires)
			}
			if v.Seq() != tt.seq {
				t.Errorf("Seq = %d, want %d", v.Seq(), tt.seq)
			}
			if got := v.Base().Fix(tt.seq); !got.Equal(v) {
				t.Errorf("Base().Fix(%d) = %s", tt.seq, got)
			}
		})
	}
	if !MustParseVersion("6").Base().IsZero() {
		t.Error("a one-part version has no base")
	}
}

func TestVersionJSON(t *testing.T) {
	var got struct{ V Version }
	if err := json.Unmarshal([]byte(`{"V":"6.14.10"}`), &got); err != nil || got.V.String() != "6.14.10" {
		t.Fatalf("unmarshal = %v, %v", got.V, err)
	}
	err := json.Unmarshal([]byte(`{"V":"6.014"}`), &got)
	testkit.WantErr(t, err, "014")
	if _, err := json.Marshal(struct{ V Version }{}); err == nil {
		t.Error("marshalling the zero version must fail")
	}
	b, err := json.Marshal(struct{ V Version }{MustParseVersion("1.2.3")})
	if err != nil || string(b) != `{"V":"1.2.3"}` {
		t.Errorf("marshal = %s, %v", b, err)
	}
}
