package tsrules

import (
	"regexp"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// magicsockRE is tailscaled's magicsock accept, whose port tailscaled picks
// anew at every start (iptables -S and nft forms, counters stripped).
var magicsockRE = regexp.MustCompile(`^(-A \S+ -p udp -m udp --dport |udp dport )(\d+)( -j ACCEPT| counter accept)$`)

// NormalizeRule is a rule's text with its counters dropped and the
// magicsock port shown as PORT: two texts that normalise alike are the same
// rule of tailscaled's, across restarts.
func NormalizeRule(text string) string {
	return magicsockRE.ReplaceAllString(firewall.StripCounters(text), "${1}PORT${3}")
}

// NormalizeRules is NormalizeRule of each rule.
func NormalizeRules(rules []string) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = NormalizeRule(r)
	}
	return out
}

// MagicsockPort finds the UDP port tailscaled accepts WireGuard on in its
// ts-input rules (random per start), or "" if none.
func MagicsockPort(rules []string) string {
	for _, r := range rules {
		if m := magicsockRE.FindStringSubmatch(firewall.StripCounters(r)); m != nil {
			return m[2]
		}
	}
	return ""
}
