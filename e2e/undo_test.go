package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tsrules"
	"github.com/tsdoctor/tsdoctor/wire"
)

// What can happen to tailscaled between a fix and its undo, on a real host.
// The backend change comes last: the node needs no reset after it.
var realChanges = []struct {
	name string
	do   func(ctx context.Context, t *testing.T, n *harness.Node)
}{
	{"restart", func(ctx context.Context, t *testing.T, n *harness.Node) { must(t, n.Restart(ctx)) }},
	// As measured for issue 10: the admin grants the attribute, tailscaled
	// restarts with it (ts-input then ends in RETURN).
	{"attribute-granted", func(ctx context.Context, t *testing.T, n *harness.Node) {
		n.Control.SetNodeAttr(true)
		must(t, n.Restart(ctx))
	}},
	// From on, tailscaled only takes its jumps out; from off (remedy 5) it
	// builds the chains unhooked.
	{"mode-nodivert", func(ctx context.Context, t *testing.T, n *harness.Node) {
		cli(ctx, t, n, "set", "--netfilter-mode=nodivert")
		waitFor(t, "nodivert in place", func() bool {
			rules, _ := n.InputRules(ctx)
			return len(rules) > 0 && !hooked(ctx, n)
		})
	}},
	{"netfilter-off", func(ctx context.Context, t *testing.T, n *harness.Node) {
		cli(ctx, t, n, "set", "--netfilter-mode=off")
		must(t, n.WaitReady(ctx))
	}},
	// tailscaled comes back on another backend: iptables-nft ↔ nftables,
	// iptables-legacy → iptables-nft.
	{"backend-change", func(ctx context.Context, t *testing.T, n *harness.Node) {
		must(t, n.StopDaemon())
		n.Mode = otherBackend(n.Mode)
		must(t, n.StartDaemon(ctx))
		must(t, n.WaitReady(ctx))
	}},
}

