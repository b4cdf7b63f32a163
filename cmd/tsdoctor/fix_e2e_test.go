package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// runFix runs `tsdoctor fix --json --yes` in the lab.
func runFix(t *testing.T, l *lab.Lab, args ...string) (wire.Fix, int, string) {
	t.Helper()
	var fj wire.Fix
	code, out := lab.RunJSON(t, l.Command(context.Background(), binary, append([]string{"fix", "--json", "--yes"}, args...)...), &fj)
	if fj.Schema != wire.SchemaFixV1 {
		t.Errorf("schema %q", fj.Schema)
	}
	return fj, code, out
}

func runUndo(t *testing.T, l *lab.Lab) wire.Undo {
	t.Helper()
	var uj wire.Undo
	code, out := lab.RunJSON(t, l.Command(context.Background(), binary, "undo", "--json"), &uj)
	if code != 0 || len(uj.Undone) != 1 || !uj.Undone[0].Same {
		t.Fatalf("undo: exit %d\n%s", code, out)
	}
	return uj
}

// tsInput is ts-input as the scenario's backend tool prints it.
func tsInput(t *testing.T, l *lab.Lab) []string {
	t.Helper()
	rules, err := lab.ReadInputRules(context.Background(), l.ECS(), l.Scenario.Mode)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// restartTailscaled does to the lab's firewall what a tailscaled restart
// does: all ts-* chains go, and are rebuilt as the version builds them.
func restartTailscaled(t *testing.T, l *lab.Lab) {
	t.Helper()
	ctx := context.Background()
	if err := lab.RemoveRules(ctx, l.ECS(), l.Scenario); err != nil {
		t.Fatal(err)
	}
	// tailscaled brings its tailscale0 up again before it rebuilds: the
	// link event the guard reacts to (iptables-legacy has no change events).
	for _, state := range []string{"down", "up"} {
		if out, err := exec.Command("ip", "-n", l.ECS(), "link", "set", "tailscale0", state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set tailscale0 %s: %v: %s", state, err, out)
		}
	}
	if err := lab.InstallRules(ctx, l.ECS(), l.Scenario); err != nil {
		t.Fatal(err)
	}
}

func blockedAddrs(rep wire.Check) []string {
	var out []string
	for _, b := range rep.Blocked {
		out = append(out, b.Address.String())
	}
	return out
}

func rootFile(l *lab.Lab, p string) string { return filepath.Join(l.RootDir(), p) }

// TestRemediesInLab: every firewall remedy on every backend. Broken → fix →
// DNS answers → fix again changes nothing → tailscaled rebuilds its chains →
// exactly what the remedy promised → undo → ts-input and the files are as
// before.
func TestRemediesInLab(t *testing.T) {
	for _, scenario := range []string{"new-order", "legacy", "nftables"} {
		for _, remedy := range []int{1, 2, 3, 5} {
			t.Run(fmt.Sprintf("%s/remedy-%d", scenario, remedy), func(t *testing.T) {
				testRemedyInLab(t, startLab(t, scenario), remedy)
			})
		}
	}
}

func testRemedyInLab(t *testing.T, l *lab.Lab, remedy int) {
	before := tsInput(t, l)
	if rep, _, raw := check(t, l); rep.Verdict != checks.Blocked {
		t.Fatalf("not broken to start with:\n%s", raw)
	}
	fj, code, raw := runFix(t, l, "--remedy", fmt.Sprint(remedy))
	if code != 0 || !fj.Changed || fj.Verification == nil || !fj.Verification.Passed || !fj.Verification.DNSAnswers {
		t.Fatalf("fix: exit %d\n%s", code, raw)
	}
	if len(fj.Plan.Steps) == 0 || fj.Journal == "" {
		t.Errorf("no plan steps or journal id:\n%s", raw)
	}
	rep, _, _ := check(t, l)
	if slices.Contains(blockedAddrs(rep), "100.100.2.136") {
		t.Errorf("100.100.2.136 still blocked after the fix: %v", blockedAddrs(rep))
	}
	// Idempotent: a second run finds it in place.
	if again, code, raw := runFix(t, l, "--remedy", fmt.Sprint(remedy)); again.Changed || code != 0 {
		if remedy != 5 || code != 0 { // 5: "netfilter is already off" is success too
			t.Errorf("second fix changed something (exit %d):\n%s", code, raw)
		}
	}
	mid := tsInput(t, l)

	switch remedy {
	case 1, 2, 3:
		restartTailscaled(t, l)
		rep, _, _ := check(t, l)
		if !slices.Contains(blockedAddrs(rep), "100.100.2.136") {
			t.Fatalf("after a rebuild the DROP should be back and DNS blocked: %v", blockedAddrs(rep))
		}
		if remedy == 2 {
			// What the unit runs after tailscaled starts.
			out, err := l.Command(context.Background(), "sh", rootFile(l, fixes.WhitelistScript), "apply").CombinedOutput()
			if err != nil {
				t.Fatalf("whitelist.sh apply: %v\n%s", err, out)
			}
			unit, err := os.ReadFile(rootFile(l, fixes.WhitelistUnit))
			if err != nil || !strings.Contains(string(unit), "After=tailscaled.service") {
				t.Errorf("unit: %v\n%s", err, unit)
			}
		}
		if remedy == 3 {
			out, err := l.Command(context.Background(), binary, "guard", "--allow", strings.Join(fj.Plan.Allow, ","), "--once").CombinedOutput()
			if err != nil {
				t.Fatalf("guard --once: %v\n%s", err, out)
			}
		}
		rep, _, raw = check(t, l)
		if remedy == 1 {
			break
		}
		if slices.Contains(blockedAddrs(rep), "100.100.2.136") {
			t.Errorf("remedy %d did not restore the whitelist after the rebuild:\n%s", remedy, raw)
		}
		if got := tsInput(t, l); !slices.Equal(got, mid) {
			t.Errorf("restored chain\n %q\nwant as after the fix\n %q", got, mid)
		}
	case 5:
		if len(mid) != 0 {
			t.Errorf("netfilter off, ts-input still %q", mid)
		}
	}

	uj := runUndo(t, l)
	if uj.Undone[0].Remedy != fixes.ID(remedy) {
		t.Errorf("undid %+v", uj.Undone[0])
	}
	if got := tsInput(t, l); !slices.Equal(got, before) {
		t.Errorf("after undo ts-input\n %q\nwant\n %q", got, before)
	}
	for _, f := range []string{fixes.WhitelistScript, fixes.WhitelistUnit, fixes.GuardUnit} {
		if _, err := os.Stat(rootFile(l, f)); err == nil {
			t.Errorf("%s still there after undo", f)
		}
	}
	if rep, _, _ := check(t, l); rep.Verdict != checks.Blocked {
		t.Errorf("after undo the host should be as broken as before: %s", rep.Verdict)
	}
}

// TestGuardDaemonInLab: the guard, running, restores the whitelist after
// tailscaled rebuilds its chains, by nftables events (iptables-nft,
// nftables) or, on legacy, by the tailscale0 link event and the burst of
// re-checks after it (its safety poll is a minute away). Its --prometheus
// file counts each rebuild and re-apply.
func TestGuardDaemonInLab(t *testing.T) {
	for _, scenario := range []string{"new-order", "legacy", "nftables"} {
		t.Run(scenario, func(t *testing.T) {
			l := startLab(t, scenario)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			prom := filepath.Join(t.TempDir(), "tsdoctor-guard.prom")
			cmd := l.Command(ctx, binary, "guard", "--allow", "100.100.2.136,100.100.2.138", "--interval", "200ms", "--prometheus", prom)
			var logs strings.Builder
			cmd.Stderr = &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}()
			waitFor := func(what string) {
				t.Helper()
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
					if r := tsInput(t, l); len(r) > 0 && strings.Contains(r[0], "100.100.2.136") {
						return
					}
				}
				t.Fatalf("%s: whitelist not at the top of ts-input: %q\nguard log:\n%s", what, tsInput(t, l), logs.String())
			}
			waitFor("start")
			for i := range 3 {
				restartTailscaled(t, l)
				waitFor(fmt.Sprintf("rebuild %d", i+1))
			}
			if rep, _, raw := check(t, l); slices.Contains(blockedAddrs(rep), "100.100.2.136") {
				t.Errorf("DNS blocked with the guard running:\n%s", raw)
			}
			// The whitelist was missing at start and after each of the 3
			// rebuilds; the file is written right after the restoring pass.
			guardMetricsAtLeast(t, prom, map[string]float64{
				"tsdoctor_guard_rebuilds_seen_total": 4, "tsdoctor_guard_reapplies_total": 4,
				"tsdoctor_guard_last_outage_end_timestamp_seconds": float64(time.Now().Add(-time.Minute).Unix()),
			})
		})
	}
}

