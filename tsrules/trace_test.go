package tsrules

import (
	"testing"

	"github.com/tsdoctor/tsdoctor/firewall"
)

func TestTraceRule(t *testing.T) {
	nft := firewall.Snapshot{Backends: []firewall.BackendState{{Backend: firewall.IptablesNFT}, {Backend: firewall.NFTables, Tailscale: true}}}
	legacyDrop := &firewall.Rule{ChainRef: firewall.ChainRef{Backend: firewall.IptablesLegacy, Chain: "ts-input"}}
	for _, c := range []struct {
		name    string
		culprit *firewall.Rule
		snap    *firewall.Snapshot
		want    firewall.Backend
	}{
		{"the culprit's backend first", legacyDrop, &nft, firewall.IptablesLegacy},
		{"else where tailscaled's chains are", nil, &nft, firewall.NFTables},
		{"else iptables-nft", nil, &firewall.Snapshot{}, firewall.IptablesNFT},
		{"unreadable firewall", nil, nil, firewall.IptablesNFT},
	} {
		ch := TraceRule("1-2", c.culprit, c.snap)
		want := firewall.ChainRef{Backend: c.want, Family: firewall.IPv4, Table: "filter", Chain: "INPUT"}
		if ch.Ref != want || ch.Pos != 1 || ch.Delete || ch.Spec.Comment != TraceCommentPrefix+" 1-2" || ch.Spec.Source != CGNAT {
			t.Errorf("%s: %+v", c.name, ch)
		}
	}
}

func TestTraceStale(t *testing.T) {
	own := NewTraceID()
	for id, want := range map[string]bool{own: false, "1-5": false, "999999999-1": true, "nopid": true, "": true} {
		if got := TraceStale(id); got != want {
			t.Errorf("TraceStale(%q) = %v, want %v", id, got, want)
		}
	}
	if id, ok := TraceIDOf(TraceSpec(own).Comment); !ok || id != own {
		t.Errorf("TraceIDOf(TraceSpec(%q).Comment) = %q, %v", own, id, ok)
	}
}
