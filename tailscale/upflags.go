package tailscale

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// defaultControlURLs are the login servers `tailscale up` takes for its
// default (ipn.IsLoginServerSynonym).
var defaultControlURLs = []string{"", "https://controlplane.tailscale.com", "https://login.tailscale.com"}

// ErrExitNodeUnknown: the node uses an exit node whose address is not
// known, so `tailscale up` cannot restate it.
var ErrExitNodeUnknown = errors.New("the exit node in use has no known address")

// UpFlags are the `tailscale up` flags (Linux) that restate exactly the
// node's non-default prefs, read from `tailscale debug prefs`, with
// --netfilter-mode left to the caller. `up` resets (or refuses to change)
// every pref it is not told, and sets every one it is: a flag for a pref
// the node never set (say --hostname from the OS's name) would pin it. The
// mapping is tailscale's own (cmd/tailscale/cli/up.go, prefsToFlags);
// exitNodeIP is the address of the exit node in use (ExitNodeID), if any.
func UpFlags(prefs []byte, exitNodeIP string) ([]string, error) {
	var p struct {
		ControlURL             string
		RouteAll               bool
		CorpDNS                *bool
		ShieldsUp              bool
		RunSSH                 bool
		ExitNodeID             string
		ExitNodeIP             string
		ExitNodeAllowLANAccess bool
		AdvertiseTags          []string
		Hostname               string
		OperatorUser           string
		AdvertiseRoutes        []string
		AppConnector           struct{ Advertise bool }
		NoSNAT                 bool
		NoStatefulFiltering    *bool
		PostureChecking        bool
	}
	if err := json.Unmarshal(prefs, &p); err != nil {
		return nil, fmt.Errorf("tailscale debug prefs: unexpected output: %v", err)
	}
	var out []string
	flag := func(on bool, f string) {
		if on {
			out = append(out, f)
		}
	}
	known := false
	for _, u := range defaultControlURLs {
		known = known || strings.TrimRight(p.ControlURL, "/") == u
	}
	flag(!known, "--login-server="+p.ControlURL)
	flag(p.RouteAll, "--accept-routes")
	flag(p.CorpDNS != nil && !*p.CorpDNS, "--accept-dns=false")
	flag(p.ShieldsUp, "--shields-up")
	flag(p.RunSSH, "--ssh")
	exit := p.ExitNodeIP
	if exit == "" && p.ExitNodeID != "" {
		if exitNodeIP == "" {
			return nil, ErrExitNodeUnknown
		}
		exit = exitNodeIP
	}
	flag(exit != "", "--exit-node="+exit)
	flag(p.ExitNodeAllowLANAccess, "--exit-node-allow-lan-access")
	flag(len(p.AdvertiseTags) > 0, "--advertise-tags="+strings.Join(p.AdvertiseTags, ","))
	flag(p.Hostname != "", "--hostname="+p.Hostname)
	flag(p.OperatorUser != "", "--operator="+p.OperatorUser)
	var routes []string
	exitRoutes := false
	for _, r := range p.AdvertiseRoutes {
		if r == "0.0.0.0/0" || r == "::/0" {
			exitRoutes = true
		} else {
			routes = append(routes, r)
		}
	}
	flag(len(routes) > 0, "--advertise-routes="+strings.Join(routes, ","))
	flag(exitRoutes, "--advertise-exit-node")
	flag(p.AppConnector.Advertise, "--advertise-connector")
	flag(p.NoSNAT, "--snat-subnet-routes=false")
	// up's default is --stateful-filtering=false (NoStatefulFiltering
	// true); unset or false means filtering is on.
	flag(p.NoStatefulFiltering == nil || !*p.NoStatefulFiltering, "--stateful-filtering")
	flag(p.PostureChecking, "--report-posture")
	return out, nil
}
