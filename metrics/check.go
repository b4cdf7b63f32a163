package metrics

import (
	"strconv"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
)

// Verdicts are every verdict the check can give, each written as its own
// 0/1 series so an alert can match on the label without a missing series.
var Verdicts = []checks.Verdict{checks.Healthy, checks.Blocked, checks.Degraded, checks.Error}

// BuildInfo is tsdoctor_build_info: which tsdoctor wrote the file.
func BuildInfo(version string) Family {
	return Family{Name: "tsdoctor_build_info", Help: "tsdoctor's version; always 1.", Type: Gauge,
		Samples: []Sample{{Labels: L("version", version), Value: 1}}}
}

// Check is a check report as metrics; finished is when the check ended.
func Check(rep checks.Report, finished time.Time, version string) []Family {
	verdict := Family{Name: "tsdoctor_verdict", Type: Gauge,
		Help: "The check's verdict: 1 for the one it gave, 0 for the others (healthy, blocked, degraded, error)."}
	for _, v := range Verdicts {
		verdict.Samples = append(verdict.Samples, Sample{Labels: L("verdict", string(v)), Value: Bool(rep.Verdict == v)})
	}
	blocked := Family{Name: "tsdoctor_blocked", Type: Gauge,
		Help: "A service in 100.64.0.0/10 that does not answer because of Tailscale; cause rule: a firewall rule drops its replies, route: a route sends it into tailscale0."}
	for _, b := range rep.Blocked {
		blocked.Samples = append(blocked.Samples, Sample{Value: 1, Labels: L(
			"address", b.Address.String(), "port", strconv.Itoa(int(b.Port)), "service", string(b.Service), "cause", string(b.Cause))})
	}
	culprit := Family{Name: "tsdoctor_culprit_info", Type: Gauge,
		Help: "What blocks the services: kind rule (a firewall rule: its backend, table and chain) or route (a routing table, the device the route leads to); absent when nothing is blocked."}
	switch {
	case rep.Culprit != nil:
		c := rep.Culprit
		culprit.Samples = append(culprit.Samples, Sample{Value: 1, Labels: L(
			"kind", string(checks.CauseRule), "backend", string(c.Backend), "table", c.Table, "chain", c.Chain, "device", "")})
	case rep.Route != nil:
		c := rep.Route
		culprit.Samples = append(culprit.Samples, Sample{Value: 1, Labels: L(
			"kind", string(checks.CauseRoute), "backend", "", "table", c.TableName(), "chain", "", "device", c.Device)})
	}
	return []Family{
		verdict,
		{Name: "tsdoctor_blocked_services", Type: Gauge, Help: "How many services in 100.64.0.0/10 are blocked.",
			Samples: []Sample{{Value: float64(len(rep.Blocked))}}},
		blocked,
		culprit,
		{Name: "tsdoctor_check_duration_seconds", Type: Gauge, Help: "How long the check took.",
			Samples: []Sample{{Value: rep.Elapsed.Seconds()}}},
		{Name: "tsdoctor_last_check_timestamp_seconds", Type: Gauge, Help: "When the check ended, in seconds since the Unix epoch; alert when it grows old.",
			Samples: []Sample{{Value: float64(finished.UnixMilli()) / 1000}}},
		BuildInfo(version),
	}
}
