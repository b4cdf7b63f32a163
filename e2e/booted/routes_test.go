package booted

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/e2e/host"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// TestRouteRemediesBooted: the route form's remedies on a booted Debian 12.
// A second real tailscaled (its own namespace off the VPC, as in the e2e
// route tests) is a subnet router for the VPC's 100.100.2.0/24, approved
// by the control server, or the exit node; the booted host accepts its
// routes / uses it, so its tailscaled's table 52 sends the VPC DNS into
// tailscale0. The node attribute is granted, so no rule is in the way.
// Each cell: diagnosed (route culprit) → fix → DNS answers → `systemctl
// restart tailscaled` → the capture is back in table 52 and DNS still
// answers → reboot → the same → undo → the host as diagnosed.
func TestRouteRemediesBooted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		remedy int
		form   string
	}{
		{7, "subnet-router"}, // kept (tailscaled deletes only its own rules), kept by its unit
		{7, "exit-node"},     // the same, for everything the exit node captures
		{8, "subnet-router"}, // kept, kept (a pref in tailscaled's state)
	} {
		t.Run(fmt.Sprintf("remedy-%d/%s", c.remedy, c.form), func(t *testing.T) {
			t.Parallel()
			testRouteRemedyBooted(t, c.remedy, c.form)
		})
	}
}

