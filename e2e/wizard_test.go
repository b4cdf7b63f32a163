package e2e

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/lab"
)

// TestWizardTmuxRealTailscaled: the wizard in a real terminal (tmux) on the
// ECS server with the real tailscaled, on each host shape (ECS by DMI, not
// ECS): walk every step, see the services under the rules, pick the
// whitelist, confirm; the screen says verified, the machine agrees (the
// rule is in the real daemon's ts-input, DNS answers); undo.
func TestWizardTmuxRealTailscaled(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("no tmux: apt install tmux")
	}
	for _, c := range []struct {
		host     lab.Host
		services string // what the rules step says of the other services
	}{
		{lab.HostECSDMI, "other service(s) in 100.64.0.0/10 are cut off"},
		{lab.HostPlain, "No other service in"},
	} {
		t.Run(string(c.host), func(t *testing.T) {
			t.Parallel()
			wizardRealTailscaled(t, c.host, c.services)
		})
	}
}

func wizardRealTailscaled(t *testing.T, host lab.Host, services string) {
	n := startNodeHost(t, "1.102.3", lab.ModeIptablesNFT, lab.VariantDefault, host)
	cmd := n.Command(context.Background(), tsdoctor)
	shell := "TERM=xterm-256color " + lab.ShellJoin(cmd.Args) + "; sleep 30"
	s := lab.StartTmux(t, 100, 30, shell)
	s.Poll = 20 * time.Millisecond
	s.WaitFor("Blocked by tailscaled", 15*time.Second)
	s.Keys("Enter", "Enter", "Enter")
	s.WaitFor("Run the LOG trace?", 15*time.Second)
	s.Keys("n", "Enter")
	s.WaitFor("Rule discovery", 15*time.Second)
	s.WaitFor(services, 15*time.Second)
	s.Keys("Enter")
	s.WaitFor("Pick a remedy", 15*time.Second)
	s.Keys("k", "Enter")
	s.WaitFor("Apply it?", 15*time.Second)
	s.Keys("y")
	screen := s.WaitFor("Verified: Whitelist", 15*time.Second)
	if !strings.Contains(screen, "Healthy") {
		t.Errorf("header does not say healthy:\n%s", screen)
	}
	rules, err := n.InputRules(context.Background())
	if err != nil || len(rules) == 0 || !strings.Contains(rules[0], "tsdoctor-whitelist") {
		t.Errorf("real ts-input after the wizard: %q %v", rules, err)
	}
	rep, raw := check(t, n)
	if slices.ContainsFunc(rep.Blocked, func(b checks.BlockedService) bool { return b.Address.String() == lab.InternalDNS1 }) {
		t.Errorf("DNS still blocked after the wizard said verified:\n%s", raw)
	}
	s.Keys("u")
	s.WaitFor("Undone: everything it touched is as before.", 15*time.Second)
	s.Keys("q")
}
