package firewall

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// NFTablesBackend reads and writes native nftables over netlink: the ip and
// inet tables on the input hook. (It cannot be called NFTables: that is the
// Backend constant.)
type NFTablesBackend struct {
	netnsFd int
}

var (
	_ Reader = (*NFTablesBackend)(nil)
	_ Writer = (*NFTablesBackend)(nil)
)

// NewNFTables returns the nftables backend for the network namespace open
// at netnsFd; 0 or -1 means the current namespace.
func NewNFTables(netnsFd int) *NFTablesBackend {
	if netnsFd < 0 {
		netnsFd = 0
	}
	return &NFTablesBackend{netnsFd: netnsFd}
}

// Backend implements Reader and Writer.
func (n *NFTablesBackend) Backend() Backend { return NFTables }

// InputPath implements Reader. It lists chains (without rules), then reads
// only the rules of ip and inet input base chains and the chains they reach.
func (n *NFTablesBackend) InputPath(ctx context.Context) (st BackendState) {
	st.Backend = NFTables
	defer func() {
		if p := recover(); p != nil {
			st.Err = fmt.Sprintf("nftables: internal error: %v", p)
		}
	}()
	s, err := n.open(ctx)
	if err != nil {
		st.Err = "nftables: netlink: " + err.Error()
		return st
	}
	defer s.close()
	tables, err := s.c.ListTables()
	if err != nil {
		st.Err = "nftables: list tables: " + err.Error()
		return st
	}
	st.Present = len(tables) > 0
	chains, err := s.c.ListChains()
	if err != nil {
		st.Err = "nftables: list chains: " + err.Error()
		return st
	}

	type key struct {
		fam          nftables.TableFamily
		table, chain string
	}
	byName := map[key]*nftables.Chain{}
	var bases []*nftables.Chain
	for _, c := range chains {
		if c.Table == nil || (c.Table.Family != nftables.TableFamilyIPv4 && c.Table.Family != nftables.TableFamilyINet) {
			continue
		}
		byName[key{c.Table.Family, c.Table.Name, c.Name}] = c
		if IsTailscaleChain(c.Name) {
			st.Tailscale = true
		}
		if c.Hooknum != nil && *c.Hooknum == *nftables.ChainHookInput {
			bases = append(bases, c)
		}
	}
	// The kernel runs a hook's base chains in priority order.
	slices.SortStableFunc(bases, func(a, b *nftables.Chain) int {
		return cmp.Or(
			cmp.Compare(nftPriority(a), nftPriority(b)),
			cmp.Compare(a.Table.Family, b.Table.Family),
			cmp.Compare(a.Table.Name, b.Table.Name),
			cmp.Compare(a.Name, b.Name))
	})

	var errs []string
	visited := map[key]bool{}
	var walk func(c *nftables.Chain)
	walk = func(c *nftables.Chain) {
		k := key{c.Table.Family, c.Table.Name, c.Name}
		if visited[k] || ctx.Err() != nil {
			return
		}
		visited[k] = true
		ch, raw, err := s.chain(c)
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		st.Chains = append(st.Chains, ch)
		for i, r := range ch.Rules {
			var targets []string
			if r.Verdict == Jump || r.Verdict == Goto {
				targets = append(targets, r.Target)
			}
			for _, e := range raw[i].exprs {
				if l, ok := e.(*expr.Lookup); ok && l.IsDestRegSet && l.DestRegister == unix.NFT_REG_VERDICT {
					t, err := s.vmapTargets(c.Table, l.SetName)
					if err != nil {
						errs = append(errs, fmt.Sprintf("%s: verdict map %s: %v", nftRef(c), l.SetName, err))
					}
					targets = append(targets, t...)
				}
			}
			for _, t := range targets {
				tc, ok := byName[key{c.Table.Family, c.Table.Name, t}]
				if !ok {
					errs = append(errs, fmt.Sprintf("%s: jump to unknown chain %s", nftRef(c), t))
					continue
				}
				walk(tc)
			}
		}
	}
	for _, b := range bases {
		walk(b)
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, "nftables: "+err.Error())
	}
	st.Err = strings.Join(errs, "; ")
	return st
}

