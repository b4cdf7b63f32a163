package booted

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/host"
	"github.com/tsdoctor/tsdoctor/lab"
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
	s := lab.StartTmuxWith(t, func(args ...string) *exec.Cmd { return h.Command(ctx, "tmux", args...) }, 100, 30, "sudo tsdoctor; sleep 60")
	// Each tmux command goes through nsenter into the machine: type and
	// read a little slower.
	s.KeyPause, s.Poll = 80*time.Millisecond, 50*time.Millisecond
	s.WaitFor("Blocked by tailscaled", 30*time.Second)
	s.Keys("Enter", "Enter", "Enter")
	s.WaitFor("Run the LOG trace?", 15*time.Second)
	s.Keys("n", "Enter")
	s.WaitFor("Rule discovery", 15*time.Second)
	s.Keys("Enter")
	s.WaitFor("Pick a remedy", 15*time.Second)
	// To the top of the table, then one down: remedy 2, whatever is
	// recommended on this host.
	s.Keys("k", "k", "k", "k", "k", "k", "j")
	if c := s.Capture(); !strings.Contains(c, "▸ 2") {
		t.Fatalf("the cursor is not on remedy 2:\n%s", c)
	}
	s.Keys("Enter")
	s.WaitFor("Apply it?", 15*time.Second)
	s.Keys("y")
	screen := s.WaitFor("Verified: Whitelist", 60*time.Second)
	if !strings.Contains(screen, "Healthy") {
		t.Errorf("header does not say healthy:\n%s", screen)
	}
	mustResolveFast(t, h, "after the wizard's remedy 2")
	if st := strings.TrimSpace(sh(t, h, "systemctl is-enabled tsdoctor-whitelist")); st != "enabled" {
		t.Errorf("tsdoctor-whitelist.service is %q after the wizard, want enabled", st)
	}
	s.Keys("u")
	s.WaitFor("Undone: everything it touched is as before.", 60*time.Second)
	s.Keys("q")
	if after := state(t, h); after != before {
		t.Errorf("after the wizard's undo the host differs:\n%s", diffLines(strings.Split(before, "\n"), strings.Split(after, "\n")))
	}
}
