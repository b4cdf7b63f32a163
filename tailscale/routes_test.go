package tailscale

import (
	"context"
	"net/netip"
	"testing"
)

// The fields as tailscaled 1.102.3 writes them (ipnstate.Status), trimmed.
const statusWithPeers = `{"Version":"1.102.3-t4a5b6c7d8","BackendState":"Running",
 "ExitNodeStatus":{"ID":"nExit1CNTRL","Online":true,"TailscaleIPs":["100.90.1.3/32"]},
 "Self":{"HostName":"ecs","DNSName":"ecs.tail1234.ts.net.","TailscaleIPs":["100.101.102.103"]},
 "Peer":{
  "nodekey:bb":{"ID":"nRouter1CNTRL","HostName":"router","DNSName":"router.tail1234.ts.net.","TailscaleIPs":["100.90.1.2","fd7a:115c:a1e0::2"],
   "AllowedIPs":["100.90.1.2/32","fd7a:115c:a1e0::2/128","100.100.2.0/24"],"PrimaryRoutes":["100.100.2.0/24"],"ExitNode":false,"Online":true},
  "nodekey:aa":{"ID":"nExit1CNTRL","HostName":"exit","DNSName":"","TailscaleIPs":["100.90.1.3"],
   "AllowedIPs":["100.90.1.3/32","0.0.0.0/0","::/0"],"ExitNode":false,"ExitNodeOption":true,"Online":true}}}`

func TestParsePeersJSON(t *testing.T) {
	ps, err := ParsePeersJSON([]byte(statusWithPeers))
	if err != nil || len(ps) != 2 {
		t.Fatalf("%v %+v", err, ps)
	}
	// Sorted by name; the exit node known from ExitNodeStatus.
	exit, router := ps[0], ps[1]
	if exit.Name() != "exit" || !exit.ExitNode || router.ExitNode {
		t.Errorf("exit node: %+v / %+v", exit, router)
	}
	if router.Name() != "router.tail1234.ts.net" || len(router.PrimaryRoutes) != 1 || router.PrimaryRoutes[0] != netip.MustParsePrefix("100.100.2.0/24") {
		t.Errorf("router: %+v", router)
	}
	if _, err := ParsePeersJSON([]byte("<html>")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestReadRouting(t *testing.T) {
	st := Read(context.Background(), fakeRunner{
		"version --json": {out: `{"majorMinorPatch":"1.102.3"}`},
		"status --json":  {out: statusWithPeers},
		"debug prefs":    {out: `{"NetfilterMode":2,"RouteAll":true,"ExitNodeID":"nExit1CNTRL","ExitNodeAllowLANAccess":true}`},
	})
	r := st.Routing
	if r.AcceptRoutes == nil || !*r.AcceptRoutes || r.ExitNodeID != "nExit1CNTRL" || !r.AllowLANAccess || len(r.Peers) != 2 {
		t.Fatalf("routing %+v (errors %v)", r, st.Errors)
	}
	if p, ok := r.ExitNode(); !ok || p.HostName != "exit" || !r.UsesExitNode() {
		t.Errorf("exit node %+v %v", p, ok)
	}
}
