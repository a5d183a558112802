package notify

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The rules and the dashboard that packaging/ ships name only series the
// metrics file has: a typo there is an alert that never fires.
var seriesName = regexp.MustCompile(`hotfix_[a-z_]+`)

func knownSeries() map[string]bool {
	known := map[string]bool{MetricInfo: true}
	for _, m := range metricHelp {
		known[m.name] = true
	}
	return known
}

func TestShippedRulesAndDashboardNameRealSeries(t *testing.T) {
	known := knownSeries()
	rules, err := os.ReadFile(filepath.Join("..", "..", "packaging", "hotfix-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dash, err := os.ReadFile(filepath.Join("..", "..", "packaging", "grafana-hotfix.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &d); err != nil || len(d.Panels) == 0 {
		t.Fatalf("grafana-hotfix.json: %v (%d panels)", err, len(d.Panels))
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, where := range []struct{ name, text string }{{"hotfix-alerts.yml", string(rules)}, {"grafana-hotfix.json", strings.Join(exprs, "\n")}} {
		for _, n := range seriesName.FindAllString(where.text, -1) {
			if !known[n] {
				t.Errorf("%s names %s, which the metrics file does not have", where.name, n)
			}
		}
	}
	out, err := exec.Command("promtool", "check", "rules", filepath.Join("..", "..", "packaging", "hotfix-alerts.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestAlertRulesFire: `promtool test rules` feeds each alert the series
// of a server in trouble and of a healthy one, and expects exactly the
// alerts the README promises.
func TestAlertRulesFire(t *testing.T) {
	dir := t.TempDir()
	shipped, err := os.ReadFile(filepath.Join("..", "..", "packaging", "hotfix-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte(withoutAnnotations(string(shipped))), 0o644); err != nil {
		t.Fatal(err)
	}
	// Samples every 5m (the for: clauses need a series without gaps), evaluation at 3d+1h from time 0; "sick" ran last at 0 and failed,
	// has 2 fixes pending since 0, an index expiring at 5d, a pause since
	// 0; "well" is fine (its run at 3d, expiry at 60d).
	const day = 86400
	test := `rule_files: [` + rules + `]
evaluation_interval: 1m
tests:
  - interval: 5m
    input_series:
      - series: 'hotfix_last_run_success{instance="sick"}'
        values: '0x900'
      - series: 'hotfix_last_run_timestamp_seconds{instance="sick"}'
        values: '1x900'
      - series: 'hotfix_fixes_pending{instance="sick"}'
        values: '2x900'
      - series: 'hotfix_fixes_pending_since_timestamp_seconds{instance="sick"}'
        values: '1x900'
      - series: 'hotfix_index_expiry_timestamp_seconds{instance="sick"}'
        values: '` + itoa(5*day) + `x900'
      - series: 'hotfix_paused{instance="sick"}'
        values: '1x900'
      - series: 'hotfix_paused_since_timestamp_seconds{instance="sick"}'
        values: '1x900'
      - series: 'hotfix_info{instance="sick",product="acme",base="2.4.1",level="2.4.1"}'
        values: '1x900'
      - series: 'hotfix_last_run_success{instance="well"}'
        values: '1x900'
      - series: 'hotfix_last_run_timestamp_seconds{instance="well"}'
        values: '` + itoa(3*day) + `x900'
      - series: 'hotfix_fixes_pending{instance="well"}'
        values: '0x900'
      - series: 'hotfix_fixes_pending_since_timestamp_seconds{instance="well"}'
        values: '0x900'
      - series: 'hotfix_index_expiry_timestamp_seconds{instance="well"}'
        values: '` + itoa(60*day) + `x900'
      - series: 'hotfix_paused{instance="well"}'
        values: '0x900'
      - series: 'hotfix_paused_since_timestamp_seconds{instance="well"}'
        values: '0x900'
    alert_rule_test:
` + expectAlert("HotfixRunFailed", "warning") + expectAlert("HotfixFixesPendingTooLong", "warning") +
		expectAlert("HotfixIndexExpiresSoon", "critical") + expectAlert("HotfixPausedTooLong", "warning") +
		expectAlert("HotfixNoRecentRun", "warning") + `      - eval_time: 73h
        alertname: HotfixMetricsMissing
        exp_alerts: []
`
	path := filepath.Join(dir, "test.yml")
	if err := os.WriteFile(path, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("promtool", "test", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// expectAlert is one alert_rule_test entry: alertname fires for "sick"
// alone at 73h, with its severity and only the labels of its series.
func expectAlert(name, severity string) string {
	return `      - eval_time: 73h
        alertname: ` + name + `
        exp_alerts:
          - exp_labels: {severity: ` + severity + `, instance: sick}
`
}

func itoa(n int) string { return strconv.Itoa(n) }

// withoutAnnotations drops the annotations of every rule: promtool test
// compares them in full, and this test is about when alerts fire.
func withoutAnnotations(rules string) string {
	var out []string
	skip := -1
	for _, line := range strings.Split(rules, "\n") {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if skip >= 0 && (strings.TrimSpace(line) == "" || indent > skip) {
			continue
		}
		skip = -1
		if strings.TrimSpace(line) == "annotations:" {
			skip = indent
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
