package metrics

import (
	"time"

	"github.com/tsdoctor/tsdoctor/fixes"
)

// unix is t in seconds since the epoch; 0 for the zero time (never).
func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

// Guard is the guard's counters as metrics.
func Guard(s fixes.GuardStats, version string) []Family {
	one := func(name, help string, t Type, v float64) Family {
		return Family{Name: name, Help: help, Type: t, Samples: []Sample{{Value: v}}}
	}
	outage := 0.0
	if !s.OutageStart.IsZero() {
		outage = s.OutageEnd.Sub(s.OutageStart).Seconds()
	}
	return []Family{
		one("tsdoctor_guard_start_timestamp_seconds", "When the guard started (its counters count from then).", Gauge, unix(s.Started)),
		one("tsdoctor_guard_last_pass_timestamp_seconds", "When the guard last checked ts-input; alert when it grows old.", Gauge, unix(s.LastPass)),
		one("tsdoctor_guard_passes_total", "Checks of ts-input: at start, on events, after them, and polls.", Counter, float64(s.Passes)),
		one("tsdoctor_guard_events_total", "tailscaled's own events received (link, IPN bus, socket).", Counter, float64(s.Events)),
		one("tsdoctor_guard_rebuilds_seen_total", "Checks that found the whitelist missing from a ts-input chain: tailscaled rebuilt it.", Counter, float64(s.RebuildsSeen)),
		one("tsdoctor_guard_reapplies_total", "Whitelists restored (one per ts-input chain).", Counter, float64(s.Reapplies)),
		one("tsdoctor_guard_errors_total", "Checks that failed to read or restore the firewall.", Counter, float64(s.Errors)),
		one("tsdoctor_guard_last_outage_start_timestamp_seconds", "Start of the last window without the whitelist, as the guard saw it (0: none yet).", Gauge, unix(s.OutageStart)),
		one("tsdoctor_guard_last_outage_end_timestamp_seconds", "End of the last window without the whitelist: the restore (0: none yet).", Gauge, unix(s.OutageEnd)),
		one("tsdoctor_guard_last_outage_seconds", "Length of the last window without the whitelist, from the check that saw it missing to the restore: a lower bound.", Gauge, outage),
		BuildInfo(version),
	}
}

// GuardWriter writes the guard's metrics file after the passes that matter:
// each one that changed a counter other than passes, and otherwise every
// Every (default 15 s), so the file stays fresh without a write per 10 ms
// burst re-check.
type GuardWriter struct {
	Path    string
	Version string
	Every   time.Duration
	// Now is the clock (default time.Now), for tests.
	Now func() time.Time

	last    fixes.GuardStats
	written time.Time
	wrote   bool
}

// Pass takes the stats after a pass and writes the file when due.
func (w *GuardWriter) Pass(s fixes.GuardStats) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	every := w.Every
	if every <= 0 {
		every = 15 * time.Second
	}
	changed := s.Events != w.last.Events || s.RebuildsSeen != w.last.RebuildsSeen || s.Reapplies != w.last.Reapplies || s.Errors != w.last.Errors
	if w.wrote && !changed && now().Sub(w.written) < every {
		return nil
	}
	if err := WriteFile(w.Path, Guard(s, w.Version)); err != nil {
		return err
	}
	w.last, w.written, w.wrote = s, now(), true
	return nil
}
