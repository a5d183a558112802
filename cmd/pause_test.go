package cmd

import (
	"strings"
	"testing"
)

// TestPauseForMustBePositive: "pause --for 0" paused forever; zero and
// negative durations are usage errors naming the flag, and nothing is
// paused. Leaving --for out still pauses until resume.
func TestPauseForMustBePositive(t *testing.T) {
	e := newUAEnv(t, "")
	for _, d := range []string{"0", "0s", "-5m", "-1ns"} {
		code, out, errOut := runHotfix(t, "--config", e.Config, "pause", "--for", d)
		if code != ExitUsage || !strings.Contains(errOut, "--for") || !strings.Contains(errOut, "positive") {
			t.Errorf("pause --for %s: exit %d\n%s%s", d, code, out, errOut)
		}
		if code, out, _ := runHotfix(t, "--config", e.Config, "status"); code != ExitOK || !strings.Contains(out, "paused:     no") {
			t.Errorf("pause --for %s paused:\n%s", d, out)
		}
	}
	if code, out, errOut := runHotfix(t, "--config", e.Config, "pause", "--for", "30m"); code != ExitOK || !strings.Contains(out, "paused until") {
		t.Errorf("pause --for 30m: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runHotfix(t, "--config", e.Config, "pause"); code != ExitOK || strings.Contains(out, "until 2") {
		t.Errorf("pause: exit %d\n%s%s", code, out, errOut)
	}
}
