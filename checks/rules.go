package checks

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// rules is the article's rule discovery: tailscale's chains on every backend,
// the CGNAT rule, its position and counters, and which rule order this
// tailscaled writes.
func rules(ctx context.Context, r *run) Finding {
	f := Finding{Commands: []string{"iptables -S ts-input", "iptables -L ts-input -v -n -x --line-numbers"}}
	// The legacy tables' own command, where it is not the plain `iptables`
	// (on CentOS 7 and Ubuntu 18.04 it is, and no iptables-legacy exists).
	if _, err := exec.LookPath("iptables-legacy"); err == nil {
		f.Commands = append(f.Commands, "iptables-legacy -S ts-input")
	}
	f.Commands = append(f.Commands, "nft list chain ip filter ts-input")
	fw := r.firewall()
	if fw.snap == nil {
		f.Status, f.Summary = Skip, fw.err
		return f
	}
	for _, sw := range r.swept.Rules {
		f.add("rules.swept", sw.Text)
	}
	for _, t := range r.swept.Tables {
		f.add("rules.swepttable", t)
	}
	for _, b := range fw.snap.Backends {
		if b.Err != "" {
			f.add("rules.backenderr", b.Backend, b.Err)
		}
	}
	var cgnat []firewall.Rule
	for _, b := range fw.snap.Backends {
		for _, c := range b.Chains {
			if !firewall.IsTailscaleChain(c.Chain) {
				continue
			}
			f.add("rules.chain", b.Backend, c.Table, c.Chain, len(c.Rules))
			for _, rule := range c.Rules {
				f.raw(fmt.Sprintf("  %2d  %8d pkts  %s", rule.Position, rule.Packets, rule.Text))
				if tsrules.IsCGNATRule(&rule) {
					cgnat = append(cgnat, rule)
				}
			}
		}
	}
	tsBackends := fw.snap.TailscaleBackends()
	if len(tsBackends) > 0 && r.tailscale().DaemonDown() {
		// First, so the wizard and `check -v` show it above the rules.
		f.Evidence = append([]i18n.Msg{i18n.M("rules.orphaned")}, f.Evidence...)
	}
	if len(tsBackends) > 1 {
		f.add("rules.multi", fmt.Sprint(tsBackends))
	}
	if len(tsBackends) == 0 {
		ts := r.tailscale()
		switch {
		case ts.Installed && ts.NetfilterMode == "off":
			f.add("rules.nfoff")
		case ts.Installed && ts.BackendState != "Running":
			f.add("rules.notrunning")
		}
		f.Status, f.Summary = Pass, i18n.M("rules.sum.none")
		return f
	}
	var drop *firewall.Rule
	for i := range cgnat {
		if tsrules.IsCGNATDrop(&cgnat[i]) {
			drop = &cgnat[i]
		}
	}
	if drop == nil {
		if len(cgnat) > 0 {
			f.add("rules.return", ruleName(&cgnat[0]))
		}
		f.Status, f.Summary = Pass, i18n.M("rules.sum.return")
		return f
	}
	if ts := r.tailscale(); ts.NodeAttr && !ts.HonoursNodeAttr() {
		f.add("rules.attr.old", ts.Version, tailscale.CGNATAttrSince.String())
	}
	if c := fw.snap.Chain(drop.ChainRef); c != nil {
		if tsrules.OldRuleOrder(c) {
			f.add("rules.order.old")
		} else {
			f.add("rules.order.new")
		}
	}
	blocked := false
	for _, p := range r.probeSet().probes {
		if c := p.culprit(); c != nil && sameRule(c, drop) {
			blocked = true
			if c.Packets > drop.Packets {
				drop = c // the later read: counters include our probes
			}
		}
	}
	if blocked {
		f.Status, f.Summary = Fail, i18n.M("rules.sum.culprit", drop.Position, drop.Chain, drop.Backend, drop.Packets)
	} else {
		f.Status, f.Summary = Warn, i18n.M("rules.sum.latent", drop.Position, drop.Chain, drop.Backend)
	}
	return f
}

// ruleName names a rule for humans: backend, chain, position and text.
func ruleName(r *firewall.Rule) string {
	if r == nil {
		return "?"
	}
	return fmt.Sprintf("%s %s/%s #%d «%s»", r.Backend, r.Table, r.Chain, r.Position, r.Text)
}
