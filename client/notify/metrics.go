package notify

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
)

// Metric names of the metrics file, for node_exporter's textfile
// collector. They are an interface for dashboards and alerting rules
// (packaging/hotfix-alerts.yml); keep them.
const (
	MetricPending         = "hotfix_fixes_pending"
	MetricPendingSince    = "hotfix_fixes_pending_since_timestamp_seconds"
	MetricHeld            = "hotfix_fixes_held"
	MetricInstalled       = "hotfix_fixes_installed"
	MetricInfo            = "hotfix_info"
	MetricLastRun         = "hotfix_last_run_timestamp_seconds"
	MetricLastRunSuccess  = "hotfix_last_run_success"
	MetricLastCheck       = "hotfix_last_check_timestamp_seconds"
	MetricLastCheckOK     = "hotfix_last_check_success"
	MetricIndexExpiry     = "hotfix_index_expiry_timestamp_seconds"
	MetricPaused          = "hotfix_paused"
	MetricPausedSince     = "hotfix_paused_since_timestamp_seconds"
	MetricInstallDuration = "hotfix_install_duration_seconds"
)

// metricHelp is the HELP text of every series, in the order they are
// written. Every series is written on every run, zero or not: a series
// that appears only when non-zero breaks dashboards and "absent" alerts.
var metricHelp = []struct{ name, help string }{
	{MetricPending, "Fixes pending for the installed base (not counting held ones)."},
	{MetricPendingSince, "When checks first found fixes pending without a break; 0 when none are."},
	{MetricHeld, "Fixes the rollout withholds from this server for now."},
	{MetricInstalled, "Fixes installed on the installed base."},
	{MetricLastRun, "When the last scheduled run finished; 0 before the first."},
	{MetricLastRunSuccess, "1 when the last scheduled run succeeded (a paused skip counts), 0 otherwise."},
	{MetricLastCheck, "When the last check ended; 0 before the first."},
	{MetricLastCheckOK, "1 when the last check verified an index, 0 when it failed or never ran."},
	{MetricIndexExpiry, "When the last verified index expires (checks then refuse it); 0 when unknown."},
	{MetricPaused, "1 while hotfix is paused."},
	{MetricPausedSince, "When the pause in force began; 0 when not paused."},
	{MetricInstallDuration, "How long the last install of fixes by a scheduled run took."},
}

// metricValues gives each series of metricHelp its value for st.
func metricValues(st *State) map[string]float64 {
	v := map[string]float64{
		MetricPending:   float64(st.Pending),
		MetricHeld:      float64(st.Held),
		MetricInstalled: float64(len(st.Installed)),
		MetricPaused:    0,
	}
	v[MetricPendingSince] = unixOrZero(st.PendingSince)
	if st.Pending == 0 {
		v[MetricPendingSince] = 0
	}
	v[MetricIndexExpiry] = unixOrZero(st.IndexExpires)
	if c := st.LastCheck; c != nil {
		v[MetricLastCheck] = unixOrZero(&c.At)
		v[MetricLastCheckOK] = boolValue(!c.Failed)
	}
	if r := st.LastRun; r != nil {
		v[MetricLastRun] = unixOrZero(&r.At)
		v[MetricLastRunSuccess] = boolValue(r.Success)
		v[MetricInstallDuration] = r.InstallSeconds
	}
	if p := st.Paused; p != nil {
		v[MetricPaused] = 1
		v[MetricPausedSince] = unixOrZero(&p.Since)
	}
	return v
}

// Gatherer builds the metrics of st in a registry of their own (never the
// process's default one: a metrics file holds this installation's series
// and nothing else).
func Gatherer(st *State) (prometheus.Gatherer, error) {
	reg := prometheus.NewPedanticRegistry()
	labels := prometheus.Labels{}
	if st.Instance != "" {
		labels["hotfix_instance"] = st.Instance
	}
	values := metricValues(st)
	for _, m := range metricHelp {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: m.name, Help: m.help, ConstLabels: labels})
		g.Set(values[m.name])
		if err := reg.Register(g); err != nil {
			return nil, fmt.Errorf("metric %s: %w", m.name, err)
		}
	}
	info := prometheus.Labels{"product": st.Product, "base": st.Base, "level": st.Level}
	for k, v := range labels {
		info[k] = v
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricInfo, Help: "Always 1; its labels name the product, the installed base and the newest installed version.", ConstLabels: info})
	g.Set(1)
	if err := reg.Register(g); err != nil {
		return nil, fmt.Errorf("metric %s: %w", MetricInfo, err)
	}
	return reg, nil
}

// WriteMetrics replaces path with the metrics of st in the Prometheus text
// format, atomically: the text goes to a synced temporary file in the same
// directory, named so that node_exporter's textfile collector (which reads
// only *.prom) never sees it half written, and is renamed over path. An
// empty path does nothing.
func WriteMetrics(path string, st *State) error {
	if path == "" {
		return nil
	}
	reg, err := Gatherer(st)
	if err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write metrics_file %s: %w: create its directory (node_exporter's textfile directory) or change [notify] metrics_file", path, err)
		}
		return fmt.Errorf("write metrics_file %s: %w", path, err)
	}
	defer f.Abort()
	enc := expfmt.NewEncoder(f, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("write metrics_file %s: %w", path, err)
		}
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("metrics_file: %w", err)
	}
	return nil
}

func unixOrZero(t *time.Time) float64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
