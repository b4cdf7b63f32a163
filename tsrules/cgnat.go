// Package tsrules is what tsdoctor knows about tailscaled's firewall rules,
// in one place: the CGNAT range and tailscaled's rule for it (DROP, or RETURN
// under the node attribute), the rule orders of older and newer tailscaled,
// tsdoctor's own temporary trace rule and where it goes, and the
// normalisation that makes a rule's text compare equal across restarts.
// It sits just above firewall and asks nothing else; checks, fixes, the wizard,
// the lab and the e2e tests ask it instead of re-deriving the answers.
package tsrules

import (
	"net/netip"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// CGNAT is RFC 6598's shared address space, 100.64.0.0/10: tailscaled's
// addresses, and on Alibaba Cloud the VPC's DNS, metadata and mirrors.
var CGNAT = netip.MustParsePrefix("100.64.0.0/10")

// IsCGNATRule reports whether r is tailscaled's rule for 100.64.0.0/10
// arriving anywhere but tailscale0 (DROP, or RETURN under the node attribute).
func IsCGNATRule(r *firewall.Rule) bool {
	return r.Source == CGNAT && !r.SourceNegated && r.InIfaceNegated &&
		firewall.IfaceMatches(r.InIface, "tailscale0") && firewall.IsTailscaleChain(r.Chain)
}

// IsCGNATDrop reports whether r is tailscaled's CGNAT rule in its blocking
// form: DROP, or REJECT.
func IsCGNATDrop(r *firewall.Rule) bool {
	return IsCGNATRule(r) && (r.Verdict == firewall.Drop || r.Verdict == firewall.Reject)
}

// CGNATDrops are tailscaled's CGNAT DROP rules on the INPUT path, on every
// backend that holds one.
func CGNATDrops(snap *firewall.Snapshot) []firewall.Rule {
	if snap == nil {
		return nil
	}
	var out []firewall.Rule
	for _, r := range snap.Rules() {
		if IsCGNATDrop(&r) {
			out = append(out, r)
		}
	}
	return out
}

// OldRuleOrder reports whether the CGNAT rule comes before the ACCEPT of
// tailscale0 traffic, as tailscaled before 1.98 wrote it.
func OldRuleOrder(c *firewall.Chain) bool {
	cg, acc := -1, -1
	for i, r := range c.Rules {
		if IsCGNATRule(&r) && cg < 0 {
			cg = i
		}
		if r.Verdict == firewall.Accept && !r.InIfaceNegated && firewall.IfaceMatches(r.InIface, "tailscale0") && acc < 0 {
			acc = i
		}
	}
	return cg >= 0 && acc >= 0 && cg < acc
}
