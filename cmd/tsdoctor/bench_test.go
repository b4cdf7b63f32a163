package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/lab"
)

// The performance goals of issue #2 live here, as measured numbers:
//
//	go test ./cmd/tsdoctor -run '^$' -bench . -benchtime 30x
//
// Each benchmark runs the whole tsdoctor process inside a lab namespace and
// reports the median wall time of one run (median-ms); ns/op is the mean.

// benchHost is the lab's host shape for the timings: ECS by --ecs, so a
// run is tsdoctor's process and `ip netns exec` only, not the unshare and
// mount that lay the DMI of the other shapes over /sys/class.
const benchHost = lab.HostECSFlag

// timeRuns runs name args inside the lab b.N times and reports the median.
func timeRuns(b *testing.B, l *lab.Lab, okCodes []int, name string, args ...string) {
	b.Helper()
	var ds, cpu []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		cmd := l.Command(context.Background(), name, args...)
		err := cmd.Run()
		ds = append(ds, time.Since(t0))
		if cmd.ProcessState != nil {
			// ip netns exec execs the command: this is its own CPU time,
			// a figure a busy shared machine disturbs less than wall time.
			cpu = append(cpu, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		}
		code := 0
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		} else if err != nil {
			b.Fatal(err)
		}
		if !slices.Contains(okCodes, code) {
			b.Fatalf("%s %s: exit %d", name, strings.Join(args, " "), code)
		}
	}
	b.StopTimer()
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "median-ms")
	if len(cpu) > 0 {
		slices.Sort(cpu)
		b.ReportMetric(float64(cpu[len(cpu)/2].Microseconds())/1000, "cpu-median-ms")
	}
}

// BenchmarkCheckBroken: the verdict with the culprit named, whole process,
// on the broken host (goal: ≤ 250 ms median), also with 100,000
// kube-proxy rules in 1,000 chains of iptables-legacy's filter table, where
// every read of the firewall costs the whole table.
func BenchmarkCheckBroken(b *testing.B) {
	// ubuntu-stub: resolv.conf → systemd-resolved's stub → the VPC DNS.
	for _, c := range []struct{ scenario, load string }{
		{"new-order", ""}, {"legacy", ""}, {"nftables", ""}, {"ubuntu-stub", ""}, {"legacy", "filter"},
	} {
		name := c.scenario
		if c.load != "" {
			name += "/100k-" + c.load
		}
		b.Run(name, func(b *testing.B) {
			l := startLabHost(b, c.scenario, benchHost)
			if c.load != "" {
				loadKubeRules(b, l, c.scenario, c.load)
			}
			timeRuns(b, l, []int{1}, binary, "check", "--json", "--ecs")
		})
	}
}

// BenchmarkCheckHealthy: the healthy host (goal: ≤ 150 ms median).
func BenchmarkCheckHealthy(b *testing.B) {
	l := startLabHost(b, "nodeattr", benchHost)
	timeRuns(b, l, []int{0}, binary, "check", "--json", "--ecs")
}

// BenchmarkDigBroken is the article's first command on the broken host, for
// comparison: it only fails after its timeouts.
func BenchmarkDigBroken(b *testing.B) {
	l := startLabHost(b, "new-order", benchHost)
	timeRuns(b, l, []int{9, 0}, "dig", "example.com")
}

// BenchmarkRuleDiscovery reads the INPUT path with and without 100,000
// unrelated rules (kube-proxy's scale, in the nat table as kube-proxy puts
// them, and in an unrelated filter chain) (goal: within 10%).
func BenchmarkRuleDiscovery(b *testing.B) {
	for _, c := range []struct{ scenario, load string }{
		{"new-order", ""}, {"new-order", "nat"}, {"new-order", "filter"},
		{"legacy", ""}, {"legacy", "nat"}, {"legacy", "filter"},
		{"nftables", ""}, {"nftables", "nat"},
	} {
		name := c.scenario + "/" + map[string]string{"": "empty", "nat": "100k-nat", "filter": "100k-filter"}[c.load]
		b.Run(name, func(b *testing.B) {
			l := startLabHost(b, c.scenario, benchHost)
			if c.load != "" {
				loadKubeRules(b, l, c.scenario, c.load)
			}
			timeRuns(b, l, []int{0}, binary, "debug", "firewall")
		})
	}
}

// loadKubeRules loads lab.KubeProxyRules: 100,000 kube-proxy-shaped rules.
func loadKubeRules(b *testing.B, l *lab.Lab, scenario, table string) {
	b.Helper()
	restore := "iptables-nft-restore"
	if scenario == "legacy" {
		restore = "iptables-legacy-restore"
	}
	f := filepath.Join(b.TempDir(), "kube.rules")
	if err := os.WriteFile(f, []byte(lab.KubeProxyRules(table)), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := l.Command(context.Background(), restore, "--noflush", f)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", restore, err, out)
	}
}

// BenchmarkCheckCrashed: the verdict when tailscaled was killed and its rules
// are orphaned (the lab's crashed tailscaled: socket stale, and a CLI that
// retries for 2 s as the real one does) (goal: ≤ 250 ms median).
func BenchmarkCheckCrashed(b *testing.B) {
	l := startLab(b, "crashed")
	timeRuns(b, l, []int{1}, binary, "check", "--json", "--ecs")
}
