package words

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 fixes"}, {1, "1 fix"}, {2, "2 fixes"}, {-1, "-1 fixes"}, {11, "11 fixes"}} {
		if got := Count(tc.n, "fix", "fixes"); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
