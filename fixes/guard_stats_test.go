package fixes

import (
	"sync"
	"testing"
	"time"
)

// TestGuardStats: the counters the guard hands to OnPass: a rebuild seen
// and a re-apply at start and after each rebuild, tailscaled's events, and
// the last outage window inside the pass that restored the whitelist.
func TestGuardStats(t *testing.T) {
	f := &fakeLegacy{}
	f.rebuild()
	events := make(chan string, 1)
	var mu sync.Mutex
	var last GuardStats
	startGuard(t, f, GuardOptions{Events: events, SafetyInterval: time.Hour, Burst: 300 * time.Millisecond, BurstMin: 100 * time.Millisecond, BurstEvery: 5 * time.Millisecond,
		OnPass: func(s GuardStats) { mu.Lock(); last = s; mu.Unlock() }})
	get := func() GuardStats { mu.Lock(); defer mu.Unlock(); return last }
	waitStats := func(what string, ok func(GuardStats) bool) GuardStats {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if s := get(); ok(s) {
				return s
			}
		}
		t.Fatalf("%s: stats %+v", what, get())
		return GuardStats{}
	}
	s := waitStats("start", func(s GuardStats) bool { return s.Reapplies == 1 })
	if s.RebuildsSeen != 1 || s.Passes != 1 || s.Events != 0 || s.Errors != 0 || s.Started.IsZero() {
		t.Errorf("after start: %+v", s)
	}
	if s.OutageStart.IsZero() || s.OutageEnd.Before(s.OutageStart) || s.LastPass.Before(s.OutageEnd) {
		t.Errorf("start outage window: %+v", s)
	}
	first := s.OutageEnd
	events <- "link tailscale0 new"
	time.Sleep(20 * time.Millisecond)
	rebuilt := time.Now()
	f.rebuild()
	s = waitStats("rebuild", func(s GuardStats) bool { return s.Reapplies == 2 })
	if s.RebuildsSeen != 2 || s.Events != 1 || s.Passes < 3 {
		t.Errorf("after the rebuild: %+v", s)
	}
	if !s.OutageStart.After(first) || s.OutageEnd.Before(rebuilt) || s.OutageEnd.Sub(s.OutageStart) > time.Second {
		t.Errorf("the rebuild's outage window %v..%v (rebuilt at %v)", s.OutageStart, s.OutageEnd, rebuilt)
	}
}
