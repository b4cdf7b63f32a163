package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tsrules"
	"github.com/tsdoctor/tsdoctor/wire"
)

// binary is tsdoctor built once for the lab tests.
var binary string

func TestMain(m *testing.M) {
	code := func() int {
		if os.Geteuid() == 0 {
			dir, bin, err := lab.BuildTsdoctor()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			binary = bin
		}
		return m.Run()
	}()
	os.Exit(code)
}

// startLab brings a lab up for one test or benchmark and tears it down after.
func startLab(tb testing.TB, scenario string) *lab.Lab {
	tb.Helper()
	return startLabHost(tb, scenario, "")
}

// startLabHost is startLab on a host shape ("": the default, ECS by DMI).
func startLabHost(tb testing.TB, scenario string, host lab.Host) *lab.Lab {
	tb.Helper()
	return startLabWith(tb, scenario, lab.Options{Host: host})
}

// startLabWith is startLab with more options (host shape, host tools); the
// prefix and the tsdoctor binary are set here.
func startLabWith(tb testing.TB, scenario string, o lab.Options) *lab.Lab {
	tb.Helper()
	lab.NeedRoot(tb, "the lab: network namespaces, firewall") // and TestMain built binary
	s, err := lab.ParseScenario(scenario)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	prefix := fmt.Sprintf("tse%d", time.Now().UnixNano()%100000)
	o.Prefix, o.Scenario, o.Tsdoctor = prefix, s, binary
	l, err := lab.Up(ctx, o)
	if err != nil {
		tb.Fatalf("lab up: %v", err)
	}
	tb.Cleanup(func() {
		if err := l.Down(); err != nil {
			tb.Errorf("lab down: %v", err)
		}
		if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), prefix) {
			tb.Errorf("namespace left behind: %s", out)
		}
	})
	sctx, cancel := context.WithCancel(ctx)
	tb.Cleanup(cancel)
	if err := l.Serve(sctx); err != nil {
		tb.Fatalf("lab serve: %v", err)
	}
	return l
}

// check runs `tsdoctor check --json` inside the lab's ECS namespace.
func check(t *testing.T, l *lab.Lab, args ...string) (wire.Check, int, string) {
	t.Helper()
	cmd := l.Command(context.Background(), binary, append([]string{"check", "--json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run check: %v", err)
	}
	var rep wire.Check
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check --json printed something that is not one JSON object: %v\n%s\nstderr: %s", err, out, stderr.String())
	}
	return rep, code, string(out)
}

// TestLabHostShapes: `tsdoctor check` without --ecs takes the lab's server
// for ECS exactly on the shapes that are ECS (DMI or TSDOCTOR_ECS=1): the
// metadata service is probed, and blocked, there; not on the others. Every
// shape names its cloud (host.cloud), and the services step says something
// about it or, with no cloud, about the resolver in 100.64.0.0/10.
func TestLabHostShapes(t *testing.T) {
	for _, host := range lab.Hosts {
		t.Run(string(host), func(t *testing.T) {
			l := startLabHost(t, "new-order", host)
			rep, code, raw := check(t, l)
			meta := slices.ContainsFunc(rep.Blocked, func(b checks.BlockedService) bool { return b.Service == "metadata" })
			if code != 1 || rep.Verdict != checks.Blocked || meta != host.ECS() {
				t.Errorf("exit %d, verdict %s, metadata blocked %v (want %v):\n%s", code, rep.Verdict, meta, host.ECS(), raw)
			}
			if rep.Host.Cloud != host.Cloud() {
				t.Errorf("host.cloud %q, want %q", rep.Host.Cloud, host.Cloud())
			}
			for _, st := range rep.Steps {
				if st.ID == "services" && len(st.Evidence) == 0 {
					t.Errorf("services step on %s: %q %q", host, st.Summary, st.Evidence)
				}
			}
		})
	}
}

