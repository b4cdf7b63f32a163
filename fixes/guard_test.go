package fixes

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// fakeLegacy is an iptables-legacy backend holding tailscaled's ts-input in
// memory: it counts reads (each costs the whole table on a real host) and
// applies the guard's batches.
type fakeLegacy struct {
	mu    sync.Mutex
	rules []string // ts-input, as -A lines
	reads int
}

var tsInputRef = firewall.ChainRef{Backend: firewall.IptablesLegacy, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"}

var tailscaledRules = []string{
	"-A ts-input -s 100.101.102.103/32 -i lo -j ACCEPT",
	"-A ts-input -i tailscale0 -j ACCEPT",
	"-A ts-input -p udp -m udp --dport 41641 -j ACCEPT",
	"-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN",
	"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP",
}

func (f *fakeLegacy) Backend() firewall.Backend { return firewall.IptablesLegacy }

func (f *fakeLegacy) chain() firewall.Chain {
	c := firewall.Chain{ChainRef: tsInputRef}
	for i, l := range f.rules {
		r, err := firewall.ParseIptablesRule(l)
		if err != nil {
			panic(err)
		}
		r.ChainRef, r.Position = tsInputRef, i+1
		c.Rules = append(c.Rules, r)
	}
	return c
}

func (f *fakeLegacy) InputPath(context.Context) firewall.BackendState {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	st := firewall.BackendState{Backend: firewall.IptablesLegacy, Present: true}
	if f.rules != nil {
		st.Tailscale = true
		st.Chains = []firewall.Chain{f.chain()}
	}
	return st
}

func (f *fakeLegacy) Chain(context.Context, firewall.ChainRef) (firewall.Chain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.chain(), nil
}

func (f *fakeLegacy) Insert(context.Context, firewall.ChainRef, int, firewall.Spec) error { return nil }
func (f *fakeLegacy) Delete(context.Context, firewall.ChainRef, firewall.Spec) error      { return nil }

func (f *fakeLegacy) Apply(_ context.Context, changes []firewall.Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range changes {
		line := "-A ts-input " + firewall.ShellJoin(c.Spec.IptablesArgs())
		i := slices.Index(f.rules, line)
		switch {
		case c.Delete && i >= 0:
			f.rules = slices.Delete(f.rules, i, i+1)
		case !c.Delete && (i < 0 || !c.IfMissing):
			f.rules = slices.Insert(f.rules, max(c.Pos-1, 0), line)
		}
	}
	return nil
}

// rebuild plays tailscaled starting: ts-input from scratch, whitelist gone.
func (f *fakeLegacy) rebuild() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = slices.Clone(tailscaledRules)
}

func (f *fakeLegacy) whitelisted() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rules) > 0 && strings.Contains(f.rules[0], "100.100.2.136")
}

func (f *fakeLegacy) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func startGuard(t *testing.T, f *fakeLegacy, o GuardOptions) {
	t.Helper()
	o.Allow = []netip.Addr{netip.MustParseAddr("100.100.2.136")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunGuard(ctx, firewall.NewHost(f), o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// guarded starts the guard on a freshly built fake ts-input and waits for
// its first whitelist.
func guarded(t *testing.T, o GuardOptions) *fakeLegacy {
	t.Helper()
	f := &fakeLegacy{}
	f.rebuild()
	startGuard(t, f, o)
	waitWhitelisted(t, f, time.Second, "start")
	return f
}

// readsDuring is how often the guard read the firewall in the next d.
func (f *fakeLegacy) readsDuring(d time.Duration) int {
	n := f.readCount()
	time.Sleep(d)
	return f.readCount() - n
}

func waitWhitelisted(t *testing.T, f *fakeLegacy, within time.Duration, what string) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if f.whitelisted() {
			return
		}
	}
	t.Fatalf("%s: whitelist not restored within %s: %q", what, within, f.rules)
}

// TestGuardIdleOnLegacy: with tailscaled's chains in iptables-legacy and
// its events watched, an idle guard does not read the firewall (each read
// costs the whole table); it used to poll every Interval there.
func TestGuardIdleOnLegacy(t *testing.T) {
	events := make(chan string)
	f := guarded(t, GuardOptions{Events: events, Interval: 5 * time.Millisecond, SafetyInterval: time.Hour})
	if extra := f.readsDuring(300 * time.Millisecond); extra > 0 {
		t.Errorf("idle guard read the firewall %d times in 300 ms", extra)
	}
}

// TestGuardBurstAfterEvent: tailscaled's event comes a little before its
// rebuild lands; the burst of re-checks after the event catches it.
func TestGuardBurstAfterEvent(t *testing.T) {
	events := make(chan string, 1)
	f := guarded(t, GuardOptions{Events: events, SafetyInterval: time.Hour, Burst: time.Second, BurstMin: 500 * time.Millisecond, BurstEvery: 5 * time.Millisecond})
	f.mu.Lock()
	f.rules = nil // tailscaled stopping: its cleanup removes the chains
	f.mu.Unlock()
	events <- "link tailscale0 new"
	time.Sleep(100 * time.Millisecond)
	f.rebuild()
	waitWhitelisted(t, f, 500*time.Millisecond, "rebuild after the event")
	// The burst ends (once the chain is whole, after BurstMin): back to
	// idle, no busy loop.
	time.Sleep(600 * time.Millisecond)
	if extra := f.readsDuring(300 * time.Millisecond); extra > 0 {
		t.Errorf("guard still reading %d times in 300 ms after the burst", extra)
	}
}

// TestGuardSafetyPoll: a rebuild without any event is still caught, by the
// safety poll.
func TestGuardSafetyPoll(t *testing.T) {
	events := make(chan string)
	f := guarded(t, GuardOptions{Events: events, SafetyInterval: 100 * time.Millisecond})
	f.rebuild()
	waitWhitelisted(t, f, time.Second, "rebuild without an event")
	// About 10 reads a second, not a busy loop.
	if extra := f.readsDuring(500 * time.Millisecond); extra > 8 {
		t.Errorf("%d reads in 500 ms with a 100 ms safety poll", extra)
	}
}

// TestGuardPollsWithoutEventSources: no events at all: polling at Interval.
func TestGuardPollsWithoutEventSources(t *testing.T) {
	f := guarded(t, GuardOptions{Interval: 20 * time.Millisecond})
	f.rebuild()
	waitWhitelisted(t, f, time.Second, "rebuild")
}

// TestGuardBurstOutlastsAWholeOldChain: an event may come before tailscaled
// tears the old chain down; the burst goes on for BurstMin even though the
// first checks find the chain whole and whitelisted.
func TestGuardBurstOutlastsAWholeOldChain(t *testing.T) {
	events := make(chan string, 1)
	f := guarded(t, GuardOptions{Events: events, SafetyInterval: time.Hour, Burst: 5 * time.Second, BurstMin: time.Second, BurstEvery: 5 * time.Millisecond})
	events <- "ipn prefs changed"
	time.Sleep(300 * time.Millisecond) // the old chain, whole, still in place
	f.rebuild()
	waitWhitelisted(t, f, 500*time.Millisecond, "rebuild 300 ms after the event")
}
