package fixes

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// PolicyRoute is remedy 7, for the second form of the conflict: a route in
// tailscaled's table 52 sends the VPC services into tailscale0. One policy
// rule per service, before tailscaled's rules (5210–5270), sends exactly
// those addresses to the main table, whose route leaves through the VPC
// gateway. tailscaled deletes only its own rules (by priority and table),
// so these survive its restarts; a oneshot unit adds them again at boot.
type PolicyRoute struct{}

// PolicyRoutePriority comes before tailscaled's first rule (5210).
const PolicyRoutePriority = 5200

// Files of the policy-rule unit.
const (
	PolicyRouteScript = "/usr/local/lib/tsdoctor/policy-route.sh"
	PolicyRouteUnit   = "/etc/systemd/system/tsdoctor-policy-route.service"
)

// RuleChange adds (or, with Delete, deletes) one policy rule over rtnetlink.
type RuleChange struct {
	Rule   hostinfo.PolicyRule `json:"rule"`
	Delete bool                `json:"delete,omitempty"`
}

// Inverse is the change that undoes c.
func (c RuleChange) Inverse() RuleChange { return RuleChange{Rule: c.Rule, Delete: !c.Delete} }

// Command is the same change as an `ip` command, for people to read.
func (c RuleChange) Command() string {
	verb := "add"
	if c.Delete {
		verb = "del"
	}
	return fmt.Sprintf("ip rule %s to %s lookup %s priority %d", verb, c.Rule.To, hostinfo.TableName(c.Rule.Table), c.Rule.Priority)
}

// PolicyRouting is the kernel's routing policy as the remedy sees it; tests
// substitute a fake.
type PolicyRouting interface {
	ListRules() ([]hostinfo.PolicyRule, error)
	AddRule(hostinfo.PolicyRule) error
	DelRule(hostinfo.PolicyRule) error
	// MainRoute is the main table's route to a, if any.
	MainRoute(a netip.Addr) (hostinfo.Route, bool)
}

// KernelRouting is the real PolicyRouting, over rtnetlink in the current
// network namespace (and /proc/net/route for the main table).
type KernelRouting struct{}

func (KernelRouting) ListRules() ([]hostinfo.PolicyRule, error) { return hostinfo.ListRules() }
func (KernelRouting) AddRule(r hostinfo.PolicyRule) error       { return hostinfo.AddRule(r) }
func (KernelRouting) DelRule(r hostinfo.PolicyRule) error       { return hostinfo.DelRule(r) }
func (KernelRouting) MainRoute(a netip.Addr) (hostinfo.Route, bool) {
	rs, err := hostinfo.DefaultPaths.ReadRoutes()
	if err != nil {
		return hostinfo.Route{}, false
	}
	return hostinfo.Lookup(rs, a)
}

func (h *Host) routing() PolicyRouting {
	if h.Routing != nil {
		return h.Routing
	}
	return KernelRouting{}
}

// changeRule makes one recorded rule change.
func (h *Host) changeRule(c RuleChange) error {
	if c.Delete {
		return h.routing().DelRule(c.Rule)
	}
	return h.routing().AddRule(c.Rule)
}

// policyRulesState is the policy rules as text, for Before and compare.
func (h *Host) policyRulesState() ([]string, error) {
	rules, err := h.routing().ListRules()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, r := range rules {
		out = append(out, r.String())
	}
	return out, nil
}

func (PolicyRoute) Info() Info {
	return Info{ID: PolicyRouteID, Name: "policy-route", Title: i18n.M("fix.7.title"), Short: i18n.M("fix.7.short"), Changes: i18n.M("fix.7.changes"),
		Promise: Promise{Restart: i18n.M("verify.restart.policy-route"), Reboot: i18n.M("verify.reboot.policy-route")},
		Tradeoffs: Tradeoffs{Invasive: Low, SurvivesRestart: LastsYes, SurvivesReboot: LastsUnit,
			Security: i18n.M("fix.7.security"), Loses: i18n.M("fix.7.loses"), Cost: i18n.M("fix.7.cost")}}
}

// captured lists the services the check found routed into tailscale0.
func captured(rep checks.Report) []netip.Addr {
	var out []netip.Addr
	for _, b := range rep.Blocked {
		if b.Cause == checks.CauseRoute && !slices.Contains(out, b.Address) {
			out = append(out, b.Address)
		}
	}
	return out
}

func (PolicyRoute) Applies(h *Host, rep checks.Report) Applicability {
	if len(captured(rep)) == 0 && len(ownPolicyRules(h)) == 0 {
		return nothingToFix(rep, i18n.M("fix.why.nocapture"))
	}
	return fits()
}