func otherBackend(mode string) string {
	if mode == lab.ModeIptablesNFT {
		return lab.ModeNFTables
	}
	return lab.ModeIptablesNFT
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func cli(ctx context.Context, t *testing.T, n *harness.Node, args ...string) {
	t.Helper()
	if out, err := n.CLI(ctx, args...); err != nil {
		t.Fatalf("tailscale %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// waitFor polls ok for up to 20 s; state, if given, says what was seen.
func waitFor(t *testing.T, what string, ok func() bool, state ...func() string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			seen := ""
			for _, s := range state {
				seen += ": " + s()
			}
			t.Fatalf("timed out waiting for %s%s", what, seen)
		}
	}
}

// hooked reports whether INPUT jumps to ts-input on the node's backend.
func hooked(ctx context.Context, n *harness.Node) bool {
	var args []string
	switch n.Mode {
	case lab.ModeIptablesNFT:
		args = []string{"iptables-nft", "-w", "-S", "INPUT"}
	case lab.ModeIptablesLegacy:
		args = []string{"iptables-legacy", "-w", "-S", "INPUT"}
	default:
		args = []string{"nft", "list", "chain", "ip", "filter", "INPUT"}
	}
	out, _ := n.Command(ctx, args[0], args[1:]...).Output()
	return strings.Contains(string(out), "-j ts-input") || strings.Contains(string(out), "jump ts-input")
}

// netfilterMode is tailscaled's netfilter mode pref: off, nodivert or on.
func netfilterMode(ctx context.Context, t *testing.T, n *harness.Node) string {
	t.Helper()
	out, err := n.CLI(ctx, "debug", "prefs")
	var p struct{ NetfilterMode int }
	if err != nil || json.Unmarshal(out, &p) != nil || p.NetfilterMode < 0 || p.NetfilterMode > 2 {
		t.Fatalf("tailscale debug prefs: %v\n%s", err, out)
	}
	return []string{"off", "nodivert", "on"}[p.NetfilterMode]
}

// ownRules is ts-input as tailscaled itself builds it in the node's
// current shape (the lab scenario of that shape, which TestMatrix proves
// equal to the real daemon's), normalised; nil when netfilter is off.
func ownRules(ctx context.Context, t *testing.T, n *harness.Node, mode string) []string {
	t.Helper()
	if mode == "off" {
		return nil
	}
	variant := lab.VariantDefault
	if n.Control.NodeAttr() {
		variant = lab.VariantNodeAttr
	}
	s, err := lab.ParseScenario(n.Version + "-" + n.Mode + "-" + variant)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := n.IPv4(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tsrules.NormalizeRules(s.InputRulesWith(ip, 1))
}

// testUndoAfterChanges: on a node in its default shape, for each change
// tailscaled can go through between a fix and its undo: fix, change, undo.
// Undo exits 0, says what it left alone, never puts back a rule tailscaled
// no longer wants, and leaves ts-input exactly as tailscaled builds it
// now; remedy 5 puts "on" back only while the mode is still its "off";
// tsdoctor's files are gone. The node is put back in its default shape
// after each change, so one daemon serves all of them.
func testUndoAfterChanges(t *testing.T, n *harness.Node, remedy int) {
	ctx := context.Background()
	mode := n.Mode
	for i, c := range realChanges {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			defer func() { t.Logf("%s: %v", c.name, time.Since(start).Round(time.Millisecond)) }()
			if i < len(realChanges)-1 {
				t.Cleanup(func() { resetNode(ctx, t, n, mode) })
			}
			fo, code, raw := fix(t, n, "--remedy", fmt.Sprint(remedy))
			if code != 0 || !fo.Changed {
				t.Fatalf("fix %d: exit %d\n%s", remedy, code, raw)
			}
			c.do(ctx, t, n)
			modeBefore := netfilterMode(ctx, t, n)

			cmd := n.Command(ctx, tsdoctor, "undo", "--json")
			out, err := cmd.Output()
			var uo wire.Undo
			if jerr := json.Unmarshal(out, &uo); jerr != nil || err != nil || len(uo.Undone) != 1 || !uo.Undone[0].Same || uo.Error != "" {
				t.Errorf("undo: %v %v\n%s", err, jerr, out)
			}
			wantMode := modeBefore
			if remedy == 5 && modeBefore == "off" {
				wantMode = "on"
			}
			var got []string
			want := ownRules(ctx, t, n, wantMode)
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				rules, _ := n.InputRules(ctx)
				got = tsrules.NormalizeRules(rules)
				if slices.Equal(got, want) || time.Now().After(deadline) {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("after undo ts-input (%s)\n %q\nwant what tailscaled builds now\n %q\nundo said:\n%s", n.Mode, got, want, out)
			}
			if m := netfilterMode(ctx, t, n); m != wantMode {
				t.Errorf("netfilter mode after undo %s, want %s", m, wantMode)
			}
			for _, f := range []string{fixes.WhitelistScript, fixes.WhitelistUnit, fixes.GuardUnit} {
				if _, err := os.Stat(filepath.Join(n.Lab.RootDir(), f)); err == nil {
					t.Errorf("%s still there after undo", f)
				}
			}
			leftAlone := (remedy == 1 && c.name != "mode-nodivert") ||
				(remedy == 5 && c.name == "mode-nodivert") ||
				((remedy == 2 || remedy == 3) && c.name != "restart" && c.name != "mode-nodivert")
			if len(uo.Undone) == 1 && (len(uo.Undone[0].LeftAlone) > 0) != leftAlone {
				t.Errorf("left alone %q, want some: %v\n%s", uo.Undone[0].LeftAlone, leftAlone, out)
			}
		})
	}
}

// resetNode puts the node back in its default shape: no attribute, the
// original backend, netfilter on, ts-input as tailscaled builds it.
func resetNode(ctx context.Context, t *testing.T, n *harness.Node, mode string) {
	t.Helper()
	if n.Control.NodeAttr() {
		n.Control.SetNodeAttr(false)
	}
	if n.Mode != mode {
		must(t, n.StopDaemon())
		n.Mode = mode
		must(t, n.StartDaemon(ctx))
	}
	if netfilterMode(ctx, t, n) == "nodivert" {
		// tailscaled 1.102.3 going nodivert → on rebuilds ts-input without
		// its magicsock accept (setNetfilterModeLocked re-adds it only from
		// off): go through off, which builds the chain whole.
		cli(ctx, t, n, "set", "--netfilter-mode=off")
	}
	cli(ctx, t, n, "set", "--netfilter-mode=on")
	must(t, n.WaitReady(ctx))
	want := ownRules(ctx, t, n, "on")
	var rules []string
	waitFor(t, "ts-input as tailscaled builds it", func() bool {
		rules, _ = n.InputRules(ctx)
		return slices.Equal(tsrules.NormalizeRules(rules), want) && hooked(ctx, n)
	}, func() string { return fmt.Sprintf("ts-input %q, hooked %v; want %q", rules, hooked(ctx, n), want) })
}
