package e2e

import (
	"context"
	"fmt"
	"os"
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
	socket := fmt.Sprintf("tsdoctor-e2e-%d-%s", os.Getpid(), host)
	cmd := n.Command(context.Background(), tsdoctor)
	shell := "TERM=xterm-256color " + lab.ShellJoin(cmd.Args) + "; sleep 30"
	if out, err := exec.Command("tmux", "-L", socket, "new-session", "-d", "-s", "w", "-x", "100", "-y", "30", shell).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	defer exec.Command("tmux", "-L", socket, "kill-server").Run()
	capture := func() string {
		out, _ := exec.Command("tmux", "-L", socket, "capture-pane", "-p", "-t", "w").Output()
		return string(out)
	}
	waitFor := func(s string) string {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if c := capture(); strings.Contains(c, s) {
				return c
			} else if time.Now().After(deadline) {
				t.Fatalf("screen never showed %q:\n%s", s, c)
			}
		}
	}
	keys := func(ks ...string) {
		for _, k := range ks {
			exec.Command("tmux", "-L", socket, "send-keys", "-t", "w", k).Run()
			time.Sleep(60 * time.Millisecond)
		}
	}
	waitFor("Blocked by tailscaled")
	keys("Enter", "Enter", "Enter")
	waitFor("Run the LOG trace?")
	keys("n", "Enter")
	waitFor("Rule discovery")
	waitFor(services)
	keys("Enter")
	waitFor("Pick a remedy")
	keys("k", "Enter")
	waitFor("Apply it?")
	keys("y")
	screen := waitFor("Verified: Whitelist")
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
	keys("u")
	waitFor("Undone: everything it touched is as before.")
	keys("q")
}
