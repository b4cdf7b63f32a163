package tsrules

import (
	"testing"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// chain parses `iptables -S` lines (ParseIptablesRule takes the chain from
// their -A), numbered from 1.
func chain(t *testing.T, lines ...string) (c firewall.Chain) {
	t.Helper()
	for _, l := range lines {
		r, err := firewall.ParseIptablesRule(l)
		if err != nil {
			t.Fatal(err)
		}
		r.Position = len(c.Rules) + 1
		c.ChainRef, c.Rules = r.ChainRef, append(c.Rules, r)
	}
	return c
}

func TestCGNATRule(t *testing.T) {
	for _, c := range []struct {
		text           string
		isRule, isDrop bool
	}{
		{"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP", true, true},
		{"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j REJECT", true, true},
		{"-A ts-input -s 100.64.0.0/10 ! -i tailscale0+ -j DROP", true, true},   // nftables' iifname != "tailscale0*"
		{"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j RETURN", true, false}, // under the node attribute
		{"-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN", false, false},
		{"-A ts-input -s 100.64.0.0/10 -i tailscale0 -j DROP", false, false},
		{"-A INPUT -s 100.64.0.0/10 ! -i tailscale0 -j DROP", false, false}, // not tailscaled's chain
	} {
		r := chain(t, c.text).Rules[0]
		if got := IsCGNATRule(&r); got != c.isRule {
			t.Errorf("IsCGNATRule(%q) = %v", c.text, got)
		}
		if got := IsCGNATDrop(&r); got != c.isDrop {
			t.Errorf("IsCGNATDrop(%q) = %v", c.text, got)
		}
	}
}

func TestOldRuleOrder(t *testing.T) {
	old := chain(t,
		"-A ts-input -s 100.64.0.1/32 -i lo -j ACCEPT",
		"-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN",
		"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP",
		"-A ts-input -i tailscale0 -j ACCEPT")
	cur := chain(t,
		"-A ts-input -s 100.64.0.1/32 -i lo -j ACCEPT",
		"-A ts-input -i tailscale0 -j ACCEPT",
		"-A ts-input -p udp -m udp --dport 43075 -j ACCEPT",
		"-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN",
		"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP")
	if !OldRuleOrder(&old) || OldRuleOrder(&cur) {
		t.Errorf("OldRuleOrder: old %v, new %v", OldRuleOrder(&old), OldRuleOrder(&cur))
	}
	snap := &firewall.Snapshot{Backends: []firewall.BackendState{{Backend: firewall.IptablesNFT, Chains: []firewall.Chain{old, cur}}}}
	if d := CGNATDrops(snap); len(d) != 2 || d[0].Position != 3 || d[1].Position != 5 {
		t.Errorf("CGNATDrops = %+v", d)
	}
	if CGNATDrops(nil) != nil {
		t.Error("CGNATDrops(nil) is not nil")
	}
}
