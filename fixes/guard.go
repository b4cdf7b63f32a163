package fixes

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// Guard is remedy 3: keep the whitelist in place whenever tailscaled
// rebuilds its chains, by a daemon that reacts to nftables change events
// (`tsdoctor guard`), or by the article's polling shell script.
type Guard struct{}

// Files of the guard.
const (
	GuardUnit   = "/etc/systemd/system/tsdoctor-guard.service"
	GuardScript = "/usr/local/lib/tsdoctor/guard.sh"
)

func (Guard) Info() Info {
	return Info{ID: GuardID, Name: "guard", Title: i18n.M("fix.3.title"), Short: i18n.M("fix.3.short"), Changes: i18n.M("fix.3.changes"),
		Promise: Promise{Restart: i18n.M("verify.restart.guard"), Reboot: i18n.M("verify.reboot.guard")},
		Tradeoffs: Tradeoffs{Invasive: Medium, SurvivesRestart: LastsYes, SurvivesReboot: LastsUnit,
			Security: i18n.M("fix.3.security"), Loses: i18n.M("fix.3.loses"), Cost: i18n.M("fix.3.cost")}}
}

func (Guard) Applies(h *Host, rep checks.Report) Applicability { return whitelistApplies(rep) }

// Recommend: wherever tailscaled is alive and a DROP blocks, the guard
// restores DNS now and keeps it through every rebuild; the reason says
// what lasts longer on this tailscaled and what to avoid.
func (Guard) Recommend(rep checks.Report) Recommendation {
	if !dropForm(rep) {
		return Recommendation{}
	}
	if rep.Orphaned {
		return rank(GuardID, 1)
	}
	why := []i18n.Msg{i18n.M("tui.rec.guard", rep.Culprit.Backend)}
	ts := rep.Tailscale
	switch {
	case ts.Installed && ts.HonoursNodeAttr():
		why = append(why, i18n.M("tui.rec.attr", ts.Version))
	case ts.Installed:
		why = append(why, i18n.M("tui.rec.oldattr", ts.Version))
	}
	if ts.ExitNode || len(ts.AdvertiseRoutes) > 0 {
		why = append(why, i18n.M("tui.rec.routes"))
	}
	return rank(GuardID, 20, why...)
}

// Verify: the whitelisted addresses answer, and the guard runs: its unit
// enabled and active, which with Type=notify means it said READY=1.
func (Guard) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	verifyWhitelisted(h, p, v)
	verifyKeeper(ctx, h, unitName(GuardUnit), keeperDaemon, v)
}

func (Guard) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	drops := tsrules.CGNATDrops(rep.Firewall)
	if len(drops) == 0 {
		return nil, failure(i18n.M("fix.err.3.nodrop"))
	}
	allow, specs, err := whitelistSpecs(rep, o)
	if err != nil {
		return nil, err
	}
	p := &Plan{Remedy: GuardID, Allow: allow}
	for _, batch := range whitelistBatches(rep.Firewall, specs, chainsOf(drops)) {
		p.addFirewall(batch)
	}
	interval := o.Interval
	if interval <= 0 {
		interval = time.Second
	}
	if o.GuardScript {
		if err := needScriptTools(drops[0].Backend); err != nil {
			return nil, err
		}
		notify := ""
		if h.Systemd && h.scriptNotifies(ctx) {
			notify = "all"
		}
		script := WhitelistShell(drops[0].Backend, specs, "guard (remedy 3, polling script)")
		p.addDaemonUnit(h, GuardScript, script, GuardUnit, guardUnit(GuardScript+" loop "+seconds(interval), "the article's polling script", notify))
		p.note("fix.3.note.script", seconds(interval))
		return p, nil
	}
	bin := o.Binary
	if bin == "" {
		bin, _ = os.Executable()
	}
	if err := h.needExecutable(bin); err != nil {
		return nil, err
	}
	if strings.HasPrefix(bin, os.TempDir()) || strings.Contains(bin, "/go-build") {
		p.note("fix.3.note.binary", bin)
	}
	exec := firewall.ShellJoin([]string{bin, "guard", "--allow", joinAddrs(allow), "--shape", string(shapeOr(o.Shape))})
	p.addDaemonUnit(h, "", "", GuardUnit, guardUnit(exec, "event-driven", "main"))
	return p, nil
}

