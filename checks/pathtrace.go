package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/netprobe"
)

// pathTraceWindow bounds how long the path trace waits for a reply that is
// neither answered nor dropped by an nf_tables rule: dropped ones end as soon
// as the drop is reported, answered ones in a round trip.
const pathTraceWindow = 300 * time.Millisecond

type pathFacts struct {
	evidence []i18n.Msg
	commands []string
	paths    []nftrace.Path
}

// pathTrace shows each DNS reply's way through nf_tables, rule by rule: a
// temporary table marks exactly the replies of fresh DNS probes (their own
// local ports) with nftrace, the kernel reports every chain and rule they
// pass, and the table is removed again. Unlike LOG it needs no kernel log,
// so it works in containers and network namespaces.
func (r *run) pathTrace(ctx context.Context, ps *probeSet) pathFacts {
	return r.ptr.get(func() (t pathFacts) {
		t.commands = []string{"nft add table ip tsdoctor-trace", "nft add chain ip tsdoctor-trace mark '{ type filter hook prerouting priority -350; }'",
			"nft add rule ip tsdoctor-trace mark ip saddr " + r.sampleResolver() + " udp sport 53 meta nftrace set 1",
			"nft monitor trace     # then: dig @" + r.sampleResolver() + " " + r.opts.QueryName, "nft delete table ip tsdoctor-trace"}
		if !r.env.Root || r.env.NFTrace == nil {
			t.evidence = append(t.evidence, i18n.M("path.noroot"))
			return t
		}
		snap := r.firewall().snap
		if snap != nil && slices.Equal(snap.TailscaleBackends(), []firewall.Backend{firewall.IptablesLegacy}) {
			t.evidence = append(t.evidence, i18n.M("path.legacy"))
			return t
		}
		prep, ok := r.env.Probe.(netprobe.Preparer)
		if !ok {
			t.evidence = append(t.evidence, i18n.M("path.noprobe"))
			return t
		}
		var probes []nftrace.Probe
		var prepared []*netprobe.PreparedDNS
		defer func() {
			for _, p := range prepared {
				p.Close()
			}
		}()
		for _, p := range ps.probes {
			// A local stub's (systemd-resolved) replies come over loopback
			// and are never the ones dropped; its upstreams are probed, and
			// so traced, directly.
			if (p.Kind != ProbeUDP && p.Kind != ProbeTCP) || !p.Addr.Addr().Is4() || p.Addr.Addr().IsLoopback() {
				continue
			}
			pp, err := prep.PrepareDNS(ctx, p.Addr, string(p.Kind))
			if err != nil {
				t.evidence = append(t.evidence, i18n.M("path.err", err.Error()))
				continue
			}
			prepared = append(prepared, pp)
			probes = append(probes, nftrace.Probe{
				Reply: nftrace.Reply{Src: p.Addr.Addr(), SrcPort: p.Addr.Port(), DstPort: pp.LocalPort, Proto: string(p.Kind)},
				Send:  func(ctx context.Context) { pp.Exchange(ctx, r.opts.QueryName) },
			})
		}
		if len(probes) == 0 {
			t.evidence = append(t.evidence, i18n.M("path.nothing"))
			return t
		}
		id := r.opts.TraceID // set by Run, shared with the LOG rule
		replies := make([]nftrace.Reply, len(probes))
		for i, p := range probes {
			replies[i] = p.Reply
		}
		t.commands = append(nftrace.Commands(id, replies), "nft monitor trace", nftrace.RemoveCommand(id))
		t.evidence = append(t.evidence, i18n.M("path.insert", nftrace.TableName(id), len(probes)))
		res, err := r.env.NFTrace.Run(ctx, id, probes, min(pathTraceWindow, r.opts.ProbeTimeout))
		if err != nil {
			t.evidence = append(t.evidence, i18n.M("path.err", err.Error()))
		} else {
			t.evidence = append(t.evidence, i18n.M("path.removed"))
		}
		nftrace.Annotate(res.Paths, snap, r.env.NFTrace.Handles(context.WithoutCancel(ctx)))
		t.paths = res.Paths
		for _, rep := range replies {
			var path *nftrace.Path
			for i := range res.Paths {
				if rep.Matches(res.Paths[i].Packet) {
					path = &res.Paths[i]
					break
				}
			}
			from := fmt.Sprintf("%s:%d (%s)", rep.Src, rep.SrcPort, strings.ToUpper(rep.Proto))
			switch {
			case path == nil:
				t.evidence = append(t.evidence, i18n.M("path.none", from))
			case path.Verdict() == "drop":
				h := path.Hops[path.Final()]
				t.evidence = append(t.evidence, i18n.M("path.drop", from, path.String(), h.Rule))
			case path.Verdict() == "accept":
				t.evidence = append(t.evidence, i18n.M("path.accept", from, path.String()))
			default:
				t.evidence = append(t.evidence, i18n.M("path.unknown", from, path.String()))
			}
		}
		if res.Lost {
			t.evidence = append(t.evidence, i18n.M("path.lost"))
		}
		return t
	})
}
