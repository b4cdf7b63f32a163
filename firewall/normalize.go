package firewall

import "regexp"

// What changes in a rule's text without anyone changing the rule: its
// packet and byte counters (nft prints them), and the port of tailscaled's
// magicsock accept, which tailscaled picks anew at every start.
var (
	countersRE  = regexp.MustCompile(`counter packets \d+ bytes \d+`)
	magicsockRE = regexp.MustCompile(`^(-A \S+ -p udp -m udp --dport |udp dport )(\d+)( -j ACCEPT| counter accept)$`)
)

// StripCounters drops the counter values from a rule as iptables -S or nft
// print it (`counter packets 3 bytes 180` becomes `counter`).
func StripCounters(text string) string {
	return countersRE.ReplaceAllLiteralString(text, "counter")
}

// NormalizeRule is a rule's text with its counters dropped and the
// magicsock port shown as PORT: two texts that normalise alike are the same
// rule of tailscaled's, across restarts.
func NormalizeRule(text string) string {
	return magicsockRE.ReplaceAllString(StripCounters(text), "${1}PORT${3}")
}

// MagicsockPort finds the UDP port tailscaled accepts WireGuard on in its
// ts-input rules (random per start), or "" if none.
func MagicsockPort(rules []string) string {
	for _, r := range rules {
		if m := magicsockRE.FindStringSubmatch(StripCounters(r)); m != nil {
			return m[2]
		}
	}
	return ""
}
