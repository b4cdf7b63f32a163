package tsrules

import "testing"

func TestNormalizeRule(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"-A ts-input -p udp -m udp --dport 43075 -j ACCEPT", "-A ts-input -p udp -m udp --dport PORT -j ACCEPT"},
		{"udp dport 35018 counter packets 4 bytes 300 accept", "udp dport PORT counter accept"},
		{`iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter packets 12 bytes 900 drop`, `iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter drop`},
		{"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP", "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP"},
		// A port match of someone else's is a rule of its own, not hidden.
		{"-A ts-input -s 100.100.2.136/32 -p udp -m udp --dport 53 -m comment --comment x -j ACCEPT", "-A ts-input -s 100.100.2.136/32 -p udp -m udp --dport 53 -m comment --comment x -j ACCEPT"},
	} {
		if got := NormalizeRule(c.in); got != c.want {
			t.Errorf("NormalizeRule(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	rules := []string{"-A ts-input -i tailscale0 -j ACCEPT", "-A ts-input -p udp -m udp --dport 43075 -j ACCEPT"}
	if p := MagicsockPort(rules); p != "43075" {
		t.Errorf("MagicsockPort = %q", p)
	}
	if p := MagicsockPort([]string{"udp dport 35018 counter packets 1 bytes 2 accept"}); p != "35018" {
		t.Errorf("MagicsockPort(nft) = %q", p)
	}
}

func TestNormalizeRules(t *testing.T) {
	before := []string{"-A ts-input -i tailscale0 -j ACCEPT", "-A ts-input -p udp -m udp --dport 43075 -j ACCEPT"}
	after := []string{"-A ts-input -i tailscale0 -j ACCEPT", "-A ts-input -p udp -m udp --dport 41641 -j ACCEPT"}
	if a, b := NormalizeRules(before), NormalizeRules(after); len(a) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Errorf("a restart's new magicsock port is another rule: %q vs %q", a, b)
	}
}
