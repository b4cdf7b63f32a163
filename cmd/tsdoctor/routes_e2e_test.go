package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// TestRouteCaptureInLab: the second form in the lab. tailscaled's policy
// rules and a table 52 that covers the VPC DNS (a peer's accepted subnet
// route, or the exit node's default route) into tailscale0: the check names
// the route, remedy 7 routes the services around it and outlives a
// tailscaled restart, its unit's script restores it after a reboot, undo
// brings the capture back; for the subnet route, remedy 8 too.
func TestRouteCaptureInLab(t *testing.T) {
	for _, c := range []struct {
		scenario, prefix string
		reason           checks.CaptureReason
	}{
		{"route-subnet", lab.RouterSubnet, checks.ReasonSubnetRoute},
		{"route-exit", "0.0.0.0/0", checks.ReasonExitNode},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, c.scenario)
			ctx := context.Background()
			rep, code, raw := check(t, l, "--ecs")
			cu := rep.Culprit
			if code != 1 || rep.Verdict != checks.Blocked || cu == nil || cu.Kind != "route" {
				t.Fatalf("exit %d verdict %s culprit %+v\n%s", code, rep.Verdict, cu, raw)
			}
			if cu.Table != "52" || cu.Prefix != c.prefix || cu.Device != "tailscale0" || cu.Reason != c.reason ||
				!strings.HasPrefix(cu.Peer, lab.RouterName+".") || cu.Service != lab.InternalDNS1 {
				t.Errorf("culprit %+v", *cu)
			}
			if c.reason == checks.ReasonExitNode && !strings.Contains(raw, "unreachable by IP via tailscale0") {
				t.Errorf("the connectivity step should say the internet goes via tailscale0 (the exit node):\n%s", raw)
			}
			if !strings.Contains(raw, "sent into tailscale0") {
				t.Errorf("the DNS step should say sent into tailscale0:\n%s", raw)
			}

			fj, code, out := runFix(t, l, "--ecs", "--remedy", "7")
			if code != 0 || !fj.Changed || fj.Verification == nil || !fj.Verification.Passed || !fj.Verification.DNSAnswers {
				t.Fatalf("fix 7: exit %d\n%s", code, out)
			}
			if c.reason == checks.ReasonExitNode && !strings.Contains(out, "exit-node-allow-lan-access") {
				t.Errorf("fix 7 should explain --exit-node-allow-lan-access:\n%s", out)
			}
			if fj, code, out := runFix(t, l, "--ecs", "--remedy", "7"); code != 0 || fj.Changed {
				t.Errorf("fix 7 again changed something: exit %d\n%s", code, out)
			}
			if err := l.RestartRouting(ctx); err != nil {
				t.Fatal(err)
			}
			if rep, _, raw := check(t, l, "--ecs"); blockedIn(rep, lab.InternalDNS1) {
				t.Errorf("remedy 7 did not survive a tailscaled restart:\n%s", raw)
			}
			for _, a := range fj.Plan.Allow {
				if out, err := l.Command(ctx, "ip", "rule", "del", "to", a+"/32", "lookup", "main", "priority", "5200").CombinedOutput(); err != nil {
					t.Fatalf("lose the rule as a reboot would: %v\n%s", err, out)
				}
			}
			if out, err := l.Command(ctx, "sh", filepath.Join(l.RootDir(), fixes.PolicyRouteScript)).CombinedOutput(); err != nil {
				t.Fatalf("policy-route.sh: %v\n%s", err, out)
			}
			if rep, _, raw := check(t, l, "--ecs"); blockedIn(rep, lab.InternalDNS1) {
				t.Errorf("the unit's script did not restore the rules:\n%s", raw)
			}
			runUndo(t, l)
			if rep, _, raw := check(t, l, "--ecs"); rep.Culprit == nil || rep.Culprit.Kind != "route" {
				t.Errorf("after undo the capture should be back:\n%s", raw)
			}

			fj, code, out = runFix(t, l, "--ecs", "--remedy", "8")
			if c.reason != checks.ReasonSubnetRoute {
				if code == 0 || fj.Applies {
					t.Errorf("remedy 8 applies to an exit node: exit %d\n%s", code, out)
				}
				return
			}
			if code != 0 || !fj.Changed || !fj.Verification.Passed || !strings.Contains(out, lab.RouterSubnet+" ("+lab.RouterName+".") {
				t.Fatalf("fix 8: exit %d\n%s", code, out)
			}
			if err := l.RestartRouting(ctx); err != nil {
				t.Fatal(err)
			}
			if rep, _, raw := check(t, l, "--ecs"); blockedIn(rep, lab.InternalDNS1) {
				t.Errorf("remedy 8 did not survive a tailscaled restart:\n%s", raw)
			}
			runUndo(t, l)
			if rep, _, raw := check(t, l, "--ecs"); rep.Culprit == nil || rep.Culprit.Kind != "route" {
				t.Errorf("after undoing remedy 8 the capture should be back:\n%s", raw)
			}
			if out, _ := exec.Command("ip", "rule").Output(); strings.Contains(string(out), "lookup 52") {
				t.Errorf("the host's own policy rules were changed:\n%s", out)
			}
		})
	}
}

func blockedIn(rep wire.Check, addr string) bool {
	for _, b := range rep.Blocked {
		if b.Address.String() == addr {
			return true
		}
	}
	return false
}