// TestPublicDNSInLab: remedy 4 on the lab's static resolv.conf; undo
// restores it byte for byte.
func TestPublicDNSInLab(t *testing.T) {
	l := startLab(t, "new-order")
	resolv := filepath.Join("/etc/netns", l.ECS(), "resolv.conf")
	before, err := os.ReadFile(resolv)
	if err != nil {
		t.Fatal(err)
	}
	fj, code, raw := runFix(t, l, "--remedy", "4")
	if code != 0 || !fj.Verification.Passed || !fj.Verification.DNSAnswers {
		t.Fatalf("fix 4: exit %d\n%s", code, raw)
	}
	now, _ := os.ReadFile(resolv)
	if !strings.Contains(string(now), "nameserver 223.5.5.5") || strings.Contains(string(now), "100.100.2.136") {
		t.Errorf("resolv.conf after remedy 4:\n%s", now)
	}
	if !strings.Contains(raw, "mirrors.cloud.aliyuncs.com") {
		t.Errorf("the plan does not warn about internal names:\n%s", raw)
	}
	runUndo(t, l)
	if after, _ := os.ReadFile(resolv); string(after) != string(before) {
		t.Errorf("undo left resolv.conf\n%q\nwant\n%q", after, before)
	}
}

// TestNodeAttrInLab: remedy 6 never claims success before the attribute is
// live; where it is, there is nothing to do.
func TestNodeAttrInLab(t *testing.T) {
	l := startLab(t, "new-order")
	fj, code, raw := runFix(t, l, "--remedy", "6")
	if code == 0 || fj.Changed || fj.Verification == nil || fj.Verification.Passed {
		t.Errorf("remedy 6 without the attribute: exit %d\n%s", code, raw)
	}
	if fj.Plan == nil || !strings.Contains(raw, "disable-linux-cgnat-drop-rule") || !strings.Contains(raw, "nodeAttrs") {
		t.Errorf("no policy snippet:\n%s", raw)
	}
	l2 := startLab(t, "nodeattr")
	if fj, code, raw := runFix(t, l2, "--remedy", "6"); code != 0 || fj.Applies {
		t.Errorf("attribute live: exit %d\n%s", code, raw)
	}
}

