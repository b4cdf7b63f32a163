package tailscale

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// Peer is a tailnet peer as `tailscale status --json` shows it, as far as
// the routes it brings into table 52 go.
type Peer struct {
	ID            string
	HostName      string
	DNSName       string
	TailscaleIPs  []netip.Addr
	AllowedIPs    []netip.Prefix
	PrimaryRoutes []netip.Prefix // subnet routes it serves
	ExitNode      bool           // this host uses it as exit node
	Online        bool
}

// Name is how to call the peer in a sentence: its MagicDNS name, else its
// host name.
func (p Peer) Name() string {
	if n := strings.TrimSuffix(p.DNSName, "."); n != "" {
		return n
	}
	return p.HostName
}

// Routing is what the CLI says about the routes tailscaled puts in its
// table 52: accepted subnet routes, the exit node in use, and the peers.
type Routing struct {
	// AcceptRoutes is the pref RouteAll (`--accept-routes`); nil when
	// the prefs could not be read.
	AcceptRoutes *bool
	// ExitNodeID is the exit node pref (`--exit-node`), its StableNodeID.
	ExitNodeID string
	ExitNodeIP string
	// AllowLANAccess is `--exit-node-allow-lan-access`.
	AllowLANAccess bool
	Peers          []Peer
}

// ExitNode returns the peer this host uses as exit node, if any.
func (r Routing) ExitNode() (Peer, bool) {
	for _, p := range r.Peers {
		if p.ExitNode || (r.ExitNodeID != "" && p.ID == r.ExitNodeID) {
			return p, true
		}
	}
	return Peer{}, false
}

// UsesExitNode reports whether the prefs or the status name an exit node.
func (r Routing) UsesExitNode() bool {
	_, ok := r.ExitNode()
	return ok || r.ExitNodeID != "" || r.ExitNodeIP != ""
}

// ParsePeersJSON reads the peers and the exit node status from
// `tailscale status --json`.
func ParsePeersJSON(b []byte) ([]Peer, error) {
	var raw struct {
		ExitNodeStatus *struct{ ID string }
		Peer           map[string]*struct {
			ID            string
			HostName      string
			DNSName       string
			TailscaleIPs  []netip.Addr
			AllowedIPs    []netip.Prefix
			PrimaryRoutes []netip.Prefix
			ExitNode      bool
			Online        bool
		}
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("tailscale status --json: unexpected output: %v", err)
	}
	var out []Peer
	for _, p := range raw.Peer {
		if p == nil {
			continue
		}
		exit := p.ExitNode || (raw.ExitNodeStatus != nil && raw.ExitNodeStatus.ID != "" && raw.ExitNodeStatus.ID == p.ID)
		out = append(out, Peer{ID: p.ID, HostName: p.HostName, DNSName: p.DNSName, TailscaleIPs: p.TailscaleIPs,
			AllowedIPs: p.AllowedIPs, PrimaryRoutes: p.PrimaryRoutes, ExitNode: exit, Online: p.Online})
	}
	// Map order is random; reports are not.
	sortPeers(out)
	return out, nil
}

func sortPeers(ps []Peer) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Name() < ps[j-1].Name(); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// parseRoutePrefs reads the routing prefs from `tailscale debug prefs`.
func parseRoutePrefs(b []byte, r *Routing) error {
	var raw struct {
		RouteAll               *bool
		ExitNodeID             string
		ExitNodeIP             string
		ExitNodeAllowLANAccess bool
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("tailscale debug prefs: unexpected output: %v", err)
	}
	r.AcceptRoutes, r.ExitNodeID, r.ExitNodeIP, r.AllowLANAccess = raw.RouteAll, raw.ExitNodeID, raw.ExitNodeIP, raw.ExitNodeAllowLANAccess
	return nil
}
