package firewall

import "regexp"

// countersRE is what changes in a rule's text without anyone changing the
// rule: its packet and byte counters, as nft prints them.
var countersRE = regexp.MustCompile(`counter packets \d+ bytes \d+`)

// StripCounters drops the counter values from a rule as iptables -S or nft
// print it (`counter packets 3 bytes 180` becomes `counter`).
func StripCounters(text string) string {
	return countersRE.ReplaceAllLiteralString(text, "counter")
}