func TestLabScenarios(t *testing.T) {
	cases := []struct {
		scenario string
		verdict  checks.Verdict
		backend  firewall.Backend
		position int
		version  string
		nfMode   string
		attr     bool
	}{
		{"new-order", checks.Blocked, firewall.IptablesNFT, 5, "1.102.3", "on", false},
		{"old-order", checks.Blocked, firewall.IptablesNFT, 3, "1.96.5", "on", false},
		{"legacy", checks.Blocked, firewall.IptablesLegacy, 5, "1.102.3", "on", false},
		{"nftables", checks.Blocked, firewall.NFTables, 5, "1.102.3", "on", false},
		{"1.96.5-nftables-default", checks.Blocked, firewall.NFTables, 3, "1.96.5", "on", false},
		{"ubuntu-stub", checks.Blocked, firewall.IptablesNFT, 5, "1.102.3", "on", false},
		{"nodeattr", checks.Healthy, "", 0, "1.102.3", "on", true},
		{"netfilter-off", checks.Healthy, "", 0, "1.102.3", "off", false},
		{"stopped", checks.Healthy, "", 0, "", "", false},
		{"no-tailscale", checks.Healthy, "", 0, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			l := startLab(t, c.scenario)
			rep, code, raw := check(t, l, "--ecs")
			if rep.Schema != wire.SchemaCheckV1 || rep.Verdict != c.verdict || code != c.verdict.ExitCode() {
				t.Fatalf("verdict %s (exit %d), want %s\n%s", rep.Verdict, code, c.verdict, raw)
			}
			if c.verdict == checks.Blocked {
				cu := rep.Culprit
				if cu == nil || cu.Backend != c.backend || cu.Chain != "ts-input" || cu.Table != "filter" || cu.Position != c.position || !strings.Contains(cu.Rule, "drop") && !strings.Contains(cu.Rule, "DROP") || cu.Packets == 0 {
					t.Errorf("culprit = %+v, want %s ts-input #%d DROP\n%s", cu, c.backend, c.position, raw)
				}
				var got []string
				for _, b := range rep.Blocked {
					got = append(got, fmt.Sprintf("%s:%d/%s", b.Address, b.Port, b.Service))
				}
				for _, want := range []string{"100.100.2.136:53/dns", "100.100.2.138:53/dns", "100.100.100.200:80/metadata"} {
					if !slices.Contains(got, want) {
						t.Errorf("blocked = %v, missing %s", got, want)
					}
				}
				if c.scenario == "ubuntu-stub" {
					// The stub's fate follows from its upstreams' counters: it is
					// settled then, not waited for until the probe timeout.
					if dns := stepEvidence(rep, "dns"); !strings.Contains(dns, lab.StubAddr+" (DNS/UDP): no answer, and none can come: it forwards to 100.100.2.136, 100.100.2.138") {
						t.Errorf("the stub's probe was not settled from its upstreams:\n%s", dns)
					}
				}
			} else if rep.Culprit != nil || len(rep.Blocked) != 0 {
				t.Errorf("false positive: culprit %+v blocked %+v\n%s", rep.Culprit, rep.Blocked, raw)
			}
			ts := rep.Tailscale
			if c.version != "" && (ts.Version != c.version || ts.NetfilterMode != c.nfMode || ts.CGNATDropOff != c.attr || ts.BackendState != "Running") {
				t.Errorf("tailscale = %+v, want version %s netfilter %s attr %v", ts, c.version, c.nfMode, c.attr)
			}
			if c.scenario == "no-tailscale" && ts.Installed {
				t.Errorf("tailscale = %+v, want not installed", ts)
			}
			if len(rep.Steps) != len(checks.Steps) {
				t.Errorf("%d steps, want %d", len(rep.Steps), len(checks.Steps))
			}
			for _, s := range rep.Steps {
				if strings.Contains(s.Summary, "!") && strings.HasPrefix(s.Summary, "!") {
					t.Errorf("step %s has an untranslated summary %q", s.ID, s.Summary)
				}
			}
		})
	}
}

