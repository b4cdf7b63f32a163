package e2e

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// startRouter starts the second real tailscaled beside n and stops it
// before n (cleanups run last first).
func startRouter(t *testing.T, n *harness.Node) *harness.Router {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := n.StartRouter(ctx)
	if err != nil {
		t.Fatalf("start the router node: %v", err)
	}
	r.StopOnCleanup(t)
	return r
}

// checkUntil re-runs the check until cond holds or d passes.
func checkUntil(t *testing.T, n *harness.Node, d time.Duration, cond func(wire.Check) bool) (wire.Check, string, bool) {
	t.Helper()
	return harness.CheckUntil(d, func() (wire.Check, string) { return check(t, n) }, cond)
}

// TestRouteCaptureRealTailscaled: the second form against the real daemon.
// A second real tailscaled serves the VPC's 100.100.2.0/24 as a subnet
// router (approved by the control server), or is the exit node; the ECS node
// accepts the routes / uses it, so tailscaled's table 52 sends the VPC DNS
// into tailscale0; or the control server shows the router with the VPC
// DNS's address as its Tailscale address (a peer whose address is the
// service's). The node attribute is granted, so no rule is in the way:
// the route is the only cause. tsdoctor names the route, the table, the
// peer and why; remedy 7 (and 8 for the subnet router) fixes it, the fix
// survives a tailscaled restart (and a reboot, through its unit's script),
// and undo brings the capture back.
func TestRouteCaptureRealTailscaled(t *testing.T) {
	needRoot(t)
	for _, form := range []string{"subnet-router", "exit-node", "peer-address"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			testRouteCapture(t, form)
		})
	}
}

