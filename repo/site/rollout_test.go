package site

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// TestChannelPageRollout: staged fixes are listed with their stage in a
// table outside the kept fix sections (a stage changes while a fix's
// section never does); a channel without staged fixes has no table.
func TestChannelPageRollout(t *testing.T) {
	ix, details := sampleChannel()
	sections := map[string][]byte{}
	plain, err := ChannelPage(t.Context(), ix, details, sections, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, []byte(`class="rollout"`)) {
		t.Fatal("a channel without staged fixes shows a rollout table")
	}
	start := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	twenty := 20
	for _, tt := range []struct {
		r    *repo.Rollout
		want string
	}{
		{&repo.Rollout{Ring: repo.RingTesting}, "<td>testing ring</td>"},
		{&repo.Rollout{Ring: repo.RingStable, Percent: &twenty, Start: &start, Ramp: &repo.Ramp{Step: 10, Every: 6 * time.Hour}}, "<td>20 %, &#43;10 % every 6h from 2026-11-27 04:00 UTC</td>"},
		{&repo.Rollout{Ring: repo.RingStable, Percent: &twenty, Start: &start, Halted: true}, "<td>halted (was 20 % since 2026-11-27 04:00 UTC)</td>"},
	} {
		ix.Fixes[1].Rollout = tt.r
		page, err := ChannelPage(t.Context(), ix, details, sections, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(page), tt.want) != 1 || strings.Count(string(page), `class="rollout"`) != 1 || !bytes.Contains(page, []byte(`<a href="#2.4.1.2">2.4.1.2</a>`)) {
			t.Fatalf("page does not show %s once:\n%s", tt.want, page)
		}
	}
}
