package firewall

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Backendish is a backend tsdoctor can both read and write.
type Backendish interface {
	Reader
	Writer
	Batcher
}

// Host is the firewall of one machine: every backend, read together.
type Host struct {
	backends []Backendish
}

// NewHost returns a Host over the given backends (see Default for the real
// machine; tests pass fakes).
func NewHost(b ...Backendish) *Host { return &Host{backends: b} }

// Backend returns the backend with the given name, or nil.
func (h *Host) Backend(name Backend) Backendish {
	for _, b := range h.backends {
		if b.Backend() == name {
			return b
		}
	}
	return nil
}

// Snapshot reads the INPUT path of every backend concurrently. A backend
// that fails to read is reported in its state; the others still count.
//
// iptables-nft and native nftables share the kernel's nf_tables: a chain that
// iptables-nft can list is its chain, and one it cannot parse (tailscaled's
// native rules) is left to the nftables backend, read over netlink.
func (h *Host) Snapshot(ctx context.Context) *Snapshot {
	states := make([]BackendState, len(h.backends))
	var wg sync.WaitGroup
	for i, b := range h.backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i] = b.InputPath(ctx)
		}()
	}
	wg.Wait()
	return merge(states)
}

func merge(states []BackendState) *Snapshot {
	owned := map[[2]string]bool{} // ipv4 table+chain that iptables-nft read cleanly
	var ipt *BackendState
	haveNFT := slices.ContainsFunc(states, func(s BackendState) bool { return s.Backend == NFTables && s.Err == "" })
	for i := range states {
		if states[i].Backend == IptablesNFT {
			ipt = &states[i]
			if haveNFT && slices.ContainsFunc(ipt.Chains, writtenByNativeTailscaled) {
				// Those chains are the nftables backend's: so is the claim to
				// hold Tailscale's rules, unless an iptables-nft one remains.
				ipt.Chains = slices.DeleteFunc(ipt.Chains, writtenByNativeTailscaled)
				ipt.Tailscale = slices.ContainsFunc(ipt.Chains, func(c Chain) bool { return IsTailscaleChain(c.Chain) })
			}
			for _, c := range states[i].Chains {
				owned[[2]string{c.Table, c.Chain}] = true
			}
		}
	}
	for i := range states {
		st := &states[i]
		if st.Backend != NFTables {
			continue
		}
		st.Chains = slices.DeleteFunc(st.Chains, func(c Chain) bool {
			return c.Family == IPv4 && owned[[2]string{c.Table, c.Chain}]
		})
		st.Tailscale = slices.ContainsFunc(st.Chains, func(c Chain) bool { return IsTailscaleChain(c.Chain) })
		if ipt != nil && st.Tailscale && ipt.Err != "" && strings.Contains(ipt.Err, "ts-") {
			// The expected failure: iptables-nft cannot parse native nft rules.
			ipt.Err = "iptables-nft cannot parse tailscaled's native nftables rules (read over netlink instead): " + ipt.Err
		}
	}
	for i := range states {
		if states[i].Backend == IptablesNFT && !states[i].Tailscale {
			for _, c := range states[i].Chains {
				if IsTailscaleChain(c.Chain) {
					states[i].Tailscale = true
				}
			}
		}
	}
	return &Snapshot{Backends: states}
}

// Writable reports whether tsdoctor may change chain ref through the backend
// the snapshot filed it under. iptables-nft and native nftables share
// nf_tables, and their two reads are not one instant: a ts-* chain that
// tailscaled is building with iptables-nft (empty, half-built, or listed
// by nft after iptables-nft had read, or while iptables-nft failed) can
// land under the nftables backend. Native expressions written into it would
// make the whole table unreadable to iptables-nft, and to tailscaled itself,
// which then cannot finish its chains. So an IPv4 ts-* chain is written
// natively only when it carries tailscaled's native signature: interfaces
// matched by prefix (iifname "tailscale0*"), which its CGNAT rule always has.
func (s *Snapshot) Writable(ref ChainRef) bool {
	if ref.Backend != NFTables || ref.Family != IPv4 || !IsTailscaleChain(ref.Chain) {
		return true
	}
	c := s.Chain(ref)
	return c != nil && writtenByNativeTailscaled(*c)
}

// Reread returns the chain of rule r as it is now, from the backend that owns it.
func (h *Host) Reread(ctx context.Context, ref ChainRef) (Chain, error) {
	b := h.Backend(ref.Backend)
	if b == nil {
		return Chain{}, fmt.Errorf("no %s backend", ref.Backend)
	}
	return b.Chain(ctx, ref)
}

// writtenByNativeTailscaled reports whether a chain iptables-nft could list
// was in fact written by tailscaled in nftables mode. That mode matches
// interfaces by prefix ("tailscale0*", which iptables-nft shows as
// "tailscale0+"), while tailscaled in iptables mode always names them
// exactly; when iptables-nft cannot parse the chain at all it never gets here.
func writtenByNativeTailscaled(c Chain) bool {
	if !IsTailscaleChain(c.Chain) {
		return false
	}
	for _, r := range c.Rules {
		if strings.HasSuffix(r.InIface, "+") {
			return true
		}
	}
	return false
}