// TestFixRefusesWithoutTerminal: no TTY and no --yes: nothing changes.
func TestFixRefusesWithoutTerminal(t *testing.T) {
	l := startLab(t, "new-order")
	before := tsInput(t, l)
	cmd := l.Command(context.Background(), binary, "fix", "--remedy", "1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--yes") {
		t.Errorf("fix without a terminal and --yes: %v\n%s", err, out)
	}
	if got := tsInput(t, l); !slices.Equal(got, before) {
		t.Errorf("the firewall changed: %q", got)
	}
	// --dry-run shows the plan and changes nothing.
	out, err = l.Command(context.Background(), binary, "fix", "--remedy", "1", "--dry-run").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "100.64.0.0/10") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	if got := tsInput(t, l); !slices.Equal(got, before) {
		t.Errorf("the dry run changed the firewall: %q", got)
	}
}

// worldChange is something that happens to tailscaled between a fix and
// its undo. It returns the lab's new netfilter mode.
type worldChange struct {
	name string
	do   func(t *testing.T, l *lab.Lab)
}

// otherBackend is where a changed tailscaled puts its rules: iptables-nft ↔
// nftables (TS_DEBUG_FIREWALL_MODE, or a newer release choosing the other),
// iptables-legacy → iptables-nft (update-alternatives switched).
func otherBackend(mode string) string {
	if mode == lab.ModeIptablesNFT {
		return lab.ModeNFTables
	}
	return lab.ModeIptablesNFT
}