func shapeOr(s Shape) Shape {
	if s == "" {
		return Narrow
	}
	return s
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

func joinAddrs(a []netip.Addr) string {
	s := make([]string, len(a))
	for i, x := range a {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

// PackagedGuardUnit is the guard unit the deb and rpm packages install (not
// enabled): the addresses come from /etc/default/tsdoctor.
func PackagedGuardUnit(bin string) string {
	u := guardUnit(bin+" guard --allow ${TSDOCTOR_GUARD_ALLOW} --shape ${TSDOCTOR_GUARD_SHAPE}", "event-driven", "main")
	return strings.Replace(u, "[Service]\n", "[Service]\nEnvironment=TSDOCTOR_GUARD_ALLOW=100.100.2.136,100.100.2.138,100.100.100.200 TSDOCTOR_GUARD_SHAPE=narrow\nEnvironmentFile=-/etc/default/tsdoctor\n", 1)
}

// guardUnit is the guard's unit. notify is how it says it is ready:
// "main" (tsdoctor guard sends READY=1 itself), "all" (the polling
// script runs systemd-notify, a child) or "" (systemd too old to wait for
// systemd-notify's message, see scriptNotify: the unit is active once
// started).
func guardUnit(execStart, what, notify string) string {
	service := "ExecStart=" + execStart + "\n"
	if notify != "" {
		service = `# The guard says READY=1 once its first pass is done and its watches are up:
# until then the unit is activating, and a guard that dies first fails its
# start (and the fix that started it).
Type=notify
` + service
		if notify == "all" {
			service += "NotifyAccess=all\n"
		}
	}
	return `[Unit]
Description=tsdoctor guard (` + what + `): keep the VPC's services in 100.64.0.0/10 whitelisted whenever tailscaled rebuilds its firewall
Documentation=https://github.com/tsdoctor/tsdoctor
After=tailscaled.service
PartOf=tailscaled.service

[Service]
` + service + `Restart=on-failure
RestartSec=1

[Install]
WantedBy=tailscaled.service
`
}

// KnownServices are the Alibaba Cloud services whose replies the narrow
// whitelist matches by port when the guard runs without a check report.
var KnownServices = []checks.BlockedService{
	{Address: netip.MustParseAddr("100.100.2.136"), Port: 53, Service: checks.ServiceDNS},
	{Address: netip.MustParseAddr("100.100.2.138"), Port: 53, Service: checks.ServiceDNS},
	{Address: netip.MustParseAddr("100.100.100.200"), Port: 80, Service: checks.ServiceMetadata},
}

// GuardOptions configure RunGuard.
type GuardOptions struct {
	Allow []netip.Addr
	Shape Shape
	// Services say which port each address serves, for narrow rules;
	// default KnownServices.
	Services []checks.BlockedService
	// Watch signals nf_tables changes (nil: none).
	Watch <-chan struct{}
	// Events names tailscaled's own events (TailscaledEvents): each starts a
	// burst of re-checks, because the rebuild lands a little after them.
	Events <-chan string
	// Burst is how long re-checks go on after an event at most (default
	// 10 s), BurstEvery the pause between them (default 10 ms). After
	// BurstMin (default 2 s) the burst ends once every ts-input holds its
	// CGNAT rule with the whitelist above it: the rebuild is over.
	Burst, BurstEvery, BurstMin time.Duration
	// Interval is the polling period when there is neither Watch nor
	// Events; default 1 s.
	Interval time.Duration
	// SafetyInterval is the polling period otherwise; default 60 s.
	SafetyInterval time.Duration
	// Once applies the whitelist once and returns.
	Once bool
	// Logf reports what the guard does.
	Logf func(format string, args ...any)
	// Verbose also reports passes that change nothing.
	Verbose bool
	// OnPass, when set, gets the guard's counters after every pass (for
	// guard --prometheus).
	OnPass func(GuardStats)
	// OnReady, when set, is called once, after the first pass that
	// succeeds (the watches were set up before RunGuard): the whitelist is
	// in place and every later rebuild is seen. `tsdoctor guard` tells systemd then
	// (READY=1), so its unit is active only once the guard really guards.
	OnReady func()
}

// RunGuard keeps the whitelist at the top of every ts-input chain: at start,
// on every nf_tables change, in a burst after each of tailscaled's events,
// and every SafetyInterval (Interval without any events). It returns when ctx
// ends (nil) or, with Once, after one pass.
//
// On iptables-legacy every check reads the whole table (about 70 ms of
// kernel time with 100,000 rules), so a guard that polled every second cost
// 17% of a core there; idle it now checks once a minute.
func RunGuard(ctx context.Context, fw *firewall.Host, o GuardOptions) error {
	if len(o.Allow) == 0 {
		return failure(i18n.M("fix.err.guard.noaddr"))
	}
	if o.Services == nil {
		o.Services = KnownServices
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.SafetyInterval <= 0 {
		o.SafetyInterval = time.Minute
	}
	if o.Burst <= 0 {
		o.Burst = 10 * time.Second
	}
	if o.BurstEvery <= 0 {
		o.BurstEvery = 10 * time.Millisecond
	}
	if o.BurstMin <= 0 {
		o.BurstMin = 2 * time.Second
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var specs []firewall.Spec
	for _, a := range o.Allow {
		specs = append(specs, SpecsFor(a, o.Services, shapeOr(o.Shape))...)
	}
	// settled: the last check found every ts-input whole (its CGNAT rule
	// present) with the whitelist above it.
	settled := false
	stats := GuardStats{Started: time.Now()}
	ensure := func(why string) error {
		start := time.Now()
		stats.Passes++
		settled = false
		snap := fw.Snapshot(ctx)
		var refs []firewall.ChainRef
		for _, b := range snap.Backends {
			for _, c := range b.Chains {
				if c.Chain == "ts-input" && c.Family == firewall.IPv4 {
					refs = append(refs, c.ChainRef)
				}
			}
		}
		batches := whitelistBatches(snap, specs, refs)
		settled = len(batches) == 0 && len(refs) > 0
		for _, ref := range refs {
			if c := snap.Chain(ref); c == nil || !slices.ContainsFunc(c.Rules, func(r firewall.Rule) bool { return tsrules.IsCGNATRule(&r) }) {
				settled = false
			}
		}
		if o.Verbose && len(batches) == 0 {
			logf("tsdoctor guard: %s: %d ts-input chain(s), whitelist in place (%s)", why, len(refs), time.Since(start).Round(time.Microsecond))
		}
		if len(batches) > 0 {
			stats.RebuildsSeen++
		}
		for _, batch := range batches {
			if err := applyBatch(ctx, fw, batch); err != nil {
				return err
			}
			stats.Reapplies++
			logf("tsdoctor guard: %s: restored %d whitelist rule(s) in %s %s/%s in %s",
				why, len(batch), batch[0].Ref.Backend, batch[0].Ref.Table, batch[0].Ref.Chain, time.Since(start).Round(time.Microsecond))
		}
		if len(batches) > 0 {
			stats.OutageStart, stats.OutageEnd = start, time.Now()
		}
		return nil
	}
	// pass is one check, counted and reported; the first that succeeds
	// makes the guard ready.
	ready := false
	pass := func(why string) error {
		err := ensure(why)
		if err != nil {
			stats.Errors++
		} else if !ready && !o.Once && o.OnReady != nil {
			ready = true
			o.OnReady()
		}
		stats.LastPass = time.Now()
		if o.OnPass != nil {
			o.OnPass(stats)
		}
		return err
	}
	if err := pass("start"); err != nil {
		if o.Once {
			return err
		}
		logf("tsdoctor guard: %v", err)
	}
	if o.Once {
		return nil
	}
	watch, events := o.Watch, o.Events
	var burstStart, burstUntil time.Time
	burstWhy := ""
	period := func() time.Duration {
		switch {
		case time.Now().Before(burstUntil):
			return o.BurstEvery
		case watch == nil && events == nil:
			return o.Interval
		}
		return o.SafetyInterval
	}
	tick := time.NewTimer(period())
	defer tick.Stop()
	for {
		var err error
		tick.Reset(period())
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-watch:
			if !ok {
				watch = nil
				logf("tsdoctor guard: nftables change events stopped")
				continue
			}
			err = pass("firewall changed")
		case ev, ok := <-events:
			if !ok {
				events = nil
				logf("tsdoctor guard: tailscaled events stopped")
				continue
			}
			if o.Verbose {
				logf("tsdoctor guard: event: %s", ev)
			}
			stats.Events++
			burstStart, burstUntil, burstWhy = time.Now(), time.Now().Add(o.Burst), ev
			err = pass(ev)
		case <-tick.C:
			if time.Now().Before(burstUntil) {
				err = pass("after " + burstWhy)
				if settled && time.Since(burstStart) >= o.BurstMin {
					burstUntil = time.Time{} // rebuilt and whitelisted: back to idle
				}
			} else {
				err = pass("poll")
			}
		}
		if err != nil && ctx.Err() == nil {
			// tailscaled may be rebuilding the chain right now; the next
			// event or tick tries again.
			logf("tsdoctor guard: %v", err)
		}
	}
}

func applyBatch(ctx context.Context, fw *firewall.Host, batch []firewall.Change) error {
	b := fw.Backend(batch[0].Ref.Backend)
	if b == nil {
		return fmt.Errorf("no %s backend", batch[0].Ref.Backend)
	}
	return b.Apply(ctx, batch)
}
