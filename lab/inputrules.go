package lab

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// ReadInputRules returns the ts-input chain in namespace ns as the
// backend's own tool prints it: `iptables -S ts-input` lines without the -N
// line for the iptables modes, the rule lines of `nft list chain ip filter
// ts-input` with counter values dropped for nftables. A missing chain is nil.
// This is the shape lab.Scenario.InputRules promises.
func ReadInputRules(ctx context.Context, ns, mode string) ([]string, error) {
	var args []string
	switch mode {
	case ModeIptablesNFT:
		// The whole table: `-S ts-input` on a table without that chain
		// (tailscaled leaves empty tables behind with netfilter off) fails
		// with "incompatible" instead of "no such chain".
		args = []string{"iptables-nft", "-w", "-S"}
	case ModeIptablesLegacy:
		// Listing a legacy table creates it: look only where one exists.
		names, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "cat", "/proc/net/ip_tables_names").Output()
		if err != nil {
			return nil, err
		}
		if !strings.Contains(string(names), "filter") {
			return nil, nil
		}
		args = []string{"iptables-legacy", "-w", "-S"}
	case ModeNFTables:
		args = []string{"nft", "list", "chain", "ip", "filter", "ts-input"}
	default:
		return nil, fmt.Errorf("unknown firewall mode %q", mode)
	}
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		s := string(out)
		if mode == ModeNFTables && (strings.Contains(s, "No such file or directory") || strings.Contains(s, "does not exist")) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
	}
	if mode == ModeNFTables {
		return nftRuleLines(string(out)), nil
	}
	var rules []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "-A ts-input ") {
			rules = append(rules, line)
		}
	}
	return rules, nil
}

// nftRuleLines picks the rule lines out of `nft list chain` output.
func nftRuleLines(out string) []string {
	var rules []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "}" || strings.HasPrefix(line, "table ") || strings.HasPrefix(line, "chain ") ||
			strings.HasPrefix(line, "type ") || strings.HasPrefix(line, "#") {
			continue
		}
		rules = append(rules, firewall.StripCounters(line))
	}
	return rules
}
