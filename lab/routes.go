package lab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The second form of the conflict in the lab: tailscaled's routing policy
// and a table 52 whose routes cover the VPC's services, as a real
// tailscaled writes them (wgengine/router, Linux) for a peer's accepted
// subnet route or an exit node.

// Route scenarios.
const (
	RoutesSubnet = "subnet" // peer vpc-router's 100.100.2.0/24 accepted (--accept-routes)
	RoutesExit   = "exit"   // peer vpc-router is the exit node (--exit-node)
)

// The peer that brings the routes.
const (
	RouterName     = "vpc-router"
	RouterIP       = "100.90.1.2"
	RouterStableID = "nVpcRouterCNTRL"
	RouterSubnet   = "100.100.2.0/24"
)

// tailscaledRules are the policy rules tailscaled adds (priority base 5200):
// its own marked packets use the ordinary tables, everything else looks in
// table 52 first.
var tailscaledRules = []string{
	"priority 5210 fwmark 0x80000/0xff0000 table main",
	"priority 5230 fwmark 0x80000/0xff0000 table default",
	"priority 5250 fwmark 0x80000/0xff0000 type unreachable",
	"priority 5270 table 52",
}

// table52 is what tailscaled routes into tailscale0 in this state.
func (st CLIState) table52() []string {
	if !st.Scenario.Running() || !st.WantRunning || st.Scenario.Routes == "" {
		return nil
	}
	routes := []string{"100.100.100.100/32", RouterIP + "/32"}
	if st.RouteAll && st.Scenario.Routes == RoutesSubnet {
		routes = append(routes, RouterSubnet)
	}
	if st.ExitNode != "" {
		routes = append(routes, "0.0.0.0/0")
	}
	return routes
}

// syncRouting makes the policy rules and table 52 in namespace ns ("" =
// this one) what st calls for, as tailscaled does on each reconfiguration.
func syncRouting(ctx context.Context, ns string, st CLIState) error {
	if st.Scenario.Routes == "" {
		return nil
	}
	var cmds []string
	for _, r := range tailscaledRules {
		// Delete first: `ip rule add` would add a duplicate.
		cmds = append(cmds, "-force rule del "+r)
	}
	if rs := st.table52(); len(rs) > 0 {
		for _, r := range tailscaledRules {
			cmds = append(cmds, "rule add "+r)
		}
		cmds = append(cmds, "-force route flush table 52")
		for _, r := range rs {
			cmds = append(cmds, "route add "+r+" dev tailscale0 table 52")
		}
	} else {
		cmds = append(cmds, "-force route flush table 52")
	}
	return routeBatch(ctx, ns, cmds)
}

// routeBatch runs ip commands; a line starting "-force " may fail (a rule
// or table that is not there).
func routeBatch(ctx context.Context, ns string, cmds []string) error {
	var must []string
	for _, c := range cmds {
		if f, ok := strings.CutPrefix(c, "-force "); ok {
			_, _ = run(ctx, ns, "", "ip", strings.Fields(f)...)
			continue
		}
		must = append(must, c)
	}
	if len(must) == 0 {
		return nil
	}
	if _, err := run(ctx, ns, strings.Join(must, "\n")+"\n", "ip", "-batch", "-"); err != nil {
		return fmt.Errorf("tailscaled's routes: %w", err)
	}
	return nil
}

// peers is the tailnet as `tailscale status --json` shows it to the lab node.
func (c *fakeCLI) peers() map[string]*peerStatus {
	if c.st.Scenario.Routes == "" {
		return map[string]*peerStatus{}
	}
	allowed := []string{RouterIP + "/32"}
	var primary []string
	if c.st.Scenario.Routes == RoutesSubnet {
		allowed = append(allowed, RouterSubnet)
		primary = []string{RouterSubnet}
	} else {
		allowed = append(allowed, "0.0.0.0/0", "::/0")
	}
	p := &peerStatus{
		ID:            RouterStableID,
		PublicKey:     "nodekey:7670632d726f757465722d6c61622d6b65792d7670632d726f757465722d01",
		HostName:      RouterName,
		DNSName:       RouterName + "." + labTailnet + ".",
		OS:            "linux",
		UserID:        1234567890123456,
		TailscaleIPs:  []string{RouterIP},
		AllowedIPs:    allowed,
		PrimaryRoutes: primary,
		Online:        true,
		InNetworkMap:  true,
		ExitNode:      c.st.ExitNode != "",
	}
	p.ExitNodeOption = c.st.Scenario.Routes == RoutesExit
	return map[string]*peerStatus{p.PublicKey: p}
}

type exitNodeStatus struct {
	ID           string
	Online       bool
	TailscaleIPs []string
}

func exitNodeID(ip string) string {
	if ip == "" {
		return ""
	}
	return RouterStableID
}

// resyncRouting is syncRouting from inside the lab's ECS namespace only.
func resyncRouting(st CLIState) error {
	if err := insideLab(st, "routes"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return syncRouting(ctx, "", st)
}

// RestartRouting does to the lab's routing what a tailscaled restart does:
// its own policy rules and table 52 are written again from its prefs (the
// CLI state); rules that are not its own stay.
func (l *Lab) RestartRouting(ctx context.Context) error {
	st, err := readCLIState(l.StateFile())
	if err != nil {
		return err
	}
	return syncRouting(ctx, l.ECS(), st)
}
