package firewall

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-iptables/iptables"
	"github.com/google/nftables"
)

// Iptables reads and writes one of the two iptables backends through
// github.com/coreos/go-iptables: iptables-nft (the `iptables` most distros
// ship today) or iptables-legacy (x_tables, invisible to nft).
type Iptables struct {
	backend Backend
	// binary, when set, is the iptables command to run (tests: a wrapper
	// that enters a namespace); empty: whatever FindTools finds.
	binary string
	// ProcTables lists the legacy tables of this network namespace; the legacy
	// reader runs nothing unless the filter table is listed there, because
	// listing a legacy table creates it.
	ProcTables string
	// CLIOnly makes the legacy reader list chains with iptables-legacy
	// instead of reading the table itself (for tests that compare the two).
	CLIOnly bool

	once  sync.Once
	tools Tools // the commands that drive this backend here (FindTools)
	ipt   *iptables.IPTables
	err   error
}

// NewIptablesNFT returns the iptables-nft backend.
func NewIptablesNFT() *Iptables {
	return &Iptables{backend: IptablesNFT}
}

// NewIptablesLegacy returns the iptables-legacy backend.
func NewIptablesLegacy() *Iptables {
	return &Iptables{backend: IptablesLegacy, ProcTables: "/proc/net/ip_tables_names"}
}

func (t *Iptables) Backend() Backend { return t.backend }

func (t *Iptables) handle() (*iptables.IPTables, error) {
	t.once.Do(func() {
		if t.binary != "" {
			t.tools = Tools{Backend: t.backend, Name: string(t.backend), Path: t.binary, Restore: t.binary + "-restore"}
		} else {
			t.tools, t.err = FindTools(t.backend)
		}
		if t.err != nil {
			return
		}
		t.ipt, t.err = iptables.New(iptables.Path(t.tools.Path), iptables.Timeout(5))
	})
	return t.ipt, t.err
}

// legacyTables reports the legacy tables that exist in this namespace.
func (t *Iptables) legacyTables() ([]string, error) {
	b, err := os.ReadFile(t.ProcTables)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // kernel without legacy iptables
		}
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// InputPath implements Reader.
func (t *Iptables) InputPath(ctx context.Context) BackendState {
	st := BackendState{Backend: t.backend}
	if t.backend == IptablesLegacy {
		tables, err := t.legacyTables()
		if err != nil {
			st.Err = err.Error()
			return st
		}
		st.Present = len(tables) > 0
		if !slices.Contains(tables, "filter") {
			return st
		}
		if !t.CLIOnly {
			if chains, err := t.rawInputPath(); err == nil {
				st.Chains = chains
				t.finish(&st, nil)
				return st
			}
			// An extension the raw reader does not render, or no raw
			// socket: iptables-legacy reads it, chain by chain.
		}
	}
	if t.backend == IptablesNFT && !nftHasIPv4Filter() {
		// iptables-nft's chains are nf_tables chains of table ip filter: with
		// no such table (a legacy-only host) there is nothing to list, and
		// three iptables-nft runs cost more than the legacy read itself.
		return st
	}
	ipt, err := t.handle()
	if err != nil {
		st.Err = err.Error()
		return st
	}
	seen := map[string]bool{}
	var errs []string
	var walk func(names []string)
	walk = func(names []string) {
		type res struct {
			c   Chain
			err error
		}
		results := make([]res, len(names))
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := t.chain(ctx, ipt, n)
				results[i] = res{c, err}
			}()
		}
		wg.Wait()
		var next []string
		for _, r := range results {
			if r.err != nil {
				errs = append(errs, r.err.Error())
				continue
			}
			st.Chains = append(st.Chains, r.c)
			for _, rule := range r.c.Rules {
				if (rule.Verdict == Jump || rule.Verdict == Goto) && !seen[rule.Target] {
					seen[rule.Target] = true
					next = append(next, rule.Target)
				}
			}
		}
		if len(next) > 0 && ctx.Err() == nil {
			walk(next)
		}
	}
	seen["INPUT"] = true
	walk([]string{"INPUT"})
	t.finish(&st, errs)
	if !st.Tailscale && t.backend == IptablesNFT {
		// ts-input may exist without being hooked (yet).
		if ok, _ := ipt.ChainExists("filter", "ts-input"); ok {
			st.Tailscale, st.Present = true, true
		}
	}
	return st
}

// finish sets what the chains read say about the backend.
func (t *Iptables) finish(st *BackendState, errs []string) {
	for _, c := range st.Chains {
		if len(c.Rules) > 0 || c.Policy == "DROP" {
			st.Present = true
		}
		if IsTailscaleChain(c.Chain) {
			st.Tailscale = true
		}
	}
	if len(errs) > 0 {
		st.Err = strings.Join(errs, "; ")
	}
}

// Chain implements Reader.
func (t *Iptables) Chain(ctx context.Context, ref ChainRef) (Chain, error) {
	if t.backend == IptablesLegacy && !t.CLIOnly && ref.Table == "filter" {
		if err := ctx.Err(); err != nil {
			return Chain{}, err
		}
		var c Chain
		err := withRawTable("filter", func(tab *rawTable) (err error) {
			c, err = tab.chain(ref.Chain)
			return err
		})
		if err == nil {
			return c, nil
		}
	}
	ipt, err := t.handle()
	if err != nil {
		return Chain{}, err
	}
	return t.chain(ctx, ipt, ref.Chain)
}

func (t *Iptables) chain(ctx context.Context, ipt *iptables.IPTables, name string) (Chain, error) {
	if err := ctx.Err(); err != nil {
		return Chain{}, err
	}
	lines, err := ipt.ListWithCounters("filter", name)
	if err != nil {
		return Chain{}, fmt.Errorf("%s (%s) -t filter -v -S %s: %s", t.backend, t.tools.Name, name, cleanErr(err))
	}
	chains, _, perr := ParseIptablesS(strings.Join(lines, "\n"), t.backend, "filter")
	c := Chain{ChainRef: ChainRef{Backend: t.backend, Family: IPv4, Table: "filter", Chain: name}}
	if pc, ok := chains[name]; ok {
		c.Policy, c.Rules = pc.Policy, pc.Rules
		if pc.Policy != "" {
			c.Hook = "input"
		}
	}
	if perr != nil {
		return c, fmt.Errorf("%s: chain %s: %v", t.backend, name, perr)
	}
	return c, nil
}

func cleanErr(err error) string {
	var e *iptables.Error
	if errors.As(err, &e) {
		msg := strings.TrimSpace(e.Error())
		return strings.Join(strings.Fields(msg), " ")
	}
	return err.Error()
}

// Insert implements Writer.
func (t *Iptables) Insert(ctx context.Context, ref ChainRef, pos int, spec Spec) error {
	ipt, err := t.handle()
	if err != nil {
		return err
	}
	if pos <= 0 {
		return ipt.Append(ref.Table, ref.Chain, spec.IptablesArgs()...)
	}
	return ipt.Insert(ref.Table, ref.Chain, pos, spec.IptablesArgs()...)
}

// Delete implements Writer.
func (t *Iptables) Delete(ctx context.Context, ref ChainRef, spec Spec) error {
	ipt, err := t.handle()
	if err != nil {
		return err
	}
	return ipt.DeleteIfExists(ref.Table, ref.Chain, spec.IptablesArgs()...)
}

// nftHasIPv4Filter reports whether nf_tables holds table ip filter in this
// network namespace; true when it cannot tell (then iptables-nft is asked).
func nftHasIPv4Filter() bool {
	c, err := nftables.New()
	if err != nil {
		return true
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return true
	}
	return slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == "filter" })
}
