package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestDryRunWithoutRoot: `fix --dry-run` as an ordinary user, in the lab,
// shows the plan as far as it can be known without reading the firewall and
// says what it could not read; it never claims "does not apply" or "nothing
// to change" for want of the rules it could not see. Without --dry-run it
// is refused.
func TestDryRunWithoutRoot(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("no setpriv (util-linux): cannot run as an ordinary user")
	}
	l := startLab(t, "new-order")
	asUser := func(args ...string) (string, int) {
		full := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", binary}, args...)
		cmd := l.Command(context.Background(), setpriv, full...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	for _, c := range []struct {
		remedy string
		want   []string
	}{
		{"2", []string{"firewall cannot be read", "No resolver answers", "only root can read: rerun with sudo"}},
		{"4", []string{"firewall cannot be read", "Plan (nothing has changed yet)", "nameserver 223.5.5.5", "Dry run: nothing was changed"}},
	} {
		out, code := asUser("fix", c.remedy, "--dry-run", "--lang", "en")
		if code != 0 {
			t.Errorf("fix %s --dry-run without root: exit %d\n%s", c.remedy, code, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("fix %s --dry-run without root lacks %q:\n%s", c.remedy, w, out)
			}
		}
		for _, w := range []string{"Does not apply", "nothing to change"} {
			if strings.Contains(out, w) {
				t.Errorf("fix %s --dry-run without root claims %q:\n%s", c.remedy, w, out)
			}
		}
	}
	if out, code := asUser("fix", "2", "--yes"); code != 2 || !strings.Contains(out, "rerun with sudo") {
		t.Errorf("fix 2 --yes without root: exit %d\n%s", code, out)
	}
}
