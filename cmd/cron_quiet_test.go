package cmd

import (
	"strings"
	"testing"
)

// TestCronSkippedPrintsNothing: a scheduled run that cannot run now (75:
// paused) prints no report, even where mail_report would mail one, and
// no error beside the run's own log line; the exit status says it (the
// packaged cron.daily script drops even that line on 75).
func TestCronSkippedPrintsNothing(t *testing.T) {
	for _, policy := range []string{"always", "on-change", "on-error"} {
		t.Run(policy, func(t *testing.T) {
			e := newUAEnv(t, "[notify]\nmail_report = \""+policy+"\"\n")
			e.hotfix(t, ExitOK, "pause", "--reason", "full patch")
			if out, errOut := e.hotfix(t, ExitTempFail, "cron", "--now"); out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "scheduled run skipped") {
				t.Errorf("a skipped run printed:\nstdout: %q\nstderr: %q", out, errOut)
			}
		})
	}
}
