package harness

import (
	"slices"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// CheckUntil re-runs check until cond holds (tailscaled applies a new
// netmap within a second or so) or d passes, and returns the last.
func CheckUntil(d time.Duration, check func() (wire.Check, string), cond func(wire.Check) bool) (wire.Check, string, bool) {
	deadline := time.Now().Add(d)
	for {
		rep, raw := check()
		if cond(rep) {
			return rep, raw, true
		}
		if time.Now().After(deadline) {
			return rep, raw, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// RouteCulprit: the verdict blames a route into tailscale0.
func RouteCulprit(rep wire.Check) bool {
	return rep.Verdict == checks.Blocked && rep.Culprit != nil && rep.Culprit.Kind == "route"
}

// DNSFree: neither VPC DNS is blocked and the DNS step passes (with an
// exit node the internet targets may still go nowhere, so the verdict need
// not be healthy).
func DNSFree(rep wire.Check) bool {
	if slices.ContainsFunc(rep.Blocked, func(b checks.BlockedService) bool {
		return b.Address.String() == lab.InternalDNS1 || b.Address.String() == lab.InternalDNS2
	}) {
		return false
	}
	return slices.ContainsFunc(rep.Steps, func(s wire.CheckStep) bool { return s.ID == "dns" && s.Status == checks.Pass })
}