// Recommend: the second form has no rule to work around, a route to
// bypass, and a rule per service costs nothing else.
func (PolicyRoute) Recommend(rep checks.Report) Recommendation {
	if rep.Route == nil {
		return Recommendation{}
	}
	return rank(PolicyRouteID, 40, i18n.M("tui.rec.route", rep.Route.Prefix, rep.Route.TableName()))
}

// Verify: the services the rules cover are no longer blocked, by route or
// rule (a DROP the route hid would show up now).
func (PolicyRoute) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	v.Passed = p != nil && len(p.Allow) > 0
	for _, b := range v.Report.Blocked {
		if p != nil && slices.Contains(p.Allow, b.Address) {
			v.Passed = false
			v.Details = append(v.Details, i18n.M("verify.7.still", b.Address.String(), string(b.Cause)))
		}
	}
}

// ownPolicyRules are the rules this remedy writes that are in place now.
func ownPolicyRules(h *Host) []hostinfo.PolicyRule {
	rules, _ := h.routing().ListRules()
	var out []hostinfo.PolicyRule
	for _, r := range rules {
		if r.Priority == PolicyRoutePriority && r.Action == "lookup" && r.Table == hostinfo.TableMain && r.To.IsValid() && r.Mark == 0 {
			out = append(out, r)
		}
	}
	return out
}

func policyRule(a netip.Addr) hostinfo.PolicyRule {
	return hostinfo.PolicyRule{Priority: PolicyRoutePriority, To: netip.PrefixFrom(a, 32), Table: hostinfo.TableMain, Action: "lookup"}
}

func (r PolicyRoute) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	addrs := o.Allow
	if len(addrs) == 0 {
		addrs = captured(rep)
	}
	if len(addrs) == 0 {
		// Nothing captured now: maybe because our rules are in place, so
		// the plan is those rules, and applying again changes nothing.
		for _, pr := range ownPolicyRules(h) {
			addrs = append(addrs, pr.To.Addr())
		}
	}
	if len(addrs) == 0 {
		return nil, failure(i18n.M("fix.err.notapplies.check", int(PolicyRouteID), i18n.M("fix.why.nocapture")))
	}
	p := &Plan{Remedy: PolicyRouteID, Allow: addrs}
	existing, err := h.routing().ListRules()
	if err != nil {
		return nil, failureOf(err, i18n.M("fix.err.readrules", err))
	}
	for _, a := range addrs {
		main, ok := h.routing().MainRoute(a)
		if !ok || main.Iface == checks.TailscaleDevice {
			return nil, failure(i18n.M("fix.err.notapplies", int(PolicyRouteID), i18n.M("fix.why.nomain", a)))
		}
		pr := policyRule(a)
		if slices.Contains(existing, pr) {
			continue
		}
		c := RuleChange{Rule: pr}
		p.Actions = append(p.Actions, Action{Rule: &c})
		p.Steps = append(p.Steps, Step{Text: i18n.M("step.rule.add"), Command: c.Command()})
	}
	if main, ok := h.routing().MainRoute(addrs[0]); ok {
		via := main.Iface
		if main.Gateway.IsValid() {
			via = "via " + main.Gateway.String() + " dev " + main.Iface
		}
		p.note("fix.7.note.main", main.Dst.String()+" "+via)
	}
	script, unit := policyRouteFiles(addrs)
	p.addUnit(h, PolicyRouteScript, script, PolicyRouteUnit, unit)
	if rep.Route != nil && rep.Route.Reason == checks.ReasonExitNode || rep.Tailscale.Routing.UsesExitNode() {
		p.note("fix.7.note.exit")
	}
	return p, nil
}

// policyRouteFiles are the boot script and unit. The script deletes each
// rule before adding it, so running it twice leaves one rule per address.
func policyRouteFiles(addrs []netip.Addr) (script, unit string) {
	var list []string
	for _, a := range addrs {
		list = append(list, netip.PrefixFrom(a, 32).String())
	}
	script = fmt.Sprintf(`#!/bin/sh
# tsdoctor remedy 7: send the VPC services to the main table, before
# tailscaled's table 52 (policy rules 5210-5270) can send them into tailscale0.
# "stop" removes the rules again.
set -e
for to in %s; do
	ip rule del to "$to" lookup main priority %d 2>/dev/null || true
	[ "$1" = stop ] || ip rule add to "$to" lookup main priority %d
done
`, strings.Join(list, " "), PolicyRoutePriority, PolicyRoutePriority)
	unit = `[Unit]
Description=tsdoctor: route the VPC services around Tailscale's table 52 (remedy 7)
After=network-pre.target tailscaled.service
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=` + PolicyRouteScript + `
ExecStop=` + PolicyRouteScript + ` stop

[Install]
WantedBy=multi-user.target
`
	return script, unit
}
