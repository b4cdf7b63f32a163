package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// InstallRules installs the ts-* chains tailscaled builds for the scenario in
// network namespace ns ("" = the current one, for the fake CLI running inside
// the lab). Scenarios without rules (netfilter-off, stopped, no-tailscale)
// install nothing.
func InstallRules(ctx context.Context, ns string, s Scenario) error {
	if !s.HasRules() {
		return nil
	}
	return installRules(ctx, ns, s, true)
}

// installRules with hooks=false builds the chains without the jumps into them,
// as netfilter-mode=nodivert does.
func installRules(ctx context.Context, ns string, s Scenario, hooks bool) error {
	if err := s.Validate(); err != nil {
		return err
	}
	var err error
	switch s.Mode {
	case ModeIptablesNFT:
		_, err = run(ctx, ns, s.iptablesRestore(hooks), "iptables-nft-restore", "--noflush")
	case ModeIptablesLegacy:
		// The xtables lock file is shared by all namespaces: wait for it.
		_, err = run(ctx, ns, s.iptablesRestore(hooks), "iptables-legacy-restore", "-w", "10", "--noflush")
	case ModeNFTables:
		_, err = run(ctx, ns, s.nftScript(hooks), "nft", "-f", "-")
	}
	if err != nil {
		return fmt.Errorf("install %s rules: %w", s.Mode, err)
	}
	return nil
}

// RemoveRules removes every ts-* chain, and every rule jumping to one, from
// the scenario's backend in namespace ns ("" = current), like
// `tailscale set --netfilter-mode=off`. Rules tsdoctor or a user added to the
// ts-* chains go with them, as they do on a real machine.
func RemoveRules(ctx context.Context, ns string, s Scenario) error {
	return removeRules(ctx, ns, s, true)
}

// removeRules with chains=false removes only the jumps into the ts-*
// chains, as tailscaled does going from netfilter-mode=on to nodivert.
func removeRules(ctx context.Context, ns string, s Scenario, chains bool) error {
	if !s.Tailscale {
		return nil
	}
	switch s.Mode {
	case ModeIptablesNFT:
		return removeIptables(ctx, ns, chains, "iptables-nft", "iptables-nft-restore")
	case ModeIptablesLegacy:
		return removeIptables(ctx, ns, chains, "iptables-legacy", "iptables-legacy-restore", "-w", "10")
	case ModeNFTables:
		return removeNFT(ctx, ns, chains)
	}
	return fmt.Errorf("remove rules: unknown firewall mode %q", s.Mode)
}

func removeIptables(ctx context.Context, ns string, withChains bool, list, restore string, restoreArgs ...string) error {
	var script strings.Builder
	for _, table := range []string{"filter", "nat", "mangle"} {
		out, err := run(ctx, ns, "", list, "-w", "10", "-t", table, "-S")
		if err != nil {
			return fmt.Errorf("remove rules: %w", err)
		}
		var dels, chains []string
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			switch {
			case withChains && len(f) == 2 && f[0] == "-N" && strings.HasPrefix(f[1], "ts-"):
				chains = append(chains, f[1])
			case len(f) > 2 && f[0] == "-A" && !strings.HasPrefix(f[1], "ts-") && jumpsToTS(f):
				dels = append(dels, "-D"+strings.TrimPrefix(line, "-A"))
			}
		}
		if len(dels) == 0 && len(chains) == 0 {
			continue
		}
		script.WriteString("*" + table + "\n")
		for _, d := range dels {
			script.WriteString(d + "\n")
		}
		for _, c := range chains {
			script.WriteString("-F " + c + "\n")
		}
		for _, c := range chains {
			script.WriteString("-X " + c + "\n")
		}
		script.WriteString("COMMIT\n")
	}
	if script.Len() == 0 {
		return nil
	}
	args := append(append([]string{}, restoreArgs...), "--noflush")
	if _, err := run(ctx, ns, script.String(), restore, args...); err != nil {
		return fmt.Errorf("remove rules: %w", err)
	}
	return nil
}

func jumpsToTS(f []string) bool {
	for i := 0; i+1 < len(f); i++ {
		if (f[i] == "-j" || f[i] == "-g") && strings.HasPrefix(f[i+1], "ts-") {
			return true
		}
	}
	return false
}

// removeNFT deletes jumps into ts-* chains and the chains themselves in one
// nft transaction. The base chains stay, as tailscaled leaves them.
func removeNFT(ctx context.Context, ns string, withChains bool) error {
	out, err := run(ctx, ns, "", "nft", "-j", "list", "ruleset")
	if err != nil {
		return fmt.Errorf("remove rules: %w", err)
	}
	var doc struct {
		Nftables []struct {
			Chain *struct {
				Family, Table, Name string
			} `json:"chain"`
			Rule *struct {
				Family, Table, Chain string
				Handle               int
				Expr                 []map[string]json.RawMessage
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return fmt.Errorf("remove rules: parse nft -j output: %w", err)
	}
	var dels, flushes, chains []string
	for _, o := range doc.Nftables {
		if c := o.Chain; c != nil && withChains && strings.HasPrefix(c.Name, "ts-") {
			ref := c.Family + " " + c.Table + " " + c.Name
			flushes = append(flushes, "flush chain "+ref)
			chains = append(chains, "delete chain "+ref)
		}
		if r := o.Rule; r != nil && !strings.HasPrefix(r.Chain, "ts-") {
			for _, e := range r.Expr {
				for _, k := range []string{"jump", "goto"} {
					var v struct{ Target string }
					if raw, ok := e[k]; ok && json.Unmarshal(raw, &v) == nil && strings.HasPrefix(v.Target, "ts-") {
						dels = append(dels, fmt.Sprintf("delete rule %s %s %s handle %d", r.Family, r.Table, r.Chain, r.Handle))
					}
				}
			}
		}
	}
	script := strings.Join(append(append(dels, flushes...), chains...), "\n")
	if script == "" {
		return nil
	}
	if _, err := run(ctx, ns, script+"\n", "nft", "-f", "-"); err != nil {
		return fmt.Errorf("remove rules: %w", err)
	}
	return nil
}