// TestTraceLeavesNothing runs the LOG trace and checks that the temporary
// rule is gone afterwards, and that a rule left by a killed run is swept.
func TestTraceLeavesNothing(t *testing.T) {
	// LOG in a network namespace prints only with nf_log_all_netns=1 (a
	// kernel-wide switch that changes no firewall): set it for the test,
	// under the lock every test that depends on it takes, and put back what
	// was there.
	logs := lab.HoldNfLogAllNetns(t, "1")
	for _, scenario := range []string{"new-order", "legacy", "nftables"} {
		t.Run(scenario, func(t *testing.T) {
			l := startLab(t, scenario)
			rep, _, raw := check(t, l, "--trace", "--only", "trace,rules")
			if rep.Verdict != checks.Blocked {
				t.Fatalf("verdict %s\n%s", rep.Verdict, raw)
			}
			if !strings.Contains(raw, "temporary LOG rule was removed") {
				t.Errorf("trace did not report removing its rule:\n%s", raw)
			}
			if logs && (!strings.Contains(raw, "Kernel log: a packet from 100.100.2.13") || !strings.Contains(raw, "SPT=53")) {
				t.Errorf("the LOG trace did not read the kernel log lines:\n%s", raw)
			}
			assertNoTraceRule(t, l)

			// Simulate a SIGKILL: leave a trace rule behind, then run again.
			spec := tsrules.TraceSpec("999999999-1") // a pid above any pid_max: that run is gone
			var cmd *exec.Cmd
			switch scenario {
			case "nftables":
				cmd = l.Command(context.Background(), "nft", "insert", "rule", "ip", "filter", "INPUT", "ip", "saddr", "100.64.0.0/10",
					"limit", "rate", "20/second", "log", "prefix", `"`+spec.LogPrefix+`"`, "comment", `"`+spec.Comment+`"`)
			case "legacy":
				cmd = l.Command(context.Background(), "iptables-legacy", append([]string{"-I", "INPUT", "1"}, spec.IptablesArgs()...)...)
			default:
				cmd = l.Command(context.Background(), "iptables-nft", append([]string{"-I", "INPUT", "1"}, spec.IptablesArgs()...)...)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("plant leftover: %v\n%s", err, out)
			}
			_, _, raw = check(t, l, "--only", "rules")
			if !strings.Contains(raw, "left by an earlier tsdoctor run") {
				t.Errorf("leftover trace rule not reported as swept:\n%s", raw)
			}
			assertNoTraceRule(t, l)
		})
	}
}

func assertNoTraceRule(t *testing.T, l *lab.Lab) {
	t.Helper()
	for _, args := range [][]string{{"iptables-nft-save"}, {"iptables-legacy-save"}, {"nft", "list", "ruleset"}} {
		out, _ := l.Command(context.Background(), args[0], args[1:]...).CombinedOutput()
		if strings.Contains(string(out), tsrules.TraceCommentPrefix) {
			t.Errorf("%s still shows a trace rule:\n%s", args[0], out)
		}
	}
}

// TestNotRoot: without root the check still reports what it could and exits 2
// with what to do when a CGNAT service is silent.
func TestNotRoot(t *testing.T) {
	l := startLab(t, "new-order")
	cmd := l.Command(context.Background(), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "check", "--json")
	wantCouldNotCheck(t, cmd, "sudo")
}

// wantCouldNotCheck runs cmd (a check --json) and wants exit 2, verdict
// error, and a hint that says what to do.
func wantCouldNotCheck(t *testing.T, cmd *exec.Cmd, hint string) {
	t.Helper()
	out, err := cmd.Output()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2\n%s", err, out)
	}
	var rep wire.Check
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != checks.Error || !strings.Contains(rep.Hint, hint) {
		t.Errorf("verdict %s hint %q, want error with %q", rep.Verdict, rep.Hint, hint)
	}
}

