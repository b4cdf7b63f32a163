package main

import (
	"context"
	"fmt"
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
	var ds []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		err := l.Command(context.Background(), name, args...).Run()
		ds = append(ds, time.Since(t0))
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
}

// BenchmarkCheckBroken: the verdict with the culprit named, whole process,
// on the broken host (goal: ≤ 250 ms median).
func BenchmarkCheckBroken(b *testing.B) {
	// ubuntu-stub: resolv.conf → systemd-resolved's stub → the VPC DNS.
	for _, sc := range []string{"new-order", "legacy", "nftables", "ubuntu-stub"} {
		b.Run(sc, func(b *testing.B) {
			l := startLabHost(b, sc, benchHost)
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

// loadKubeRules loads 100,000 rules shaped like kube-proxy's: 1,000 service
// chains of 99 endpoint rules each, plus the dispatch chain.
func loadKubeRules(b *testing.B, l *lab.Lab, scenario, table string) {
	b.Helper()
	var sb strings.Builder
	target := "DNAT --to-destination 10.244.0.1:8080"
	hook := "PREROUTING"
	if table == "filter" {
		target, hook = "ACCEPT", "FORWARD"
	}
	fmt.Fprintf(&sb, "*%s\n:KUBE-SERVICES - [0:0]\n", table)
	for i := range 1000 {
		fmt.Fprintf(&sb, ":KUBE-SVC-%04d - [0:0]\n", i)
	}
	fmt.Fprintf(&sb, "-A %s -j KUBE-SERVICES\n", hook)
	for i := range 1000 {
		fmt.Fprintf(&sb, "-A KUBE-SERVICES -d 10.96.%d.%d/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-%04d\n", i/250, i%250, i)
		for j := range 99 {
			fmt.Fprintf(&sb, "-A KUBE-SVC-%04d -s 10.%d.%d.%d/32 -p tcp -m tcp --dport %d -j %s\n", i, 1+i/250, i%250, j, 1000+j, target)
		}
	}
	sb.WriteString("COMMIT\n")
	restore := "iptables-nft-restore"
	if scenario == "legacy" {
		restore = "iptables-legacy-restore"
	}
	f := filepath.Join(b.TempDir(), "kube.rules")
	if err := os.WriteFile(f, []byte(sb.String()), 0o644); err != nil {
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
