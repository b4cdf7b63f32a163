package firewall

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Change is one rule to insert or delete. A list of changes to one table is
// applied by Apply as one transaction where the backend has them: all of it
// or none of it.
type Change struct {
	Delete bool     `json:"delete,omitempty"`
	Ref    ChainRef `json:"chain"`
	// Pos is where an insert goes (1-based, 0 appends). For a delete it is
	// only a note of where the rule was, so an undo can put it back there.
	Pos  int  `json:"pos,omitempty"`
	Spec Spec `json:"spec"`
	// Handle, for a delete on nftables, is the rule's handle when the plan
	// was made: shown in the command. The delete itself matches by Spec.
	Handle uint64 `json:"handle,omitempty"`
	// IfMissing makes an insert a no-op when an equal rule is already in
	// the chain, so re-applying (an undo after tailscaled rebuilt the
	// chain, the guard) never duplicates a rule.
	IfMissing bool `json:"if_missing,omitempty"`
}

// Inverse is the change that undoes c: a delete of what was inserted, an
// insert where the deleted rule stood unless it is back already.
func (c Change) Inverse() Change {
	c.Delete = !c.Delete
	c.IfMissing = !c.Delete
	return c
}

// Batcher applies several changes at once.
type Batcher interface {
	// Apply makes all changes, in order, atomically per table where the
	// backend allows it (iptables-restore --noflush; one nftables netlink
	// transaction). Deleting a rule that is not there is not an error.
	Apply(ctx context.Context, changes []Change) error
}

// RestoreLine renders c as an iptables-restore line: `-I chain pos args`,
// `-A chain args` or `-D chain args`, arguments quoted as restore expects.
func (c Change) RestoreLine() string {
	var b strings.Builder
	switch {
	case c.Delete:
		b.WriteString("-D " + c.Ref.Chain)
	case c.Pos <= 0:
		b.WriteString("-A " + c.Ref.Chain)
	default:
		b.WriteString("-I " + c.Ref.Chain + " " + strconv.Itoa(c.Pos))
	}
	for _, a := range c.Spec.IptablesArgs() {
		b.WriteByte(' ')
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = strconv.Quote(a)
		}
		b.WriteString(a)
	}
	return b.String()
}

// Command renders c as the command an operator would type for this backend.
func (c Change) Command() string {
	if c.Ref.Backend == NFTables {
		return c.nftCommand()
	}
	args := []string{CommandName(c.Ref.Backend), "-t", c.Ref.Table}
	switch {
	case c.Delete:
		args = append(args, "-D", c.Ref.Chain)
	case c.Pos <= 0:
		args = append(args, "-A", c.Ref.Chain)
	default:
		args = append(args, "-I", c.Ref.Chain, strconv.Itoa(c.Pos))
	}
	return ShellJoin(append(args, c.Spec.IptablesArgs()...))
}

func (c Change) nftCommand() string {
	fam := "ip"
	if c.Ref.Family == Inet {
		fam = "inet"
	}
	where := fam + " " + c.Ref.Table + " " + c.Ref.Chain
	switch {
	case c.Delete && c.Handle != 0:
		return fmt.Sprintf("nft delete rule %s handle %d   # %s", where, c.Handle, c.Spec.NFT())
	case c.Delete:
		return fmt.Sprintf("nft delete rule %s handle <handle of: %s>", where, c.Spec.NFT())
	case c.Pos == 1:
		return "nft insert rule " + where + " " + c.Spec.NFT()
	case c.Pos > 1:
		return fmt.Sprintf("nft add rule %s position <handle of rule %d> %s", where, c.Pos-1, c.Spec.NFT())
	default:
		return "nft add rule " + where + " " + c.Spec.NFT()
	}
}

// NFT renders the spec in nft syntax, as `nft list` prints the rule Insert
// writes for it.
func (s Spec) NFT() string {
	var p []string
	if s.InIface != "" {
		op := ""
		if s.InIfaceNegated {
			op = "!= "
		}
		name, prefix := strings.CutSuffix(s.InIface, "+")
		if prefix {
			name += "*"
		}
		p = append(p, "iifname "+op+strconv.Quote(name))
	}
	if s.Source.IsValid() {
		src := s.Source.Masked().String()
		if s.Source.Bits() == 32 {
			src = s.Source.Addr().String()
		}
		p = append(p, "ip saddr "+src)
	}
	if s.Protocol != "" {
		if s.SrcPort != 0 {
			p = append(p, s.Protocol+" sport "+strconv.Itoa(int(s.SrcPort)))
		} else {
			p = append(p, "meta l4proto "+s.Protocol)
		}
	}
	if len(s.CtStates) > 0 {
		p = append(p, "ct state "+strings.ToLower(strings.Join(s.CtStates, ",")))
	}
	if s.LimitPerSecond > 0 {
		p = append(p, fmt.Sprintf("limit rate %d/second", s.LimitPerSecond))
	}
	p = append(p, "counter")
	switch {
	case s.Verdict == Continue && s.LogPrefix != "":
		p = append(p, "log prefix "+strconv.Quote(s.LogPrefix))
	case s.Verdict != Continue:
		p = append(p, strings.ToLower(string(s.Verdict)))
	}
	if s.Comment != "" {
		p = append(p, "comment "+strconv.Quote(s.Comment))
	}
	return strings.Join(p, " ")
}

// Apply implements Batcher with iptables-restore --noflush: one table per
// call of the restore binary, all lines committed together.
func (t *Iptables) Apply(ctx context.Context, changes []Change) error {
	ipt, err := t.handle()
	if err != nil {
		return err
	}
	byTable := map[string][]string{}
	var order []string
	for _, c := range changes {
		if c.Delete || c.IfMissing {
			ok, err := ipt.Exists(c.Ref.Table, c.Ref.Chain, c.Spec.IptablesArgs()...)
			if err != nil {
				return fmt.Errorf("%s: check %s: %s", t.backend, c.Ref, cleanErr(err))
			}
			if ok != c.Delete {
				continue // nothing to delete, or already there
			}
		}
		if _, seen := byTable[c.Ref.Table]; !seen {
			order = append(order, c.Ref.Table)
		}
		byTable[c.Ref.Table] = append(byTable[c.Ref.Table], c.RestoreLine())
	}
	if len(order) == 0 {
		return nil
	}
	args := []string{"--noflush"}
	if t.tools.RestoreWaits {
		args = append(args, "-w", "5")
	}
	for _, table := range order {
		input := "*" + table + "\n" + strings.Join(byTable[table], "\n") + "\nCOMMIT\n"
		cmd := exec.CommandContext(ctx, t.tools.Restore, args...)
		cmd.Stdin = strings.NewReader(input)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %s --noflush (table %s): %v: %s", t.backend, t.tools.Restore, table, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
