package fixes

import (
	"net/netip"
	"testing"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// TestWhitelistNeverWritesNativeIntoABuildingChain: while tailscaled builds
// ts-input with iptables-nft, a read can file the chain under the nftables
// backend (it is empty, or iptables-nft's read failed or came first). The
// guard then wrote native expressions into it, which made the table
// unreadable to iptables-nft ("table `filter' is incompatible") and to
// tailscaled itself, which could not finish its chains (seen on the booted
// host after a reboot with the guard enabled). A ts-input under nftables is
// written only when it is tailscaled's native chain.
func TestWhitelistNeverWritesNativeIntoABuildingChain(t *testing.T) {
	ref := firewall.ChainRef{Backend: firewall.NFTables, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"}
	rule := func(pos int, iface string, neg bool, src string, v firewall.Verdict) firewall.Rule {
		r := firewall.Rule{ChainRef: ref, Position: pos, InIface: iface, InIfaceNegated: neg, Verdict: v}
		if src != "" {
			r.Source = netip.MustParsePrefix(src)
		}
		return r
	}
	specs := SpecsFor(netip.MustParseAddr("100.100.2.136"), KnownServices, Narrow)
	for _, c := range []struct {
		name  string
		rules []firewall.Rule
		write bool
	}{
		{"empty, being built", nil, false},
		{"iptables-nft's rules so far (exact interface names)", []firewall.Rule{rule(1, "lo", false, "100.64.0.1/32", firewall.Accept), rule(2, "tailscale0", false, "", firewall.Accept)}, false},
		{"tailscaled's native chain (interface prefixes)", []firewall.Rule{rule(1, "tailscale0+", false, "", firewall.Accept), rule(2, "tailscale0+", true, "100.64.0.0/10", firewall.Drop)}, true},
	} {
		snap := &firewall.Snapshot{Backends: []firewall.BackendState{
			{Backend: firewall.IptablesNFT, Present: true, Err: "iptables-nft -S: resource temporarily unavailable"},
			{Backend: firewall.NFTables, Present: true, Tailscale: true, Chains: []firewall.Chain{{ChainRef: ref, Rules: c.rules}}},
		}}
		if got := snap.Writable(ref); got != c.write {
			t.Errorf("%s: Writable = %v, want %v", c.name, got, c.write)
		}
		batches := whitelistBatches(snap, specs, []firewall.ChainRef{ref})
		if (len(batches) > 0) != c.write {
			t.Errorf("%s: %d batches, want writes %v", c.name, len(batches), c.write)
		}
	}
	// iptables backends are written as always.
	legacy := firewall.ChainRef{Backend: firewall.IptablesLegacy, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"}
	if snap := (&firewall.Snapshot{}); !snap.Writable(legacy) {
		t.Error("an iptables-legacy chain is not writable")
	}
}
