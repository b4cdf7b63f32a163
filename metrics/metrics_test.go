package metrics

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/fixes"
)

var t0 = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

func blockedReport() checks.Report {
	return checks.Report{Verdict: checks.Blocked, Elapsed: 1234 * time.Millisecond,
		Culprit: &firewall.Rule{ChainRef: firewall.ChainRef{Backend: firewall.IptablesNFT, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"}},
		Blocked: []checks.BlockedService{
			{Address: netip.MustParseAddr("100.100.2.136"), Port: 53, Service: "dns", Cause: checks.CauseRule},
			{Address: netip.MustParseAddr("100.100.100.200"), Port: 80, Service: "metadata", Cause: checks.CauseRule},
		}}
}

func routeReport() checks.Report {
	return checks.Report{Verdict: checks.Blocked, Elapsed: time.Second,
		Route:   &checks.RouteCapture{Service: netip.MustParseAddr("100.100.2.136"), Table: 52, Prefix: netip.MustParsePrefix("100.100.2.0/24"), Device: "tailscale0", Reason: checks.ReasonSubnetRoute},
		Blocked: []checks.BlockedService{{Address: netip.MustParseAddr("100.100.2.136"), Port: 53, Service: "dns", Cause: checks.CauseRoute}}}
}

func encode(t *testing.T, fams []Family) string {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, fams); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCheckMetrics: the series each kind of report gives, line for line.
func TestCheckMetrics(t *testing.T) {
	cases := []struct {
		name      string
		rep       checks.Report
		want, not []string
	}{
		{"rule", blockedReport(), []string{
			`tsdoctor_verdict{verdict="healthy"} 0`,
			`tsdoctor_verdict{verdict="blocked"} 1`,
			`tsdoctor_verdict{verdict="degraded"} 0`,
			`tsdoctor_verdict{verdict="error"} 0`,
			`tsdoctor_blocked_services 2`,
			`tsdoctor_blocked{address="100.100.2.136",port="53",service="dns",cause="rule"} 1`,
			`tsdoctor_blocked{address="100.100.100.200",port="80",service="metadata",cause="rule"} 1`,
			`tsdoctor_culprit_info{kind="rule",backend="iptables-nft",table="filter",chain="ts-input",device=""} 1`,
			`tsdoctor_check_duration_seconds 1.234`,
			`tsdoctor_last_check_timestamp_seconds 1.7961048e+09`,
			`tsdoctor_build_info{version="v1.2.3"} 1`,
		}, nil},
		{"route", routeReport(), []string{
			`tsdoctor_verdict{verdict="blocked"} 1`,
			`tsdoctor_blocked{address="100.100.2.136",port="53",service="dns",cause="route"} 1`,
			`tsdoctor_culprit_info{kind="route",backend="",table="52",chain="",device="tailscale0"} 1`,
		}, nil},
		{"healthy", checks.Report{Verdict: checks.Healthy, Elapsed: 300 * time.Millisecond}, []string{
			`tsdoctor_verdict{verdict="healthy"} 1`,
			`tsdoctor_verdict{verdict="blocked"} 0`,
			`tsdoctor_blocked_services 0`,
			"# TYPE tsdoctor_culprit_info gauge",
		}, []string{"tsdoctor_blocked{", "tsdoctor_culprit_info{"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := encode(t, Check(c.rep, t0, "v1.2.3"))
			lines := strings.Split(out, "\n")
			for _, w := range c.want {
				if !contains(lines, w) {
					t.Errorf("no line %q in\n%s", w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("%q in\n%s", n, out)
				}
			}
			promtoolMetrics(t, out)
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// promtoolMetrics has Prometheus's own parser and linter read out (skipped
// without promtool: apt-get install prometheus).
func promtoolMetrics(t *testing.T, out string) {
	t.Helper()
	pt, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("no promtool here (apt-get install prometheus): the text format is not checked by Prometheus's parser")
	}
	cmd := exec.Command(pt, "check", "metrics")
	cmd.Stdin = strings.NewReader(out)
	if b, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, b, out)
	}
}

// TestPromtoolRejects: the promtool check can fail (a broken exposition).
func TestPromtoolRejects(t *testing.T) {
	pt, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("no promtool here (apt-get install prometheus)")
	}
	cmd := exec.Command(pt, "check", "metrics")
	cmd.Stdin = strings.NewReader(strings.Replace(encode(t, Check(blockedReport(), t0, "v")), `verdict="blocked"`, `verdict="blocked`, 1))
	if b, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("promtool accepted a broken file:\n%s", b)
	}
}

// TestLabelEscaping: quotes, backslashes and newlines in label values and
// help stay one valid line.
func TestLabelEscaping(t *testing.T) {
	out := encode(t, []Family{{Name: "tsdoctor_x", Help: "a \\ b\nc", Type: Gauge,
		Samples: []Sample{{Labels: L("v", "q\"u\\o\nte"), Value: 1}}}})
	want := "# HELP tsdoctor_x a \\\\ b\\nc\n# TYPE tsdoctor_x gauge\ntsdoctor_x{v=\"q\\\"u\\\\o\\nte\"} 1\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	promtoolMetrics(t, out)
}

// TestGuardMetrics: the guard's counters and its last outage window.
func TestGuardMetrics(t *testing.T) {
	s := fixes.GuardStats{Started: t0, Passes: 40, Events: 3, RebuildsSeen: 2, Reapplies: 2, Errors: 1,
		LastPass: t0.Add(time.Hour), OutageStart: t0.Add(30 * time.Minute), OutageEnd: t0.Add(30*time.Minute + 4*time.Millisecond)}
	out := encode(t, Guard(s, "v1"))
	for _, w := range []string{
		"tsdoctor_guard_passes_total 40", "tsdoctor_guard_events_total 3", "tsdoctor_guard_rebuilds_seen_total 2",
		"tsdoctor_guard_reapplies_total 2", "tsdoctor_guard_errors_total 1",
		"tsdoctor_guard_last_outage_seconds 0.004",
		"tsdoctor_guard_last_outage_start_timestamp_seconds 1.7961066e+09",
		"# TYPE tsdoctor_guard_rebuilds_seen_total counter",
	} {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("no %q in\n%s", w, out)
		}
	}
	if out := encode(t, Guard(fixes.GuardStats{Started: t0}, "v1")); !strings.Contains(out, "tsdoctor_guard_last_outage_seconds 0\n") || !strings.Contains(out, "tsdoctor_guard_last_outage_start_timestamp_seconds 0\n") {
		t.Errorf("no outage yet, but:\n%s", out)
	}
	promtoolMetrics(t, out)
}

// TestWriteFileAtomic: a reader polling the file while it is rewritten
// with reports of changing size only ever sees a whole one, the file is
// world-readable, and no temporary file is left.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tsdoctor.prom")
	big := blockedReport()
	for i := 0; i < 300; i++ {
		big.Blocked = append(big.Blocked, checks.BlockedService{Address: netip.AddrFrom4([4]byte{100, 100, byte(i >> 8), byte(i)}), Port: 53, Service: "dns", Cause: checks.CauseRule})
	}
	versions := map[string]bool{}
	var reps []checks.Report
	for i, r := range []checks.Report{big, {Verdict: checks.Healthy}} {
		out := encode(t, Check(r, t0, fmt.Sprint(i)))
		versions[out] = true
		reps = append(reps, r)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads, bad atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			b, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			reads.Add(1)
			if !versions[string(b)] {
				bad.Add(1)
			}
		}
	}()
	for i := 0; i < 200; i++ {
		if err := WriteFile(path, Check(reps[i%2], t0, fmt.Sprint(i%2))); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("the reader never read the file")
	}
	if bad.Load() > 0 {
		t.Errorf("%d of %d reads saw a partial or foreign file", bad.Load(), reads.Load())
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v: node_exporter's user must read it", fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left in the directory: %v", ents)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.prom"), Check(reps[1], t0, "")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("write into a missing directory: %v", err)
	}
}