// Chain implements Reader.
func (n *NFTablesBackend) Chain(ctx context.Context, ref ChainRef) (ch Chain, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("nftables: internal error: %v", p)
		}
	}()
	fam, err := nftFamily(ref)
	if err != nil {
		return Chain{}, err
	}
	s, err := n.open(ctx)
	if err != nil {
		return Chain{}, fmt.Errorf("nftables: netlink: %w", err)
	}
	defer s.close()
	c, err := s.c.ListChain(&nftables.Table{Name: ref.Table, Family: fam}, ref.Chain)
	if err != nil {
		return Chain{}, fmt.Errorf("nftables: %s: %w", ref, err)
	}
	ch, _, err = s.chain(c)
	return ch, err
}

// Insert implements Writer.
func (n *NFTablesBackend) Insert(ctx context.Context, ref ChainRef, pos int, spec Spec) error {
	return n.Apply(ctx, []Change{{Ref: ref, Pos: pos, Spec: spec}})
}

// Delete implements Writer. A rule equals spec when it decodes to the same
// fields as the rule Insert would write for spec; counters do not count.
func (n *NFTablesBackend) Delete(ctx context.Context, ref ChainRef, spec Spec) error {
	return n.Apply(ctx, []Change{{Delete: true, Ref: ref, Spec: spec}})
}

// Apply implements Batcher: every change goes into one netlink batch, which
// the kernel commits as one transaction. Changes apply in order, as the
// lines of an iptables-restore file do: positions count the rules as the
// earlier changes of the batch leave them. A rule inserted in this batch
// cannot be the anchor of a later insert at a position > 1 (its handle is
// not known until the commit); such a batch is refused before anything is
// sent.
func (n *NFTablesBackend) Apply(ctx context.Context, changes []Change) error {
	if len(changes) == 0 {
		return nil
	}
	s, err := n.open(ctx)
	if err != nil {
		return fmt.Errorf("nftables: netlink: %w", err)
	}
	defer s.close()
	type chainKey struct {
		fam         nftables.TableFamily
		table, name string
	}
	// The chains as the batch so far leaves them; handle 0 is a rule
	// this batch inserts.
	chains := map[chainKey][]nftRawRule{}
	rulesOf := func(fam nftables.TableFamily, ref ChainRef) ([]nftRawRule, error) {
		k := chainKey{fam, ref.Table, ref.Chain}
		if r, ok := chains[k]; ok {
			return r, nil
		}
		// A dump of a missing chain is merely empty: check it exists.
		if _, err := s.c.ListChain(&nftables.Table{Name: ref.Table, Family: fam}, ref.Chain); err != nil {
			return nil, err
		}
		r, err := s.rules(fam, ref.Table, ref.Chain)
		if err == nil {
			chains[k] = r
		}
		return r, err
	}
	queued := 0
	for _, c := range changes {
		fam, err := nftFamily(c.Ref)
		if err != nil {
			return err
		}
		exprs, udata, err := nftSpecExprs(fam, c.Spec)
		if err != nil {
			return err
		}
		verb := "insert into"
		if c.Delete {
			verb = "delete from"
		}
		raw, err := rulesOf(fam, c.Ref)
		if err != nil {
			return fmt.Errorf("nftables: %s %s: %w", verb, c.Ref, err)
		}
		k := chainKey{fam, c.Ref.Table, c.Ref.Chain}
		table := &nftables.Table{Name: c.Ref.Table, Family: fam}
		chain := &nftables.Chain{Name: c.Ref.Chain}
		want := nftRuleKey(nftDecodeRule(fam, exprs, udata))
		same := func(rr nftRawRule) bool {
			return reflect.DeepEqual(nftRuleKey(nftDecodeRule(fam, rr.exprs, rr.udata)), want)
		}
		if !c.Delete && c.IfMissing && slices.ContainsFunc(raw, same) {
			continue
		}
		if c.Delete {
			for i, rr := range raw {
				if rr.handle != 0 && same(rr) {
					if err := s.c.DelRule(&nftables.Rule{Table: table, Chain: chain, Handle: rr.handle}); err != nil {
						return fmt.Errorf("nftables: delete from %s: %w", c.Ref, err)
					}
					chains[k] = slices.Delete(raw, i, i+1)
					queued++
					break
				}
			}
			continue
		}
		r := &nftables.Rule{Table: table, Chain: chain, Exprs: exprs, UserData: udata}
		added := nftRawRule{exprs: exprs, udata: udata}
		switch {
		case c.Pos < 0:
			return fmt.Errorf("nftables: insert into %s: bad position %d", c.Ref, c.Pos)
		case c.Pos == 0:
			s.c.AddRule(r)
			chains[k] = append(raw, added)
		case c.Pos == 1:
			s.c.InsertRule(r) // no position: at the top
			chains[k] = slices.Insert(raw, 0, added)
		default:
			if c.Pos-1 > len(raw) {
				return fmt.Errorf("nftables: insert into %s: position %d beyond %d rules", c.Ref, c.Pos, len(raw))
			}
			anchor := raw[c.Pos-2].handle
			if anchor == 0 {
				return fmt.Errorf("nftables: insert into %s at %d: the rule before it is new in this batch; apply it first", c.Ref, c.Pos)
			}
			// AddRule with a position puts the rule after that handle.
			r.Position = anchor
			s.c.AddRule(r)
			chains[k] = slices.Insert(raw, c.Pos-1, added)
		}
		queued++
	}
	if queued == 0 {
		return nil
	}
	if err := s.c.Flush(); err != nil {
		return fmt.Errorf("nftables: apply %d changes: %w", queued, err)
	}
	return nil
}

