// Package checks is tsdoctor's diagnosis engine: the article's steps
// (connectivity, DNS, MagicDNS, LOG trace, rule discovery, services) as named
// checks, each returning a Finding. Checks talk to the machine only through
// the small interfaces in Env, so the CLI, the wizard and the tests all drive
// the same engine.
package checks

import (
	"context"
	"net/netip"
	"time"

	"github.com/tsdoctor/tsdoctor/cloud"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/netprobe"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// Status is a finding's outcome.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// StepID names a step of the diagnosis. Its string is the step's "id" in
// the JSON output and the word `check --only` takes.
type StepID string

const (
	StepConnectivity StepID = "connectivity"
	StepDNS          StepID = "dns"
	StepMagicDNS     StepID = "magicdns"
	StepTrace        StepID = "trace"
	StepRules        StepID = "rules"
	StepServices     StepID = "services"
)

// stepKeys are each step's i18n keys, written out as literals so the i18n
// key test can check every one against the catalog.
var stepKeys = map[StepID]struct{ title, explain string }{
	StepConnectivity: {title: "step.connectivity", explain: "explain.connectivity"},
	StepDNS:          {title: "step.dns", explain: "explain.dns"},
	StepMagicDNS:     {title: "step.magicdns", explain: "explain.magicdns"},
	StepTrace:        {title: "step.trace", explain: "explain.trace"},
	StepRules:        {title: "step.rules", explain: "explain.rules"},
	StepServices:     {title: "step.services", explain: "explain.services"},
}

// TitleKey is the i18n key of the step's title ("" for an unknown step,
// which i18n renders visibly wrong).
func (s StepID) TitleKey() string { return stepKeys[s].title }

// ExplainKey is the i18n key of the step's longer explanation.
func (s StepID) ExplainKey() string { return stepKeys[s].explain }

// Finding is what one step found.
type Finding struct {
	ID       StepID
	Status   Status
	Summary  i18n.Msg
	Evidence []i18n.Msg
	// Commands are the manual commands that do what this step did.
	Commands []string
	// Explain is the i18n key of the step's longer explanation.
	Explain string
	Elapsed time.Duration
	// Paths are the replies' ways through nf_tables (the trace step, with
	// the packet trace).
	Paths []nftrace.Path
}

func (f *Finding) add(key string, args ...any) { f.Evidence = append(f.Evidence, i18n.M(key, args...)) }
func (f *Finding) raw(s string)                { f.Evidence = append(f.Evidence, i18n.Raw(s)) }

// Verdict is the overall answer.
type Verdict string

const (
	Healthy  Verdict = "healthy"
	Blocked  Verdict = "blocked"  // the CGNAT conflict is found
	Degraded Verdict = "degraded" // something else is wrong
	Error    Verdict = "error"    // could not check
)

// BlockedService is a service in 100.64.0.0/10 whose replies are dropped.
type BlockedService struct {
	Address netip.Addr `json:"address"`
	Port    uint16     `json:"port"`
	Service Service    `json:"service"`
	// Cause: a rule drops its replies, or a route sends it into tailscale0.
	Cause Cause `json:"cause,omitempty"`
}

// Service is what an address in 100.64.0.0/10 serves this host, as the
// probes and the routing tables name it. Its string is the JSON "service".
// A cloud profile's services keep their kind (cloud.Kind*: metadata, ntp,
// mirror, ...).
type Service string

const (
	ServiceDNS       Service = cloud.KindDNS      // a resolver from resolv.conf
	ServiceMetadata  Service = cloud.KindMetadata // a cloud's metadata service
	ServiceInternet  Service = "internet"         // an address that proves the uplink (not in 100.64/10)
	ServiceRoute     Service = "route"            // the target of a route into 100.64/10
	ServiceNeighbour Service = "neighbour"        // a neighbour table entry in 100.64/10
)

// ProbeKind is how a probe asks.
type ProbeKind string

const (
	ProbeUDP     ProbeKind = "udp"     // a DNS query over UDP
	ProbeTCP     ProbeKind = "tcp"     // a DNS query over TCP
	ProbeConnect ProbeKind = "connect" // a TCP connect
	ProbeHTTP    ProbeKind = "http"    // an HTTP GET
)

// Cause is what blocks a service.
type Cause string

const (
	CauseRule  Cause = "rule"  // a netfilter rule drops the replies
	CauseRoute Cause = "route" // a route sends the packets into tailscale0
)

// Env is the host, seen through small interfaces.
type Env struct {
	// Firewall is nil when it cannot be read (not root).
	Firewall  *firewall.Host
	Tailscale tailscale.Runner
	Paths     hostinfo.Paths
	Probe     netprobe.Prober
	// KernelLog opens the kernel log for the LOG trace.
	KernelLog func() (*hostinfo.KernelLog, error)
	// NFTrace runs nftables packet traces (nftrace.Namespace); nil: none.
	NFTrace nftrace.Tracer
	// Root: the process may read and change the firewall.
	Root bool
	// Interface reports whether a network interface exists.
	Interface func(name string) bool
	// Now is the clock.
	Now func() time.Time
	// RouteLookup asks the kernel which route a packet to an address
	// takes (hostinfo.LookupRoute); nil skips the routing step.
	RouteLookup func(netip.Addr) (hostinfo.RouteHit, error)
	// PolicyRules lists the policy rules, for evidence; may be nil.
	PolicyRules func() ([]hostinfo.PolicyRule, error)
}

// Options tune a run.
type Options struct {
	// Timeout bounds the whole check.
	Timeout time.Duration
	// ProbeTimeout bounds each probe that gets no answer.
	ProbeTimeout time.Duration
	// Internet are the addresses reached by IP to prove the uplink works.
	Internet []netip.AddrPort
	// QueryName is the name asked of every resolver.
	QueryName string
	// Trace runs the packet trace (a temporary nftables table) and the
	// article's LOG trace (a temporary LOG rule), both always removed.
	Trace bool
	// PathTrace runs only the packet trace (the wizard's verify screen
	// traces again after a remedy, with the consent given for Trace).
	PathTrace bool
	// TraceID names the trace rule (tsrules.TraceSpec); empty: a fresh one. The
	// wizard sets it so the rule it shows is the rule inserted.
	TraceID string
	// ECS (--ecs) says this host is Alibaba Cloud ECS even if DMI does not:
	// its profile's services (the metadata service) are probed.
	ECS bool
	// Only runs just these steps (by ID); empty runs all.
	Only []StepID
	// Progress, when set, is called as each step finishes.
	Progress func(Finding)
}

// DefaultOptions are what `tsdoctor check` uses without flags.
func DefaultOptions() Options {
	return Options{
		Timeout:      8 * time.Second,
		ProbeTimeout: 1500 * time.Millisecond,
		Internet:     []netip.AddrPort{netip.MustParseAddrPort("223.5.5.5:53"), netip.MustParseAddrPort("223.6.6.6:53")},
		QueryName:    "example.com",
	}
}

// Report is the result of a whole check.
type Report struct {
	Verdict Verdict
	Culprit *firewall.Rule
	// Route is the culprit when it is a route, not a rule: the first
	// blocked service's packets are sent into tailscale0. At most one of
	// Culprit and Route is set.
	Route     *RouteCapture
	Blocked   []BlockedService
	Tailscale tailscale.State
	Steps     []Finding
	// Firewall is the INPUT path as read, for the rules step and the fixes.
	Firewall *firewall.Snapshot
	// Cloud is the cloud this host is on (Unknown when no profile matches)
	// and what said so; remedy 4's resolvers and wording come from it.
	Cloud cloud.Detection
	// Orphaned: tailscaled is not running but its ts-* rules are still in
	// the firewall (it was killed or crashed before it could remove them).
	Orphaned bool
	// Hint says what to do when the verdict is Error.
	Hint    i18n.Msg
	Elapsed time.Duration
}

// Step is one named check.
type Step struct {
	ID  StepID
	Run func(ctx context.Context, r *run) Finding
}