// TestGuardWriter: a pass that changes a counter is written at once; quiet
// passes only every Every.
func TestGuardWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.prom")
	now := t0
	w := &GuardWriter{Path: path, Version: "v", Every: 15 * time.Second, Now: func() time.Time { return now }}
	read := func() string { b, _ := os.ReadFile(path); return string(b) }
	s := fixes.GuardStats{Started: t0, Passes: 1}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Pass(s))
	if !strings.Contains(read(), "tsdoctor_guard_passes_total 1\n") {
		t.Fatalf("first pass not written:\n%s", read())
	}
	s.Passes = 2
	now = now.Add(time.Second)
	must(w.Pass(s))
	if !strings.Contains(read(), "tsdoctor_guard_passes_total 1\n") {
		t.Errorf("a quiet pass 1 s later was written")
	}
	s.Passes, s.RebuildsSeen, s.Reapplies = 3, 1, 1
	must(w.Pass(s))
	if !strings.Contains(read(), "tsdoctor_guard_reapplies_total 1\n") {
		t.Errorf("a re-apply was not written at once:\n%s", read())
	}
	s.Passes = 4
	now = now.Add(16 * time.Second)
	must(w.Pass(s))
	if !strings.Contains(read(), "tsdoctor_guard_passes_total 4\n") {
		t.Errorf("a quiet pass after Every was not written")
	}
}