func testRouteRemedyBooted(t *testing.T, remedy int, form string) {
	ctx := context.Background()
	h := boot(t, host.Static, nil)
	// Only the route: the admin has granted the attribute, the DROP is a RETURN.
	h.Control.SetNodeAttr(true)
	if _, raw, ok := checkHostUntil(t, h, 30*time.Second, func(r wire.Check) bool { return r.Verdict == checks.Healthy }); !ok {
		t.Fatalf("with the attribute and no route the host should be healthy:\n%s", raw)
	}
	r := startRouter(t, h)
	rip, err := r.IPv4(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name, err := r.Name(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prefix, reason := netip.MustParsePrefix("100.100.2.0/24"), checks.ReasonSubnetRoute
	switch form {
	case "subnet-router":
		if err := r.SetRoutes(ctx, prefix); err != nil {
			t.Fatal(err)
		}
		sh(t, h, "tailscale set --accept-routes=true")
	case "exit-node":
		prefix, reason = netip.MustParsePrefix("0.0.0.0/0"), checks.ReasonExitNode
		if err := r.SetRoutes(ctx, prefix, netip.MustParsePrefix("::/0")); err != nil {
			t.Fatal(err)
		}
		var out []byte
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			// The host must first see the router offer itself as exit node.
			if out, err = h.Exec(ctx, "tailscale", "set", "--exit-node="+rip.String()); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatalf("tailscale set --exit-node: %v\n%s", err, out)
		}
	}

	diagnosed := func(when string) {
		t.Helper()
		rep, raw, ok := checkHostUntil(t, h, 30*time.Second, harness.RouteCulprit)
		if !ok {
			t.Fatalf("%s: no route culprit:\n%s", when, raw)
		}
		if c := rep.Culprit; c.Table != "52" || c.Prefix != prefix.String() || c.Device != "tailscale0" || c.Reason != reason || c.Peer != name {
			t.Errorf("%s: culprit %+v, want table 52 prefix %s device tailscale0 reason %s peer %s", when, *c, prefix, reason, name)
		}
		if ok, d := lookup(t, h, "example.com"); ok && d < fastLookup {
			t.Errorf("%s: DNS answers in %s while the route captures it", when, d)
		}
	}
	diagnosed("before the fix")
	before := routeState(t, h)

	start := time.Now()
	fo, code, raw := fix(t, h, "--remedy", itoa(remedy))
	if code != 0 || !fo.Changed || fo.Verification == nil || !fo.Verification.Passed || !fo.Verification.DNSAnswers {
		t.Fatalf("fix %d: exit %d\n%s", remedy, code, raw)
	}
	t.Logf("fix %d verified in %s", remedy, time.Since(start).Round(time.Millisecond))
	mustResolveFast(t, h, "after the fix")

	// Still fixed once tailscaled has its routes again: remedy 7 with the
	// capture back in table 52 (the rule goes around it), remedy 8 with the
	// router's own address routed but not the subnet it offers.
	stillFixed := func(when string) {
		t.Helper()
		waitTable52(t, h, netip.PrefixFrom(rip, 32), true, when)
		waitTable52(t, h, prefix, remedy == 7, when)
		if remedy == 7 {
			out := sh(t, h, "ip route get "+lab.InternalDNS1)
			if !strings.Contains(out, "dev eth0") {
				t.Errorf("%s: ip route get %s: %q, want the main table's route (dev eth0)", when, lab.InternalDNS1, out)
			}
		}
		mustResolveFast(t, h, when)
		if rep, raw, ok := checkHostUntil(t, h, 10*time.Second, harness.DNSFree); !ok {
			t.Errorf("%s: the check still finds the DNS blocked (verdict %s):\n%s", when, rep.Verdict, raw)
		}
	}
	if _, err := h.Exec(ctx, "systemctl", "restart", "tailscaled"); err != nil {
		t.Fatal(err)
	}
	if err := h.WaitTailscale(ctx); err != nil {
		t.Fatal(err)
	}
	stillFixed("after systemctl restart tailscaled")

	if err := h.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot took %s", h.Boots[len(h.Boots)-1].Round(10*time.Millisecond))
	if err := h.WaitTailscale(ctx); err != nil {
		t.Fatal(err)
	}
	stillFixed("after a reboot")

	undo(t, h)
	diagnosed("after undo")
	if after := routeState(t, h); after != before {
		t.Errorf("after undo the host differs:\n%s", diffLines(strings.Split(before, "\n"), strings.Split(after, "\n")))
	}
}

// startRouter starts the second real tailscaled in the host's lab, and
// stops it before the host goes (cleanups run last first).
func startRouter(t *testing.T, h *host.Host) *harness.Router {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bins, err := harness.Binaries(ctx, h.Version)
	if err != nil {
		t.Fatal(err)
	}
	r, err := harness.StartRouter(ctx, h.Lab, bins, h.Control)
	if err != nil {
		t.Fatalf("start the router node: %v", err)
	}
	r.StopOnCleanup(t)
	return r
}

// checkHostUntil re-runs the check until cond holds or d passes.
func checkHostUntil(t *testing.T, h *host.Host, d time.Duration, cond func(wire.Check) bool) (wire.Check, string, bool) {
	t.Helper()
	return harness.CheckUntil(d, func() (wire.Check, string) { return check(t, h) }, cond)
}

// table52 lists the destinations of tailscaled's routing table.
func table52(t *testing.T, h *host.Host) []netip.Prefix {
	t.Helper()
	var routes []struct {
		Dst string `json:"dst"`
	}
	out := sh(t, h, "ip -4 -j route show table 52")
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		t.Fatalf("ip -j route show table 52: %v\n%s", err, out)
	}
	var ps []netip.Prefix
	for _, r := range routes {
		if r.Dst == "default" {
			ps = append(ps, netip.MustParsePrefix("0.0.0.0/0"))
		} else if p, err := netip.ParsePrefix(r.Dst); err == nil {
			ps = append(ps, p)
		} else if a, err := netip.ParseAddr(r.Dst); err == nil {
			ps = append(ps, netip.PrefixFrom(a, 32))
		}
	}
	return ps
}

// waitTable52 waits until tailscaled's table holds (or, want false, does
// not hold) the route to p.
func waitTable52(t *testing.T, h *host.Host, p netip.Prefix, want bool, when string) {
	t.Helper()
	var got []netip.Prefix
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = table52(t, h); slices.Contains(got, p) == want {
			return
		}
	}
	t.Fatalf("%s: table 52 holds %v, want %s there: %v", when, got, p, want)
}

// routeState is state plus what the route remedies change: the policy
// rules and tailscaled's routing prefs.
func routeState(t *testing.T, h *host.Host) string {
	t.Helper()
	return state(t, h) + sh(t, h, `ip rule show; tailscale debug prefs | grep -E '"(RouteAll|ExitNodeIP|ExitNodeID)"'`)
}
