package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
)

// TestTailscaledEventsReal: the guard's view of the real tailscaled's IPN
// bus across a restart: the bus closes, the socket is created again, the
// bus reconnects and reports the state, with nothing read from the
// firewall. (Link events are tested in the fixes package and, with the
// whole guard, by TestRemediesRealTailscaled.)
func TestTailscaledEventsReal(t *testing.T) {
	n := startNode(t, "1.102.3", lab.ModeIptablesLegacy, lab.VariantDefault)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The link source runs in this test's own namespace, where no
	// tailscale0 exists: only the IPN bus speaks.
	events := fixes.TailscaledEvents(ctx, fixes.EventOptions{Socket: n.Socket(), Logf: t.Logf})
	var got []string
	next := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case ev := <-events:
				got = append(got, ev)
				if strings.Contains(ev, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q within %s; events: %q", want, within, got)
			}
		}
	}
	next("ipn bus connected", 5*time.Second)
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	next("ipn bus closed", 5*time.Second)
	next("ipn bus connected", 10*time.Second)
	next("ipn state", 30*time.Second)
	t.Logf("events: %q", got)
}
