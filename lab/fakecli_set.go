package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The fake tailscale CLI's verbs that change its state (set, up, down), and
// the rebuild of ts-input that tailscaled does when the netfilter mode changes.

func netfilterName(m int) string {
	switch m {
	case 0:
		return "off"
	case 1:
		return "nodivert"
	}
	return "on"
}

func parseNetfilterMode(s string) (int, error) {
	switch s {
	case "off":
		return 0, nil
	case "nodivert":
		return 1, nil
	case "on":
		return 2, nil
	}
	return 0, fmt.Errorf("invalid value %q for --netfilter-mode; must be one of \"on\", \"nodivert\", \"off\"", s)
}

func (c *fakeCLI) setOrUp(cmd string, args []string) int {
	fs := c.newFlags(cmd)
	nf := fs.String("netfilter-mode", netfilterName(c.st.NetfilterMode), "netfilter mode (one of on, nodivert, off)")
	acceptDNS := fs.Bool("accept-dns", c.st.CorpDNS, "accept DNS configuration from the admin panel")
	acceptRoutes := fs.Bool("accept-routes", c.st.RouteAll, "accept routes advertised by other Tailscale nodes")
	hostname := fs.String("hostname", c.st.Hostname, "hostname to use instead of the one provided by the OS")
	exitNode := fs.String("exit-node", c.st.ExitNode, "Tailscale exit node (IP) for internet traffic, or empty string to not use an exit node")
	for _, name := range []string{"advertise-routes", "operator", "advertise-tags", "login-server", "auth-key", "authkey", "netfilter-kind"} {
		fs.String(name, "", "accepted and ignored by the lab")
	}
	for _, name := range []string{"ssh", "shields-up", "exit-node-allow-lan-access", "advertise-exit-node", "reset", "force-reauth", "qr", "json"} {
		fs.Bool(name, false, "accepted and ignored by the lab")
	}
	fs.Duration("timeout", 0, "accepted and ignored by the lab")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "too many non-flag arguments: %q\n", fs.Args())
		return 2
	}
	mode, err := parseNetfilterMode(*nf)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return 2
	}
	next := c.st
	next.NetfilterMode = mode
	next.CorpDNS = *acceptDNS
	next.RouteAll = *acceptRoutes
	switch *exitNode {
	case "", RouterIP, RouterName:
		if *exitNode != "" && c.st.Scenario.Routes != RoutesExit {
			fmt.Fprintf(c.stderr, "node %q is not advertising an exit node\n", *exitNode)
			return 1
		}
		next.ExitNode = strings.Replace(*exitNode, RouterName, RouterIP, 1)
	default:
		fmt.Fprintf(c.stderr, "invalid value %q for --exit-node; must be IP or unique node name\n", *exitNode)
		return 1
	}
	next.Hostname = *hostname
	if cmd == "up" {
		next.WantRunning = true
	}
	return c.apply(next)
}

func (c *fakeCLI) down(args []string) int {
	fs := c.newFlags("down")
	fs.Bool("accept-risk", false, "accepted and ignored by the lab")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	next := c.st
	next.WantRunning = false
	return c.apply(next)
}

// apply moves to the next state. When the firewall shape changes, the ts-*
// chains are torn down and rebuilt from scratch, as tailscaled does: anything
// added to them by hand is gone afterwards. Only on → nodivert keeps them
// and takes out the jumps (tailscaled's setNetfilterMode: DelHooks).
func (c *fakeCLI) apply(next CLIState) int {
	if next.firewall() != c.st.firewall() && !c.st.SkipFirewall {
		if err := rebuildFirewall(c.st.firewall(), next); err != nil {
			fmt.Fprintf(c.stderr, "tailscale (lab): %v\n", err)
			return 1
		}
	}
	if !slices.Equal(next.table52(), c.st.table52()) && !c.st.SkipFirewall {
		if err := resyncRouting(next); err != nil {
			fmt.Fprintf(c.stderr, "tailscale (lab): %v\n", err)
			return 1
		}
	}
	if next != c.st {
		c.st = next
		c.changed = true
	}
	return 0
}

func rebuildFirewall(from int, st CLIState) error {
	if err := insideLab(st, "the firewall"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shape := st.firewall()
	if from == 2 && shape == 1 {
		// on → nodivert: tailscaled only takes its jumps out; the chains,
		// and anything added to them, stay.
		return removeRules(ctx, "", st.Scenario, false)
	}
	if err := RemoveRules(ctx, "", st.Scenario); err != nil {
		return err
	}
	if shape == 0 {
		return nil
	}
	s := st.Scenario
	if s.Variant == VariantNetfilterOff {
		s.Variant = VariantDefault // netfilter back on: the usual rules
	}
	return installRules(ctx, "", s, shape == 2)
}

func errSuffix(err error) string {
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return ""
	}
	return ": " + err.Error()
}
