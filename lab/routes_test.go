package lab

import (
	"encoding/json"
	"strings"
	"testing"
)

// checkRouteLab: a route scenario sends the VPC DNS into tailscale0 (no
// reply, although no rule drops it), tailscaled's policy rules are in place,
// and the fake CLI shows the peer that brings the route; accepting no routes
// / leaving the exit node gives the VPC DNS back.
func checkRouteLab(t *testing.T, l *Lab, s Scenario) {
	t.Helper()
	assertDNS(t, l, InternalDNS1, false)
	assertDNS(t, l, PublicDNS1, s.Routes != RoutesExit) // the exit node leads nowhere
	out, _, err := inECS(t, l, "ip", "rule")
	if err != nil || !strings.Contains(out, "5270:\tfrom all lookup 52") || !strings.Contains(out, "5210:\tfrom all fwmark 0x80000/0xff0000 lookup main") {
		t.Errorf("tailscaled's policy rules: %v\n%s", err, out)
	}
	want := map[string]string{RoutesSubnet: RouterSubnet + " dev tailscale0", RoutesExit: "default dev tailscale0"}[s.Routes]
	if out, _, err := inECS(t, l, "ip", "route", "show", "table", "52"); err != nil || !strings.Contains(out, want) {
		t.Errorf("table 52 should hold %q: %v\n%s", want, err, out)
	}
	out, _, err = inECS(t, l, "tailscale", "status", "--json")
	var st struct {
		ExitNodeStatus *struct{ ID string }
		Peer           map[string]struct {
			HostName      string
			PrimaryRoutes []string
			ExitNode      bool
		}
	}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || len(st.Peer) != 1 {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, p := range st.Peer {
		if p.HostName != RouterName || (s.Routes == RoutesSubnet) != (len(p.PrimaryRoutes) == 1) || (s.Routes == RoutesExit) != p.ExitNode || (s.Routes == RoutesExit) != (st.ExitNodeStatus != nil) {
			t.Errorf("peer %+v, exit node status %+v", p, st.ExitNodeStatus)
		}
	}
	undoArgs := map[string][]string{RoutesSubnet: {"set", "--accept-routes=false"}, RoutesExit: {"set", "--exit-node="}}[s.Routes]
	if _, errs, err := inECS(t, l, "tailscale", undoArgs...); err != nil {
		t.Fatalf("tailscale %v: %v %s", undoArgs, err, errs)
	}
	assertDNS(t, l, InternalDNS1, true)
	if out, _, _ := inECS(t, l, "ip", "route", "show", "table", "52"); strings.Contains(out, want) {
		t.Errorf("table 52 still holds %q after tailscale %v:\n%s", want, undoArgs, out)
	}
}
