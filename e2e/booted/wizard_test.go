package booted

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/host"
)

// TestWizardBooted: `sudo tsdoctor` as an admin runs it, in tmux inside the
// booted host (no DMI: not detected as ECS, no --ecs), the installed
// package's binary: walk the steps, pick the whitelist, confirm; the screen
// says verified and the host agrees (DNS answers, the unit is enabled);
// undo puts the host back as it was.
func TestWizardBooted(t *testing.T) {
	t.Parallel()
	h := boot(t, host.Static, nil)
	ctx := context.Background()
	before := state(t, h)
	tmux := func(args ...string) string {
		out, _ := h.Command(ctx, "tmux", args...).CombinedOutput()
		return string(out)
	}
	if out, err := h.Exec(ctx, "tmux", "new-session", "-d", "-s", "w", "-x", "100", "-y", "30", "sudo tsdoctor; sleep 60"); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	defer tmux("kill-server")
	capture := func() string { return tmux("capture-pane", "-p", "-t", "w") }
	waitFor := func(s string, d time.Duration) string {
		t.Helper()
		for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
			if c := capture(); strings.Contains(c, s) {
				return c
			} else if time.Now().After(deadline) {
				t.Fatalf("screen never showed %q:\n%s", s, c)
			}
		}
	}
	keys := func(ks ...string) {
		for _, k := range ks {
			tmux("send-keys", "-t", "w", k)
			time.Sleep(80 * time.Millisecond)
		}
	}
	waitFor("Blocked by tailscaled", 30*time.Second)
	keys("Enter", "Enter", "Enter")
	waitFor("Run the LOG trace?", 15*time.Second)
	keys("n", "Enter")
	waitFor("Rule discovery", 15*time.Second)
	keys("Enter")
	waitFor("Pick a remedy", 15*time.Second)
	// To the top of the table, then one down: remedy 2, whatever is
	// recommended on this host.
	keys("k", "k", "k", "k", "k", "k", "j")
	if c := capture(); !strings.Contains(c, "▸ 2") {
		t.Fatalf("the cursor is not on remedy 2:\n%s", c)
	}
	keys("Enter")
	waitFor("Apply it?", 15*time.Second)
	keys("y")
	screen := waitFor("Verified: Whitelist", 60*time.Second)
	if !strings.Contains(screen, "Healthy") {
		t.Errorf("header does not say healthy:\n%s", screen)
	}
	mustResolveFast(t, h, "after the wizard's remedy 2")
	if s := strings.TrimSpace(sh(t, h, "systemctl is-enabled tsdoctor-whitelist")); s != "enabled" {
		t.Errorf("tsdoctor-whitelist.service is %q after the wizard, want enabled", s)
	}
	keys("u")
	waitFor("Undone: everything it touched is as before.", 60*time.Second)
	keys("q")
	if after := state(t, h); after != before {
		t.Errorf("after the wizard's undo the host differs:\n%s", diffLines(strings.Split(before, "\n"), strings.Split(after, "\n")))
	}
}