func become(t *testing.T, l *lab.Lab, s lab.Scenario) {
	t.Helper()
	if err := l.Become(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func setNetfilter(t *testing.T, l *lab.Lab, mode string) {
	t.Helper()
	if out, err := l.Command(context.Background(), "tailscale", "set", "--netfilter-mode="+mode).CombinedOutput(); err != nil {
		t.Fatalf("tailscale set --netfilter-mode=%s: %v\n%s", mode, err, out)
	}
}

// labNetfilter is the fake CLI's netfilter mode: off, nodivert or on.
func labNetfilter(t *testing.T, l *lab.Lab) string {
	t.Helper()
	out, err := l.Command(context.Background(), "tailscale", "debug", "prefs").Output()
	var p struct{ NetfilterMode int }
	if err != nil || json.Unmarshal(out, &p) != nil {
		t.Fatalf("tailscale debug prefs: %v\n%s", err, out)
	}
	return []string{"off", "nodivert", "on"}[p.NetfilterMode]
}

var worldChanges = []worldChange{
	{"restart", func(t *testing.T, l *lab.Lab) { become(t, l, l.Scenario) }},
	{"attribute-granted", func(t *testing.T, l *lab.Lab) {
		s := l.Scenario
		s.Variant = lab.VariantNodeAttr
		become(t, l, s)
	}},
	{"mode-nodivert", func(t *testing.T, l *lab.Lab) { setNetfilter(t, l, "nodivert") }},
	{"backend-change", func(t *testing.T, l *lab.Lab) {
		s := l.Scenario
		s.Mode = otherBackend(s.Mode)
		become(t, l, s)
	}},
	{"netfilter-off", func(t *testing.T, l *lab.Lab) { setNetfilter(t, l, "off") }},
}

// TestUndoAfterTailscaledChangedInLab: every firewall remedy on every
// backend, then tailscaled changes its chains (restart, node attribute
// granted, netfilter mode change, another backend, netfilter off), then
// undo. Undo never puts back a rule tailscaled no longer wants, never
// touches a chain tailscaled rebuilt (beyond deleting tsdoctor's own rules
// still in it), says so, exits 0; ts-input ends exactly as tailscaled builds
// it now, and tsdoctor's files are gone. Remedy 5 reverses the netfilter
// mode only if it is still the "off" it set. One lab per backend × remedy,
// reset between the changes.
func TestUndoAfterTailscaledChangedInLab(t *testing.T) {
	for _, scenario := range []string{"new-order", "legacy", "nftables"} {
		for _, remedy := range []int{1, 2, 3, 5} {
			t.Run(fmt.Sprintf("%s/remedy-%d", scenario, remedy), func(t *testing.T) {
				l := startLab(t, scenario)
				orig := l.Scenario
				for _, wc := range worldChanges {
					t.Run(wc.name, func(t *testing.T) {
						become(t, l, orig)
						setNetfilter(t, l, "on")
						testUndoAfterChange(t, l, remedy, wc)
					})
				}
			})
		}
	}
}

func testUndoAfterChange(t *testing.T, l *lab.Lab, remedy int, wc worldChange) {
	fj, code, raw := runFix(t, l, "--remedy", fmt.Sprint(remedy))
	if code != 0 || !fj.Changed {
		t.Fatalf("fix: exit %d\n%s", code, raw)
	}
	wc.do(t, l)
	modeBefore := labNetfilter(t, l)

	cmd := l.Command(context.Background(), binary, "undo", "--json")
	out, err := cmd.Output()
	var uj struct {
		Undone []struct {
			Same      bool     `json:"same_as_before"`
			LeftAlone []string `json:"left_alone"`
		} `json:"undone"`
		Error string `json:"error"`
	}
	if jerr := json.Unmarshal(out, &uj); jerr != nil || err != nil || len(uj.Undone) != 1 || !uj.Undone[0].Same || uj.Error != "" {
		t.Errorf("undo: %v %v\n%s", err, jerr, out)
	}

	// The netfilter mode: remedy 5 puts "on" back unless someone chose
	// another mode since; the others never touch it.
	wantMode := modeBefore
	if remedy == 5 && modeBefore == "off" {
		wantMode = "on"
	}
	mode := labNetfilter(t, l)
	if mode != wantMode {
		t.Errorf("netfilter mode after undo %s, want %s", mode, wantMode)
	}
	// ts-input is exactly what tailscaled builds in its current shape: no
	// rule of tsdoctor's, no DROP tailscaled no longer wants.
	var want []string
	if mode != "off" {
		want = l.Scenario.InputRules()
	}
	if got := tsInput(t, l); !slices.Equal(got, want) {
		t.Errorf("after undo ts-input (%s)\n %q\nwant what tailscaled builds now\n %q\nundo said:\n%s", l.Scenario.Mode, got, want, out)
	}
	if l.Scenario.Mode != lab.ModeIptablesLegacy {
		if legacy, err := lab.ReadInputRules(context.Background(), l.ECS(), lab.ModeIptablesLegacy); err != nil || legacy != nil {
			t.Errorf("iptables-legacy still holds ts-input %q (%v)", legacy, err)
		}
	}
	for _, f := range []string{fixes.WhitelistScript, fixes.WhitelistUnit, fixes.GuardUnit} {
		if _, err := os.Stat(rootFile(l, f)); err == nil {
			t.Errorf("%s still there after undo", f)
		}
	}
	// Whatever undo left alone, it says so (en: "tailscaled").
	// on → nodivert keeps the chains as they are (only the jumps go).
	leftAlone := (remedy == 1 && wc.name != "mode-nodivert") ||
		(remedy == 5 && wc.name == "mode-nodivert") ||
		((remedy == 2 || remedy == 3) && wc.name != "restart" && wc.name != "mode-nodivert")
	if len(uj.Undone) == 1 && (len(uj.Undone[0].LeftAlone) > 0) != leftAlone {
		t.Errorf("left alone %q, want some: %v\n%s", uj.Undone[0].LeftAlone, leftAlone, out)
	}
}
