package repo

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func pct(n int) *int { return &n }

func TestParseRamp(t *testing.T) {
	tests := []struct {
		in   string
		want Ramp
		err  string // part of the error, "" when it parses
	}{
		{"10%/6h", Ramp{10, 6 * time.Hour}, ""},
		{"1%/1m", Ramp{1, time.Minute}, ""},
		{"100%/2d", Ramp{100, 48 * time.Hour}, ""},
		{"25%/1h30m", Ramp{25, 90 * time.Minute}, ""},
		{"5%/366d", Ramp{5, MaxRampInterval}, ""},
		{"10/6h", Ramp{}, "want STEP%/INTERVAL"},
		{"10%6h", Ramp{}, "want STEP%/INTERVAL"},
		{"", Ramp{}, "want STEP%/INTERVAL"},
		{"%/6h", Ramp{}, "not a whole percentage"},
		{"-5%/6h", Ramp{}, "not a whole percentage"},
		{"1.5%/6h", Ramp{}, "not a whole percentage"},
		{"0%/6h", Ramp{}, "want 1 to 100"},
		{"101%/6h", Ramp{}, "want 1 to 100"},
		{"1000%/6h", Ramp{}, "not a whole percentage"},
		{"10%/", Ramp{}, "want a duration"},
		{"10%/6", Ramp{}, "want a duration"},
		{"10%/d", Ramp{}, "want a duration"},
		{"10%/6 h", Ramp{}, "want a duration"},
		{"10%/30s", Ramp{}, "want whole seconds from 1m"},
		{"10%/-6h", Ramp{}, "want whole seconds from 1m"},
		{"10%/367d", Ramp{}, "want whole seconds from 1m"},
		{"10%/1m0.5s", Ramp{}, "want whole seconds"},
		{" 10%/6h", Ramp{}, "not a whole percentage"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRamp(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRamp(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRamp(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRampString(t *testing.T) {
	for in, want := range map[string]string{"10%/6h": "10%/6h", "10%/360m": "10%/6h", "10%/24h": "10%/1d", "5%/90m": "5%/1h30m", "5%/90s": "5%/1m30s"} {
		r, err := ParseRamp(in)
		if err != nil {
			t.Fatal(err)
		}
		if r.String() != want {
			t.Errorf("%q: String() = %q, want %q", in, r.String(), want)
		}
	}
}

func FuzzParseRamp(f *testing.F) {
	for _, s := range []string{"10%/6h", "1%/1m", "100%/366d", "25%/1h30m", "0%/6h", "10%/6", "10%/d", "%/", "10%/1m0.5s", "99%/8784h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRamp(s)
		if err != nil {
			return
		}
		// What parses is in bounds and reads back from its canonical form.
		if r.Step < 1 || r.Step > 100 || r.Every < MinRampInterval || r.Every > MaxRampInterval {
			t.Fatalf("ParseRamp(%q) accepted %+v", s, r)
		}
		back, err := ParseRamp(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRamp(%q) = %+v, but its form %q reads back as %+v, %v", s, r, r.String(), back, err)
		}
	})
}

func TestRolloutValidate(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ramp := &Ramp{10, 6 * time.Hour}
	tests := []struct {
		name string
		r    Rollout
		err  string
	}{
		{"testing", Rollout{Ring: RingTesting}, ""},
		{"stable everyone", Rollout{Ring: RingStable}, ""},
		{"percent", Rollout{Ring: RingStable, Percent: pct(20), Start: &start}, ""},
		{"zero with ramp", Rollout{Ring: RingStable, Percent: pct(0), Start: &start, Ramp: ramp}, ""},
		{"halted", Rollout{Ring: RingStable, Percent: pct(20), Start: &start, Halted: true}, ""},
		{"no ring", Rollout{}, "want \"stable\" or \"testing\""},
		{"odd ring", Rollout{Ring: "beta"}, "want \"stable\" or \"testing\""},
		{"percent without start", Rollout{Ring: RingStable, Percent: pct(20)}, "needs its start"},
		{"ramp without percent", Rollout{Ring: RingStable, Ramp: ramp}, "needs a percentage"},
		{"start without percent", Rollout{Ring: RingStable, Start: &start}, "needs a percentage"},
		{"testing with percent", Rollout{Ring: RingTesting, Percent: pct(5), Start: &start}, "testing ring has no percentage"},
		{"over 100", Rollout{Ring: RingStable, Percent: pct(101), Start: &start}, "want 0 to 100"},
		{"negative", Rollout{Ring: RingStable, Percent: pct(-1), Start: &start}, "want 0 to 100"},
		{"bad ramp", Rollout{Ring: RingStable, Percent: pct(1), Start: &start, Ramp: &Ramp{0, time.Hour}}, "want 1 to 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestRolloutPercentAt(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ramp := &Rollout{Ring: RingStable, Percent: pct(10), Start: &start, Ramp: &Ramp{10, 6 * time.Hour}}
	tests := []struct {
		r     *Rollout
		after time.Duration
		want  int
	}{
		{nil, 0, 100},
		{&Rollout{Ring: RingStable}, 0, 100},
		{&Rollout{Ring: RingStable, Percent: pct(20), Start: &start}, 1000 * time.Hour, 20},
		{ramp, -time.Hour, 10}, // a clock behind the start reads the start
		{ramp, 0, 10},
		{ramp, 6*time.Hour - time.Second, 10},
		{ramp, 6 * time.Hour, 20},
		{ramp, 53 * time.Hour, 90},
		{ramp, 54 * time.Hour, 100},
		{ramp, 100 * 365 * 24 * time.Hour, 100},
		{&Rollout{Ring: RingStable, Percent: pct(0), Start: &start, Ramp: &Ramp{100, time.Minute}}, time.Duration(1<<62) * time.Nanosecond, 100},
	}
	for i, tt := range tests {
		if got := tt.r.PercentAt(start.Add(tt.after)); got != tt.want {
			t.Errorf("%d: PercentAt(start%+v) = %d, want %d", i, tt.after, got, tt.want)
		}
	}
}

func TestRolloutHold(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := start.Add(time.Hour)
	at20 := &Rollout{Ring: RingStable, Percent: pct(20), Start: &start}
	tests := []struct {
		name   string
		r      *Rollout
		ring   string
		bucket int
		held   bool
		reason string
	}{
		{"no rollout", nil, RingStable, 99, false, ""},
		{"below", at20, RingStable, 19, false, ""},
		{"at", at20, RingStable, 20, true, "rollout at 20 %, this server's bucket is 20"},
		{"above", at20, RingStable, 37, true, "rollout at 20 %, this server's bucket is 37"},
		{"no machine id", at20, RingStable, NoBucket, true, "no machine id"},
		{"testing server takes partial", at20, RingTesting, 99, false, ""},
		{"testing fix, stable server", &Rollout{Ring: RingTesting}, RingStable, 0, true, "in the testing ring"},
		{"testing fix, testing server", &Rollout{Ring: RingTesting}, RingTesting, 99, false, ""},
		{"halted, stable bucket 0", &Rollout{Ring: RingStable, Percent: pct(20), Start: &start, Halted: true}, RingStable, 0, true, "halted"},
		{"halted, testing server", &Rollout{Ring: RingTesting, Halted: true}, RingTesting, 0, true, "halted"},
		{"halted at full", &Rollout{Ring: RingStable, Halted: true}, RingStable, 0, true, "halted"},
		{"zero percent", &Rollout{Ring: RingStable, Percent: pct(0), Start: &start}, RingStable, 0, true, "rollout at 0 %"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, held := tt.r.Hold(tt.ring, tt.bucket, now)
			if held != tt.held || !strings.Contains(reason, tt.reason) || (!held && reason != "") {
				t.Fatalf("Hold = %q, %v; want %v with %q", reason, held, tt.held, tt.reason)
			}
		})
	}
}

// TestBucketSpread draws 1,000 simulated machine ids and checks that each
// percentage opens to its share of them within ±4 %, for several
// channels, and that a machine keeps its bucket.
func TestBucketSpread(t *testing.T) {
	for _, ch := range []struct{ product, base string }{{"acme", "2.4.1"}, {"shop", "6.14.2"}, {"acme", "2.4.2"}} {
		base := MustParseVersion(ch.base)
		buckets := make([]int, 1000)
		for i := range buckets {
			id := fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)
			buckets[i] = Bucket(id, ch.product, base)
			if buckets[i] < 0 || buckets[i] > 99 {
				t.Fatalf("bucket %d out of range", buckets[i])
			}
			if Bucket(id, ch.product, base) != buckets[i] {
				t.Fatal("Bucket is not stable")
			}
		}
		for _, p := range []int{1, 5, 10, 20, 37, 50, 80, 99} {
			open := 0
			for _, b := range buckets {
				if b < p {
					open++
				}
			}
			if got := float64(open) / 10; got < float64(p)-4 || got > float64(p)+4 {
				t.Errorf("%s %s: %d %% opens to %.1f %% of 1,000 machines", ch.product, ch.base, p, got)
			}
		}
	}
	// The product and the base are part of the draw: other channels
	// shuffle the same machines differently.
	base := MustParseVersion("2.4.1")
	same := 0
	for i := range 1000 {
		id := fmt.Sprintf("m%d", i)
		if Bucket(id, "acme", base) == Bucket(id, "shop", base) {
			same++
		}
	}
	if same > 40 {
		t.Errorf("%d of 1,000 machines share their bucket across products", same)
	}
}

func TestIndexRollout(t *testing.T) {
	start := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)
	ix := &Index{Format: IndexFormat, Product: "acme", Base: MustParseVersion("2.4.1"), Serial: 1,
		Generated: start, Expires: start.Add(time.Hour), Fixes: []IndexFix{{
			Version: MustParseVersion("2.4.1.1"), Requires: MustParseVersion("2.4.1"), File: "acme-2.4.1.1.fix",
			SHA256: strings.Repeat("0", 64), Bugs: []BugRef{},
			Rollout: &Rollout{Ring: RingStable, Percent: pct(20), Start: &start, Ramp: &Ramp{10, 6 * time.Hour}},
		}}}
	data, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"rollout": {
        "ring": "stable",
        "percent": 20,
        "start": "2026-11-01T04:00:00Z",
        "ramp": "10%/6h"
      }`) {
		t.Fatalf("rollout not in the index as expected:\n%s", data)
	}
	back, err := ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if r := back.Fixes[0].Rollout; r == nil || *r.Percent != 20 || *r.Ramp != (Ramp{10, 6 * time.Hour}) {
		t.Fatalf("rollout read back as %+v", r)
	}
	// A fix without a rollout keeps the index as it was: no key at all.
	ix.Fixes[0].Rollout = nil
	if data, _ = ix.Marshal(); strings.Contains(string(data), "rollout") {
		t.Fatalf("a fix without rollout mentions it:\n%s", data)
	}
	// A signed index with a rollout the client cannot act on is refused.
	good := string(mustMarshalRollout(t, ix, start))
	for _, edit := range [][2]string{
		{`"ring": "stable"`, `"ring": "beta"`},
		{`"percent": 20`, `"percent": 120`},
		{`"start": "2026-11-01T04:00:00Z"`, `"start": "2026-11-01T04:00:00Z", "ramp": "10%/1s"`},
		{`"start": "2026-11-01T04:00:00Z"`, `"start": "2026-11-01T04:00:00Z", "halt": true`},
	} {
		edited := strings.Replace(good, edit[0], edit[1], 1)
		if edited == good {
			t.Fatalf("edit %q did not apply", edit[0])
		}
		if _, err := ParseIndex([]byte(edited)); err == nil {
			t.Errorf("index with %s accepted", edit[1])
		}
	}
	if _, err := ParseIndex([]byte(good)); err != nil {
		t.Fatal(err)
	}
}

func mustMarshalRollout(t *testing.T, ix *Index, start time.Time) []byte {
	t.Helper()
	cp := *ix
	cp.Fixes = []IndexFix{ix.Fixes[0]}
	cp.Fixes[0].Rollout = &Rollout{Ring: RingStable, Percent: pct(20), Start: &start}
	data, err := cp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRolloutStage(t *testing.T) {
	start := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		r    *Rollout
		want string
	}{
		{nil, "everyone"},
		{&Rollout{Ring: RingTesting}, "testing ring"},
		{&Rollout{Ring: RingStable, Percent: pct(20), Start: &start}, "20 % since 2026-11-01 04:00 UTC"},
		{&Rollout{Ring: RingStable, Percent: pct(10), Start: &start, Ramp: &Ramp{10, 6 * time.Hour}}, "10 %, +10 % every 6h from 2026-11-01 04:00 UTC"},
		{&Rollout{Ring: RingTesting, Halted: true}, "halted (was testing ring)"},
	} {
		if got := tt.r.Stage(); got != tt.want {
			t.Errorf("Stage() = %q, want %q", got, tt.want)
		}
	}
}