// TestLegacyWithoutIptablesBinary: without any iptables binary tsdoctor
// still reads the legacy table itself and names the culprit; when the path
// holds an extension it does not render itself (LOG here), nothing can read
// it and the check must say so (exit 2), not call the host healthy.
func TestLegacyWithoutIptablesBinary(t *testing.T) {
	l := startLab(t, "legacy")
	noIptables := "PATH=" + l.BinDir() + ":/usr/bin:/bin"
	out, err := l.Command(context.Background(), "env", noIptables, binary, "check", "--json").Output()
	var rep wire.Check
	if jerr := json.Unmarshal(out, &rep); jerr != nil || rep.Verdict != checks.Blocked || rep.Culprit == nil || rep.Culprit.Backend != firewall.IptablesLegacy {
		t.Fatalf("without iptables binaries: %v %v\n%s", err, jerr, out)
	}
	if out, err := l.Command(context.Background(), "iptables-legacy", "-A", "INPUT", "-j", "LOG").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	cmd := l.Command(context.Background(), "env", noIptables, binary, "check", "--json")
	wantCouldNotCheck(t, cmd, "apt install iptables")
}

// TestBothBackends: tailscale rules in iptables-legacy and iptables-nft at
// once (a DROP in either is final): blocked, and the rules step says both.
func TestBothBackends(t *testing.T) {
	l := startLab(t, "legacy")
	nft, _ := lab.ParseScenario("new-order")
	if err := lab.InstallRules(context.Background(), l.ECS(), nft); err != nil {
		t.Fatal(err)
	}
	rep, code, raw := check(t, l)
	if rep.Verdict != checks.Blocked || code != 1 || rep.Culprit == nil {
		t.Fatalf("verdict %s exit %d\n%s", rep.Verdict, code, raw)
	}
	if !strings.Contains(raw, "more than one backend") {
		t.Errorf("the rules step does not say both backends hold tailscale chains:\n%s", raw)
	}
}

// TestTraceRemovedOnSIGTERM stops a check while its LOG rule is in place;
// the rule must be gone when the process has exited.
func TestTraceRemovedOnSIGTERM(t *testing.T) {
	// With LOG silent the trace waits its full window for kernel lines:
	// time enough to be interrupted.
	lab.HoldNfLogAllNetns(t, "0")
	l := startLab(t, "new-order")
	cmd := l.Command(context.Background(), binary, "check", "--trace", "--only", "trace")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		out, _ := l.Command(context.Background(), "iptables-nft", "-S", "INPUT").Output()
		if strings.Contains(string(out), tsrules.TraceCommentPrefix) {
			seen = true
			break
		}
	}
	if !seen {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the trace rule never appeared")
	}
	// ip netns exec forwards nothing, so signal the tsdoctor inside directly.
	if out, err := exec.Command("pkill", "-TERM", "-f", binary+" check --trace").CombinedOutput(); err != nil {
		t.Fatalf("pkill: %v %s", err, out)
	}
	cmd.Wait()
	assertNoTraceRule(t, l)
}

// TestDebugFirewall: `tsdoctor debug firewall` shows each scenario's ts-input
// under the backend that really holds it.
func TestDebugFirewall(t *testing.T) {
	for scenario, want := range map[string]firewall.Backend{
		"new-order": firewall.IptablesNFT, "legacy": firewall.IptablesLegacy, "nftables": firewall.NFTables,
	} {
		t.Run(scenario, func(t *testing.T) {
			l := startLab(t, scenario)
			out, err := l.Command(context.Background(), binary, "debug", "firewall").Output()
			if err != nil {
				t.Fatalf("debug firewall: %v", err)
			}
			var snap firewall.Snapshot
			if err := json.Unmarshal(out, &snap); err != nil {
				t.Fatal(err)
			}
			if got := snap.TailscaleBackends(); !slices.Equal(got, []firewall.Backend{want}) {
				t.Errorf("tailscale chains in %v, want only %s\n%s", got, want, out)
			}
			if snap.Chain(firewall.ChainRef{Backend: want, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"}) == nil {
				t.Errorf("no %s ts-input in\n%s", want, out)
			}
		})
	}
}