// nftRuleKey keeps what a rule does, dropping where it is, its counters and
// its text (which holds the counters).
func nftRuleKey(r Rule) Rule {
	r.ChainRef, r.Position, r.Handle, r.Packets, r.Bytes, r.Text = ChainRef{}, 0, 0, 0, 0, ""
	r.CtStates = slices.Sorted(slices.Values(r.CtStates))
	if len(r.Unmodeled) == 0 {
		r.Unmodeled = nil
	}
	return r
}

func nftPriority(c *nftables.Chain) int32 {
	if c.Priority == nil {
		return 0
	}
	return int32(*c.Priority)
}

func nftHookName(h nftables.ChainHook) string {
	switch h {
	case unix.NF_INET_PRE_ROUTING:
		return "prerouting"
	case unix.NF_INET_LOCAL_IN:
		return "input"
	case unix.NF_INET_FORWARD:
		return "forward"
	case unix.NF_INET_LOCAL_OUT:
		return "output"
	case unix.NF_INET_POST_ROUTING:
		return "postrouting"
	case 5: // NF_INET_INGRESS, missing from x/sys
		return "ingress"
	}
	return fmt.Sprintf("hook%d", h)
}

func nftRef(c *nftables.Chain) ChainRef {
	ref := ChainRef{Backend: NFTables, Table: c.Table.Name, Chain: c.Name}
	switch c.Table.Family {
	case nftables.TableFamilyIPv4:
		ref.Family = IPv4
	case nftables.TableFamilyIPv6:
		ref.Family = IPv6
	case nftables.TableFamilyINet:
		ref.Family = Inet
	default:
		ref.Family = Family(fmt.Sprintf("family%d", c.Table.Family))
	}
	return ref
}

func nftFamily(ref ChainRef) (nftables.TableFamily, error) {
	if ref.Backend != NFTables && ref.Backend != "" {
		return 0, fmt.Errorf("nftables: %s is not an nftables chain", ref)
	}
	switch ref.Family {
	case IPv4:
		return nftables.TableFamilyIPv4, nil
	case IPv6:
		return nftables.TableFamilyIPv6, nil
	case Inet:
		return nftables.TableFamilyINet, nil
	}
	return 0, fmt.Errorf("nftables: %s: unknown family %q", ref, ref.Family)
}
