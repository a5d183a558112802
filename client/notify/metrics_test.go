package notify

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parseMetrics reads a metrics file with the Prometheus text parser, the
// one node_exporter's textfile collector uses.
func parseMetrics(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s does not parse as Prometheus text: %v", path, err)
	}
	return mfs
}

// promtoolCheck runs `promtool check metrics` on data: it must find no
// problem (it lints names, HELP and TYPE too).
func promtoolCheck(t *testing.T, data []byte) {
	t.Helper()
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s\ninput:\n%s", err, out, data)
	}
}

func gaugeValue(t *testing.T, mfs map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok || len(mf.GetMetric()) != 1 {
		t.Fatalf("series %s missing or repeated in %v", name, mfs[name])
	}
	if mf.GetType() != dto.MetricType_GAUGE {
		t.Errorf("%s is a %v, want a gauge", name, mf.GetType())
	}
	return mf.GetMetric()[0].GetGauge().GetValue()
}

func TestWriteMetricsEverySeriesEvenZero(t *testing.T) {
	at := time.Date(2025, 3, 4, 4, 2, 0, 0, time.UTC)
	expires := at.Add(30 * 24 * time.Hour)
	tests := []struct {
		name string
		st   State
		want map[string]float64
	}{
		{"never checked", State{Product: "acme", Base: "2.4.1", Level: "2.4.1", Installed: []InstalledFix{}},
			map[string]float64{MetricPending: 0, MetricLastRun: 0, MetricLastCheck: 0, MetricIndexExpiry: 0, MetricPaused: 0, MetricLastRunSuccess: 0}},
		{"pending after a failed run", State{Product: "acme", Base: "2.4.1", Level: "2.4.1.1",
			Installed: []InstalledFix{{Version: "2.4.1.1"}}, Pending: 2, PendingSince: &at, IndexExpires: &expires,
			LastCheck: &CheckRecord{At: at, Outcome: "2 pending"},
			LastRun:   &RunRecord{At: at, Outcome: OutcomeFailed, InstallSeconds: 12.5}},
			map[string]float64{MetricPending: 2, MetricPendingSince: float64(at.Unix()), MetricInstalled: 1,
				MetricLastRun: float64(at.Unix()), MetricLastRunSuccess: 0, MetricLastCheckOK: 1,
				MetricIndexExpiry: float64(expires.Unix()), MetricInstallDuration: 12.5}},
		{"paused, check failed", State{Product: "acme", Base: "2.4.1", Level: "2.4.1", Installed: []InstalledFix{},
			Paused:    &Pause{By: "root", Since: at},
			LastCheck: &CheckRecord{At: at, Outcome: "error: index expired", Failed: true},
			LastRun:   &RunRecord{At: at, Outcome: OutcomePaused, Success: true}},
			map[string]float64{MetricPaused: 1, MetricPausedSince: float64(at.Unix()), MetricLastCheckOK: 0, MetricLastRunSuccess: 1}},
		{"pending since without pending", State{Product: "acme", Base: "2.4.1", Level: "2.4.1", PendingSince: &at},
			map[string]float64{MetricPendingSince: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hotfix.prom")
			if err := WriteMetrics(path, &tt.st); err != nil {
				t.Fatal(err)
			}
			mfs := parseMetrics(t, path)
			for _, m := range metricHelp {
				got := gaugeValue(t, mfs, m.name)
				if want, ok := tt.want[m.name]; ok && got != want {
					t.Errorf("%s = %v, want %v", m.name, got, want)
				}
			}
			if got := gaugeValue(t, mfs, MetricInfo); got != 1 {
				t.Errorf("%s = %v, want 1", MetricInfo, got)
			}
			labels := map[string]string{}
			for _, l := range mfs[MetricInfo].GetMetric()[0].GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["product"] != tt.st.Product || labels["base"] != tt.st.Base || labels["level"] != tt.st.Level {
				t.Errorf("%s labels = %v", MetricInfo, labels)
			}
			if len(mfs) != len(metricHelp)+1 {
				t.Errorf("%d series, want %d", len(mfs), len(metricHelp)+1)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			promtoolCheck(t, data)
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, %v: node_exporter runs as another user and must read it", fi.Mode(), err)
			}
		})
	}
}

func TestWriteMetricsInstanceLabel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotfix.prom")
	if err := WriteMetrics(path, &State{Product: "acme", Base: "2.4.1", Level: "2.4.1", Instance: "eu"}); err != nil {
		t.Fatal(err)
	}
	for name, mf := range parseMetrics(t, path) {
		found := false
		for _, l := range mf.GetMetric()[0].GetLabel() {
			found = found || (l.GetName() == "hotfix_instance" && l.GetValue() == "eu")
		}
		if !found {
			t.Errorf("%s has no hotfix_instance=\"eu\" label", name)
		}
	}
	data, _ := os.ReadFile(path)
	promtoolCheck(t, data)
}

// TestWriteMetricsAtomic: the file is replaced whole or not at all, no
// temporary is left where the collector reads, and bad paths fail with an
// error naming metrics_file while leaving what was there.
func TestWriteMetricsAtomic(t *testing.T) {
	st := &State{Product: "acme", Base: "2.4.1", Level: "2.4.1", Pending: 3}
	t.Run("replaces and leaves no temporary", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "hotfix.prom")
		os.WriteFile(path, []byte("old\n"), 0o644)
		for range 3 {
			if err := WriteMetrics(path, st); err != nil {
				t.Fatal(err)
			}
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Errorf("directory holds %v, want only hotfix.prom", ents)
		}
		if got := gaugeValue(t, parseMetrics(t, path), MetricPending); got != 3 {
			t.Errorf("pending = %v", got)
		}
	})
	t.Run("a symlink is replaced, not followed", func(t *testing.T) {
		dir := t.TempDir()
		victim := filepath.Join(dir, "victim")
		os.WriteFile(victim, []byte("keep\n"), 0o600)
		path := filepath.Join(dir, "hotfix.prom")
		if err := os.Symlink(victim, path); err != nil {
			t.Fatal(err)
		}
		if err := WriteMetrics(path, st); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
			t.Errorf("the symlink's target was written: %q", b)
		}
	})
	for _, tt := range []struct {
		name  string
		setup func(dir string) string
		is    error
	}{
		{"missing directory", func(dir string) string { return filepath.Join(dir, "nope", "hotfix.prom") }, fs.ErrNotExist},
		{"path is a directory", func(dir string) string {
			p := filepath.Join(dir, "hotfix.prom")
			os.MkdirAll(filepath.Join(p, "x"), 0o755)
			return p
		}, nil},
		{"parent is a file", func(dir string) string {
			os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
			return filepath.Join(dir, "f", "hotfix.prom")
		}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(dir)
			err := WriteMetrics(path, st)
			if err == nil || !strings.Contains(err.Error(), "metrics_file") || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want one naming metrics_file and %s", err, path)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.is)
			}
			if tt.name == "path is a directory" {
				if _, err := os.Stat(filepath.Join(path, "x")); err != nil {
					t.Errorf("the directory was changed: %v", err)
				}
			}
		})
	}
	t.Run("empty path is off", func(t *testing.T) {
		if err := WriteMetrics("", st); err != nil {
			t.Fatal(err)
		}
	})
}
