package fixes

import "time"

// GuardStats are the guard's counters since it started, for the on-call
// engineer (guard --prometheus): how often tailscaled's rebuilds took the
// whitelist away, and how long the VPC's services were cut off the last time.
type GuardStats struct {
	Started time.Time
	// Passes: every check of ts-input (at start, on events, bursts, polls).
	Passes uint64
	// Events: tailscaled's own events (link, IPN bus, socket) received.
	Events uint64
	// RebuildsSeen: passes that found the whitelist missing from a ts-input
	// chain: tailscaled rebuilt it (or something else removed the rules).
	RebuildsSeen uint64
	// Reapplies: whitelist batches restored (one per chain).
	Reapplies uint64
	// Errors: passes that failed (read or apply).
	Errors   uint64
	LastPass time.Time
	// OutageStart..OutageEnd is the last window without the whitelist, as
	// the guard saw it: from the start of the pass that found it missing to
	// the end of its restore. It is a lower bound: the rebuild happened a
	// little before that pass, within milliseconds with nftables or
	// tailscaled's events, within --interval when polling.
	OutageStart, OutageEnd time.Time
}
