package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/lab"
)

// TestRestartRebuildsChains: a rule added to ts-input by hand (the article's
// whitelist) is gone after tailscaled restarts, on every backend; the
// DROP is back and tsdoctor finds it again. Every remedy that edits
// tailscaled's chains is measured against this.
func TestRestartRebuildsChains(t *testing.T) {
	needRoot(t)
	insert := map[string][]string{
		lab.ModeIptablesNFT:    {"iptables-nft", "-w", "-I", "ts-input", "1", "-s", lab.InternalDNS1 + "/32", "-j", "ACCEPT"},
		lab.ModeIptablesLegacy: {"iptables-legacy", "-w", "-I", "ts-input", "1", "-s", lab.InternalDNS1 + "/32", "-j", "ACCEPT"},
		lab.ModeNFTables:       {"nft", "insert", "rule", "ip", "filter", "ts-input", "ip", "saddr", lab.InternalDNS1, "accept"},
	}
	onEachBackend(t, func(t *testing.T, n *harness.Node, before []string) {
		ctx := context.Background()
		if out, err := n.Command(ctx, insert[n.Mode][0], insert[n.Mode][1:]...).CombinedOutput(); err != nil {
			t.Fatalf("insert whitelist: %v\n%s", err, out)
		}
		with, _ := n.InputRules(ctx)
		if len(with) != len(before)+1 || !strings.Contains(with[0], lab.InternalDNS1) {
			t.Fatalf("whitelist not at the top: %q", with)
		}
		if rep, raw := check(t, n); slices.ContainsFunc(rep.Blocked, func(b checks.BlockedService) bool {
			return b.Address.String() == lab.InternalDNS1
		}) {
			t.Errorf("%s still blocked with the whitelist in place:\n%s", lab.InternalDNS1, raw)
		}

		if err := n.Restart(ctx); err != nil {
			t.Fatalf("restart: %v", err)
		}
		after, err := n.InputRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) || slices.ContainsFunc(after, func(r string) bool { return strings.Contains(r, lab.InternalDNS1) }) {
			t.Errorf("after restart ts-input is %q; want the whitelist gone and the chain rebuilt as %q", after, before)
		}
		rep, raw := check(t, n)
		if rep.Verdict != checks.Blocked || rep.Culprit == nil || rep.Culprit.Position != 5 {
			t.Errorf("after restart: verdict %s culprit %+v, want blocked by rule #5 again\n%s", rep.Verdict, rep.Culprit, raw)
		}
	})
}

// TestNodeAttrLive: the tailnet admin grants the attribute while tailscaled
// runs; the DROP turns into RETURN without a restart and tsdoctor says the
// host is healthy; revoking it brings the DROP back.
func TestNodeAttrLive(t *testing.T) {
	n := startNode(t, "1.102.3", lab.ModeIptablesNFT, lab.VariantDefault)
	ctx := context.Background()
	for _, step := range []struct {
		attr    bool
		verdict checks.Verdict
	}{{true, checks.Healthy}, {false, checks.Blocked}} {
		n.Control.SetNodeAttr(step.attr)
		if err := n.WaitReady(ctx); err != nil {
			t.Fatalf("attribute %v: %v", step.attr, err)
		}
		rep, raw := check(t, n)
		if rep.Verdict != step.verdict || rep.Tailscale.CGNATDropOff != step.attr {
			t.Errorf("attribute %v: verdict %s, cgnat_drop_disabled %v; want %s\n%s", step.attr, rep.Verdict, rep.Tailscale.CGNATDropOff, step.verdict, raw)
		}
	}
}

// TestStoppedDaemon: after tailscaled stops (SIGTERM, as systemctl stop
// does) its chains are gone, as the lab's "stopped" variant has it, and
// tsdoctor reports the daemon not running and the host healthy.
func TestStoppedDaemon(t *testing.T) {
	n := startNode(t, "1.102.3", lab.ModeIptablesNFT, lab.VariantDefault)
	ctx := context.Background()
	if err := n.StopDaemon(); err != nil {
		t.Fatal(err)
	}
	rules, err := n.InputRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped, _ := lab.ParseScenario("1.102.3-iptables-nft-stopped")
	if len(rules) != 0 || stopped.HasRules() {
		t.Errorf("tailscaled stopped, ts-input still has %q (lab stopped scenario has rules: %v)", rules, stopped.HasRules())
	}
	rep, raw := check(t, n)
	if rep.Verdict != checks.Healthy || rep.Tailscale.BackendState != "NotRunning" || !rep.Tailscale.Installed || rep.OrphanedRules {
		t.Errorf("verdict %s, tailscale %+v; want healthy, installed, not running\n%s", rep.Verdict, rep.Tailscale, raw)
	}
	t.Logf("stopped: tailscale %+v", rep.Tailscale)
}
