package cron

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// TestOneReportModel: for one run, the mail, the webhook JSON, the
// metrics file and status --json say the same thing, because they are all
// written from one notify.State. Variants: a run that installs, one that
// only checks (fixes stay pending), one skipped because hotfix is paused.
func TestOneReportModel(t *testing.T) {
	tests := []struct {
		name    string
		extra   string
		pause   bool
		pending bool
	}{
		{"installs", "", false, false},
		{"check only", "[schedule]\ncheck_only = true\n", false, true},
		{"paused", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := testkit.NewWebhookSink[notify.Report](t, http.StatusOK)
			dir := t.TempDir()
			mailFile := filepath.Join(dir, "mail.txt")
			sendmail := filepath.Join(dir, "sendmail")
			os.WriteFile(sendmail, []byte("#!/bin/sh\ncat > "+mailFile+"\n"), 0o755)
			metrics := filepath.Join(dir, "hotfix.prom")
			e := newRunEnv(t, tt.extra+fmt.Sprintf("[notify]\nmail_to = \"ops@example.com\"\nsendmail = %q\nwebhook = %q\nmail_report = \"always\"\nmetrics_file = %q\n", sendmail, sink.URL, metrics))
			cl := e.client(t)
			if tt.pause {
				// A first run fills the cache, so the paused one has an index to count.
				if _, err := Run(context.Background(), cl, RunOptions{Trigger: "cron"}); err != nil {
					t.Fatal(err)
				}
				if _, err := cl.Pause(context.Background(), 0, 0, "full patch"); err != nil {
					t.Fatal(err)
				}
			}
			rep, _ := Run(context.Background(), cl, RunOptions{Trigger: "cron"})
			if rep.State == nil {
				t.Fatal("the report has no state")
			}
			st := rep.State
			if tt.pending != (st.Pending > 0) || (st.Paused != nil) != tt.pause || st.LastRun == nil {
				t.Fatalf("state %+v does not fit the variant", st)
			}

			// Webhook: the same State, field for field.
			posts := sink.Await(t, 1+boolInt(tt.pause))
			if got := posts[len(posts)-1].State; !sameState(got, st) {
				t.Errorf("webhook state %+v\nreport state %+v", got, st)
			}
			// status --json: the same State.
			status, err := cl.Status()
			if err != nil {
				t.Fatal(err)
			}
			if !sameState(&status.State, st) {
				t.Errorf("status state %+v\nreport state %+v", status.State, st)
			}
			// Metrics: the same numbers.
			f, err := os.Open(metrics)
			if err != nil {
				t.Fatal(err)
			}
			p := expfmt.NewTextParser(model.UTF8Validation)
			mfs, err := p.TextToMetricFamilies(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			val := func(n string) float64 { return mfs[n].GetMetric()[0].GetGauge().GetValue() }
			if val(notify.MetricPending) != float64(st.Pending) || val(notify.MetricInstalled) != float64(len(st.Installed)) ||
				val(notify.MetricHeld) != float64(st.Held) || val(notify.MetricPaused) != float64(boolInt(st.Paused != nil)) ||
				int64(val(notify.MetricLastRun)) != st.LastRun.At.Unix() || val(notify.MetricLastRunSuccess) != float64(boolInt(st.LastRun.Success)) ||
				int64(val(notify.MetricIndexExpiry)) != st.IndexExpires.Unix() {
				t.Errorf("metrics disagree with the state %+v", st)
			}
			// Mail: the same numbers in its state block.
			body := readMail(t, mailFile)
			want := fmt.Sprintf("level %s, %d installed, %d pending, %d held", st.Level, len(st.Installed), st.Pending, st.Held)
			if !strings.Contains(body, want) {
				t.Errorf("mail lacks %q:\n%s", want, body)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sameState compares two states as JSON carries them (times to the
// nanosecond, without monotonic clock readings).
func sameState(a, b *notify.State) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var va, vb any
	json.Unmarshal(ja, &va)
	json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

func readMail(t *testing.T, path string) string {
	t.Helper()
	var data []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if data, err = os.ReadFile(path); err == nil && len(data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
