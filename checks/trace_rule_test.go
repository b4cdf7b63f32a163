package checks

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/hostinfo"
)

// onBackend is fakeFW playing another backend, recording what is inserted.
type onBackend struct {
	*fakeFW
	b       firewall.Backend
	inserts []firewall.Change
}

func (o *onBackend) own(ref firewall.ChainRef) firewall.ChainRef {
	ref.Backend = firewall.IptablesNFT
	return ref
}

func (o *onBackend) relabel(c *firewall.Chain) {
	c.Backend = o.b
	for i := range c.Rules {
		c.Rules[i].Backend = o.b
	}
}

func (o *onBackend) Backend() firewall.Backend { return o.b }
func (o *onBackend) InputPath(ctx context.Context) firewall.BackendState {
	st := o.fakeFW.InputPath(ctx)
	st.Backend = o.b
	for i := range st.Chains {
		o.relabel(&st.Chains[i])
	}
	return st
}
func (o *onBackend) Chain(ctx context.Context, ref firewall.ChainRef) (firewall.Chain, error) {
	c, err := o.fakeFW.Chain(ctx, o.own(ref))
	o.relabel(&c)
	return c, err
}
func (o *onBackend) Insert(ctx context.Context, ref firewall.ChainRef, pos int, spec firewall.Spec) error {
	o.inserts = append(o.inserts, firewall.Change{Ref: ref, Pos: pos, Spec: spec})
	return o.fakeFW.Insert(ctx, o.own(ref), pos, spec)
}
func (o *onBackend) Delete(ctx context.Context, ref firewall.ChainRef, spec firewall.Spec) error {
	return o.fakeFW.Delete(ctx, o.own(ref), spec)
}

// TestTraceRulePreviewIsInserted: the LOG rule the wizard shows before it
// asks (TraceRule of the diagnosis) is, to the character, the rule the trace
// then inserts, whichever backend holds tailscaled's chains: with the DROP
// caught by its counter, and with no culprit at all (the node attribute's
// RETURN, resolvers silent for another reason), where the wizard once named
// iptables-nft while the trace wrote to the backend holding ts-input.
func TestTraceRulePreviewIsInserted(t *testing.T) {
	for _, b := range []firewall.Backend{firewall.IptablesNFT, firewall.IptablesLegacy, firewall.NFTables} {
		for _, c := range []struct {
			name, verdict string
			dead          []string
		}{
			{"culprit", "DROP", nil},
			{"no-culprit", "RETURN", []string{"100.100.2.136", "100.100.2.138"}},
		} {
			t.Run(string(b)+"/"+c.name, func(t *testing.T) {
				fw := &fakeFW{chains: tsChains(t, c.verdict)}
				ob := &onBackend{fakeFW: fw, b: b}
				env := testEnv(t, ecsResolv, fw, runningTS, c.dead...)
				env.Firewall = firewall.NewHost(ob)
				kmsg := filepath.Join(t.TempDir(), "kmsg")
				os.WriteFile(kmsg, nil, 0o644)
				env.KernelLog = func() (*hostinfo.KernelLog, error) { return hostinfo.OpenKernelLog(kmsg) }

				// As the wizard: diagnose, show the rule, then trace with its id.
				o := fastOpts()
				o.ProbeTimeout = 300 * time.Millisecond // the silent resolvers
				rep := Run(context.Background(), env, o)
				if (rep.Culprit != nil) != (c.verdict == "DROP") {
					t.Fatalf("culprit %+v", rep.Culprit)
				}
				const id = "4242-7"
				shown := TraceRule(rep, id).Command()
				o.Trace, o.TraceID, o.Only = true, id, []StepID{StepTrace}
				Run(context.Background(), env, o)
				if len(ob.inserts) != 1 {
					t.Fatalf("the trace inserted %d rules, want 1: %+v", len(ob.inserts), ob.inserts)
				}
				ins := ob.inserts[0]
				if ins.Ref.Backend != b || ins.Ref.Chain != "INPUT" || ins.Pos != 1 {
					t.Errorf("the trace inserted into %s at %d, want the top of %s INPUT", ins.Ref, ins.Pos, b)
				}
				if got := ins.Command(); got != shown {
					t.Errorf("the wizard showed\n  %s\nthe trace inserted\n  %s", shown, got)
				}
			})
		}
	}
}
