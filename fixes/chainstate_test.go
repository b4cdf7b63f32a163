package fixes

import (
	"context"
	"errors"
	"testing"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// readingLegacy is fakeLegacy whose reads behave like a real backend's: an
// interrupted read fails with the context's error, and a chain that does
// not exist is an error too.
type readingLegacy struct{ *fakeLegacy }

func (f readingLegacy) Chain(ctx context.Context, ref firewall.ChainRef) (firewall.Chain, error) {
	if err := ctx.Err(); err != nil {
		return firewall.Chain{}, err
	}
	if f.rules == nil {
		return firewall.Chain{}, errors.New("iptables: No chain/target/match by that name")
	}
	return f.fakeLegacy.Chain(ctx, ref)
}

// TestChainStateInterrupted: a read cut short by Ctrl-C is an error, not a
// chain that is gone. Recorded as gone before the fix, undo's comparison
// reported a difference that was never there (and a journal, a chain
// tailscaled had).
func TestChainStateInterrupted(t *testing.T) {
	f := readingLegacy{&fakeLegacy{rules: tailscaledRules}}
	h := &Host{Firewall: firewall.NewHost(f)}
	ctx, cancel := context.WithCancel(context.Background())
	if st, err := h.chainState(ctx, tsInputRef); err != nil || !st.Exists || len(st.Rules) != len(tailscaledRules) {
		t.Fatalf("live read: %+v, %v", st, err)
	}
	cancel()
	if st, err := h.chainState(ctx, tsInputRef); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted read: %+v, %v; want context.Canceled", st, err)
	}
	gone := &Host{Firewall: firewall.NewHost(readingLegacy{&fakeLegacy{}})}
	if st, err := gone.chainState(context.Background(), tsInputRef); err != nil || st.Exists {
		t.Errorf("a chain that is gone: %+v, %v; want a state that does not exist", st, err)
	}
}