func testRouteCapture(t *testing.T, form string) {
	ctx := context.Background()
	n := startNode(t, "1.102.3", lab.ModeIptablesNFT, lab.VariantNodeAttr)
	r := startRouter(t, n)
	if rep, raw := check(t, n); rep.Verdict != checks.Healthy {
		t.Fatalf("before any route the node should be healthy:\n%s", raw)
	}
	wantPrefix, wantReason := "100.100.2.0/24", checks.ReasonSubnetRoute
	switch form {
	case "subnet-router":
		if err := r.SetRoutes(ctx, netip.MustParsePrefix("100.100.2.0/24")); err != nil {
			t.Fatal(err)
		}
		if out, err := n.CLI(ctx, "set", "--accept-routes=true"); err != nil {
			t.Fatalf("tailscale set --accept-routes: %v\n%s", err, out)
		}
	case "peer-address":
		wantPrefix, wantReason = lab.InternalDNS1+"/32", checks.ReasonPeerAddress
		if err := r.MasqueradeAs(ctx, netip.MustParseAddr(lab.InternalDNS1)); err != nil {
			t.Fatal(err)
		}
	case "exit-node":
		wantPrefix, wantReason = "0.0.0.0/0", checks.ReasonExitNode
		if err := r.SetRoutes(ctx, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")); err != nil {
			t.Fatal(err)
		}
		ip, err := r.IPv4(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			// The node must first see the router offer itself as exit node.
			if out, err = n.CLI(ctx, "set", "--exit-node="+ip.String()); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatalf("tailscale set --exit-node: %v\n%s", err, out)
		}
	}
	name, err := r.Name(ctx)
	if err != nil {
		t.Fatal(err)
	}

	rep, raw, ok := checkUntil(t, n, 30*time.Second, harness.RouteCulprit)
	if !ok {
		t.Fatalf("no route culprit:\n%s", raw)
	}
	c := rep.Culprit
	if c.Table != "52" || c.Prefix != wantPrefix || c.Device != "tailscale0" || c.Reason != wantReason || c.Peer != name || c.Service != lab.InternalDNS1 {
		t.Errorf("culprit %+v, want table 52 prefix %s device tailscale0 reason %s peer %s", *c, wantPrefix, wantReason, name)
	}
	if !strings.Contains(raw, "sent into tailscale0") || strings.Contains(raw, "replies never arrive") {
		t.Errorf("the DNS step should say the queries are sent into tailscale0:\n%s", raw)
	}
	t.Logf("%s: route verdict in %d ms (probe timeout %s)", form, rep.ElapsedMS, checks.DefaultOptions().ProbeTimeout)
	// The real output, held to the closed schema; the examples come from here.
	checkS, _ := compileSchemas(t)
	validate(t, checkS, "check-route-"+form, []byte(raw))
	if *updateExamples {
		if err := os.WriteFile(filepath.Join("..", "docs", "examples", "check-route-"+form+".json"), []byte(raw), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Remedy 7: a policy rule before tailscaled's, per captured service.
	fo, code, out := fix(t, n, "--ecs", "--remedy", "7")
	if code != 0 || !fo.Changed || fo.Verification == nil || !fo.Verification.Passed || !fo.Verification.DNSAnswers {
		t.Fatalf("fix 7: exit %d\n%s", code, out)
	}
	if form == "exit-node" && !strings.Contains(out, "exit-node-allow-lan-access") {
		t.Errorf("fix 7 for an exit node should say why --exit-node-allow-lan-access does not help:\n%s", out)
	}
	if fo2, code, out := fix(t, n, "--ecs", "--remedy", "7"); code != 0 || fo2.Changed {
		t.Errorf("fix 7 again should change nothing: exit %d\n%s", code, out)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if _, raw, ok := checkUntil(t, n, 10*time.Second, harness.DNSFree); !ok {
		t.Errorf("remedy 7 did not survive a tailscaled restart:\n%s", raw)
	}
	// A reboot loses every policy rule; the unit's script puts them back.
	for _, a := range fo.Plan.Allow {
		if out, err := n.Command(ctx, "ip", "rule", "del", "to", a+"/32", "lookup", "main", "priority", "5200").CombinedOutput(); err != nil {
			t.Fatalf("drop the rule as a reboot would: %v\n%s", err, out)
		}
	}
	if _, raw, ok := checkUntil(t, n, 10*time.Second, harness.RouteCulprit); !ok {
		t.Fatalf("without the rules the capture should be back:\n%s", raw)
	}
	script := filepath.Join(n.Lab.RootDir(), fixes.PolicyRouteScript)
	if out, err := n.Command(ctx, "sh", script).CombinedOutput(); err != nil {
		t.Fatalf("policy-route.sh: %v\n%s", err, out)
	}
	if _, raw, ok := checkUntil(t, n, 10*time.Second, harness.DNSFree); !ok {
		t.Errorf("the unit's script did not restore the rules:\n%s", raw)
	}
	undoRoutes(t, n)
	if _, raw, ok := checkUntil(t, n, 10*time.Second, harness.RouteCulprit); !ok {
		t.Errorf("after undo the capture should be back:\n%s", raw)
	}

	if form != "subnet-router" {
		if fo, code, out := fix(t, n, "--ecs", "--remedy", "8"); code == 0 || fo.Applies {
			t.Errorf("remedy 8 should not apply to an exit node: exit %d\n%s", code, out)
		}
		return
	}
	// Remedy 8: stop accepting subnet routes (the pref outlives restarts).
	fo, code, out = fix(t, n, "--ecs", "--remedy", "8")
	if code != 0 || !fo.Changed || fo.Verification == nil || !fo.Verification.Passed || !strings.Contains(out, "100.100.2.0/24 ("+name+")") {
		t.Fatalf("fix 8: exit %d\n%s", code, out)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if _, raw, ok := checkUntil(t, n, 10*time.Second, harness.DNSFree); !ok {
		t.Errorf("remedy 8 did not survive a tailscaled restart:\n%s", raw)
	}
	undoRoutes(t, n)
	if _, raw, ok := checkUntil(t, n, 20*time.Second, harness.RouteCulprit); !ok {
		t.Errorf("after undoing remedy 8 the capture should be back:\n%s", raw)
	}
}

// undoRoutes is undo, with tsdoctor's stderr in the failure.
func undoRoutes(t *testing.T, n *harness.Node) {
	t.Helper()
	cmd := n.Command(context.Background(), tsdoctor, "undo", "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var uo wire.Undo
	if jerr := json.Unmarshal(out, &uo); jerr != nil || err != nil || len(uo.Undone) != 1 || !uo.Undone[0].Same {
		t.Fatalf("undo: %v %v\n%s\nstderr: %s", err, jerr, out, stderr.String())
	}
}
