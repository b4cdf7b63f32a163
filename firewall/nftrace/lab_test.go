package nftrace

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/netprobe"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// The lab tests run the trace in a child process inside the lab's ECS
// namespace (this test binary, re-executed under `ip netns exec`), so every
// socket, netlink one included, lives in the lab and never on the host.
const helperEnv = "NFTRACE_TEST_HELPER"

var record = os.Getenv("NFTRACE_RECORD") != "" // rewrite testdata/*.trace from the lab

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "trace":
		os.Exit(helperTrace())
	case "hang":
		os.Exit(helperHang())
	case "bench":
		os.Exit(helperBench())
	}
	os.Exit(m.Run())
}

type helperOut struct {
	Paths []Path   `json:"paths"`
	Raw   []string `json:"raw"`
	Err   string   `json:"err"`
	Took  string   `json:"took"`
}

var labServers = []netip.AddrPort{netip.MustParseAddrPort("100.100.2.136:53"), netip.MustParseAddrPort("100.100.2.138:53")}

// labProbes prepares a UDP and a TCP DNS probe to each lab resolver.
func labProbes(ctx context.Context) ([]Probe, error) {
	var probes []Probe
	for _, s := range labServers {
		for _, nw := range []string{"udp", "tcp"} {
			p, err := netprobe.Net{}.PrepareDNS(ctx, s, nw)
			if err != nil {
				return nil, err
			}
			probes = append(probes, Probe{
				Reply: Reply{Src: s.Addr(), SrcPort: s.Port(), DstPort: p.LocalPort, Proto: nw},
				Send:  func(ctx context.Context) { p.Exchange(ctx, "example.com") },
			})
		}
	}
	return probes, nil
}

func helperTrace() int {
	ctx := context.Background()
	var out helperOut
	defer func() { json.NewEncoder(os.Stdout).Encode(out) }()
	snap := firewall.Default().Snapshot(ctx)
	probes, err := labProbes(ctx)
	if err != nil {
		out.Err = err.Error()
		return 0
	}
	start := time.Now()
	res, err := Run(ctx, 0, os.Getenv("NFTRACE_ID"), probes, 400*time.Millisecond, true)
	out.Took = time.Since(start).String()
	if err != nil {
		out.Err = err.Error()
	}
	Annotate(res.Paths, snap, func(f firewall.Family, table, chain string) ([]uint64, error) {
		return ChainHandles(ctx, 0, nfproto(f), table, chain)
	})
	out.Paths = res.Paths
	for _, r := range res.Raw {
		out.Raw = append(out.Raw, hex.EncodeToString(r))
	}
	return 0
}

// helperBench runs NFTRACE_N traces as the check does (Run, then Annotate)
// and prints each one's duration in microseconds.
func helperBench() int {
	ctx := context.Background()
	n, _ := strconv.Atoi(os.Getenv("NFTRACE_N"))
	snap := firewall.Default().Snapshot(ctx)
	for i := range n {
		probes, err := labProbes(ctx)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		t0 := time.Now()
		res, err := Run(ctx, 0, fmt.Sprintf("%d-%d", os.Getpid(), i), probes, 400*time.Millisecond, false)
		if err != nil || len(res.Paths) != len(probes) {
			fmt.Println("trace:", err, len(res.Paths))
			return 1
		}
		Annotate(res.Paths, snap, Namespace{}.Handles(ctx))
		fmt.Println(time.Since(t0).Microseconds())
	}
	return 0
}

// BenchmarkTrace: what the packet trace adds to the verdict (goal: ≤ 30
// ms): creating the table, tracing the four lab DNS replies until each is
// dropped, removing the table and mapping the hops to rules, in the lab's
// namespace, on both nf_tables backends. Reports the median.
//
//	sudo go test ./firewall/nftrace -run '^$' -bench Trace -benchtime 40x
func BenchmarkTrace(b *testing.B) {
	for _, sc := range []string{"new-order", "nftables"} {
		b.Run(sc, func(b *testing.B) {
			l := startLab(b, sc)
			cmd := l.Command(context.Background(), os.Args[0], "-test.run=^$", "-test.bench=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=bench", fmt.Sprintf("NFTRACE_N=%d", b.N))
			out, err := cmd.Output()
			if err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			var us []int
			for _, f := range strings.Fields(string(out)) {
				v, err := strconv.Atoi(f)
				if err != nil {
					b.Fatalf("helper: %s", out)
				}
				us = append(us, v)
			}
			slices.Sort(us)
			b.ReportMetric(float64(us[len(us)/2])/1000, "median-ms")
			b.ReportMetric(float64(us[len(us)*9/10])/1000, "p90-ms")
		})
	}
}

// helperHang installs a trace table and waits to be killed.
func helperHang() int {
	if err := Install(context.Background(), 0, os.Getenv("NFTRACE_ID"), []Reply{{Src: labServers[0].Addr(), SrcPort: 53, DstPort: 40000, Proto: "udp"}}); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("installed")
	time.Sleep(time.Minute)
	return 0
}

func startLab(t testing.TB, scenario string) *lab.Lab {
	t.Helper()
	lab.NeedRoot(t, "the lab: network namespaces, nf_tables")
	s, err := lab.ParseScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("nftr%d", time.Now().UnixNano()%100000)
	l, err := lab.Up(context.Background(), lab.Options{Prefix: prefix, Scenario: s})
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := l.Serve(ctx); err != nil {
		t.Fatalf("lab serve: %v", err)
	}
	return l
}

func runHelper(t *testing.T, l *lab.Lab, id string) helperOut {
	t.Helper()
	cmd := l.Command(context.Background(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=trace", "NFTRACE_ID="+id)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, b)
	}
	var out helperOut
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("helper output: %v\n%s", err, b)
	}
	if out.Err != "" {
		t.Fatalf("trace: %s", out.Err)
	}
	return out
}

func nftTables(t *testing.T, l *lab.Lab) string {
	t.Helper()
	b, err := l.Command(context.Background(), "nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v\n%s", err, b)
	}
	return string(b)
}

func pathFor(paths []Path, src, proto string) *Path {
	for i := range paths {
		if paths[i].Packet.Src.String() == src && paths[i].Packet.Proto == proto {
			return &paths[i]
		}
	}
	return nil
}

// TestLabTrace traces the lab resolvers' replies on both nf_tables backends
// with the kernel log silent (nf_log_all_netns=0): before a remedy each ends
// at tailscaled's CGNAT DROP, after a whitelist rule at its ACCEPT, and no
// trace table is left.
func TestLabTrace(t *testing.T) {
	cases := []struct {
		scenario, drop, whitelist string
		allow                     []string
	}{
		{"new-order", "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP", "-A ts-input -s 100.100.2.136/32 -m comment --comment tsdoctor-whitelist -j ACCEPT",
			[]string{"iptables-nft", "-I", "ts-input", "1", "-s", "100.100.2.136/32", "-m", "comment", "--comment", "tsdoctor-whitelist", "-j", "ACCEPT"}},
		{"nftables", `iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter packets 0 bytes 0 drop`, `ip saddr 100.100.2.136 accept comment "tsdoctor-whitelist"`,
			[]string{"nft", "insert", "rule", "ip", "filter", "ts-input", "ip", "saddr", "100.100.2.136", "accept", "comment", `"tsdoctor-whitelist"`}},
	}
	lab.HoldNfLogAllNetns(t, "0")
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			l := startLab(t, c.scenario)
			out := runHelper(t, l, "t1")
			t.Logf("trace took %s", out.Took)
			if len(out.Paths) != 4 {
				t.Fatalf("%d paths, want 4 (2 resolvers × UDP, TCP): %+v", len(out.Paths), out.Paths)
			}
			for _, p := range out.Paths {
				t.Logf("before: %s %s:%d → %s", p.Packet.Proto, p.Packet.Src, p.Packet.SrcPort, p)
				if p.Verdict() != "drop" {
					t.Errorf("%s path %s: verdict %s, want drop", p.Packet.Proto, p, p.Verdict())
					continue
				}
				h := p.Hops[p.Final()]
				if h.Chain != "ts-input" || h.Position == 0 || !strings.HasPrefix(h.Rule, strings.Fields(c.drop)[0]) {
					t.Errorf("final hop %+v, want ts-input's CGNAT DROP", h)
				}
				if !strings.Contains(p.String(), "INPUT #1 jump ts-input → ") {
					t.Errorf("path %q does not show INPUT jumping to ts-input", p)
				}
			}
			udp := pathFor(out.Paths, "100.100.2.136", "udp")
			if got := udp.Hops[udp.Final()].Rule; got != c.drop && c.scenario == "new-order" {
				t.Errorf("drop rule %q, want %q", got, c.drop)
			}
			if record {
				writeTrace(t, c.scenario+"-drop", out.Raw)
			}
			if s := nftTables(t, l); strings.Contains(s, TablePrefix) {
				t.Errorf("a trace table is left:\n%s", s)
			}

			// The whitelist (remedy 2's rule): the reply is now accepted by it.
			if b, err := l.Command(context.Background(), c.allow[0], c.allow[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("whitelist: %v\n%s", err, b)
			}
			out = runHelper(t, l, "t2")
			udp = pathFor(out.Paths, "100.100.2.136", "udp")
			if udp == nil || udp.Verdict() != "accept" {
				t.Fatalf("after the whitelist: %+v, want an accepted path", out.Paths)
			}
			t.Logf("after: %s", udp)
			h := udp.Hops[udp.Final()]
			if h.Chain != "ts-input" || h.Position != 1 || h.Verdict != "accept" || h.Comment != "tsdoctor-whitelist" {
				t.Errorf("final hop %+v, want ts-input #1 ACCEPT tsdoctor-whitelist", h)
			}
			if !strings.HasSuffix(udp.String(), "ts-input #1 ACCEPT tsdoctor-whitelist") {
				t.Errorf("path %q", udp)
			}
			if c.scenario == "new-order" && h.Rule != c.whitelist {
				t.Errorf("rule %q, want %q", h.Rule, c.whitelist)
			}
			if other := pathFor(out.Paths, "100.100.2.138", "udp"); other == nil || other.Verdict() != "drop" {
				t.Errorf("100.100.2.138 is not whitelisted and must still drop: %+v", other)
			}
			if record {
				writeTrace(t, c.scenario+"-accept", out.Raw)
			}
			if s := nftTables(t, l); strings.Contains(s, TablePrefix) {
				t.Errorf("a trace table is left:\n%s", s)
			}
		})
	}
}

// TestLabSweepAfterKill kills a process holding a trace table with SIGKILL;
// the table outlives it, and Sweep (what the next run does first) removes it,
// but not the table of a process that still runs.
func TestLabSweepAfterKill(t *testing.T) {
	l := startLab(t, "new-order")
	cmd := l.Command(context.Background(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=hang", "NFTRACE_ID=999999999-1")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := stdout.Read(buf)
	if !strings.Contains(string(buf[:n]), "installed") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q", buf[:n])
	}
	// `ip netns exec` execs the helper in its own process: kill that.
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if s := nftTables(t, l); !strings.Contains(s, TableName("999999999-1")) {
		t.Fatalf("the killed process's table is not there to sweep:\n%s", s)
	}
	fd, err := os.Open(filepath.Join("/run/netns", l.ECS()))
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	swept, err := Sweep(context.Background(), int(fd.Fd()), tsrules.TraceStale)
	if err != nil || len(swept) != 1 || swept[0] != TableName("999999999-1") {
		t.Fatalf("sweep = %v, %v", swept, err)
	}
	if s := nftTables(t, l); strings.Contains(s, TablePrefix) {
		t.Errorf("a trace table is left after the sweep:\n%s", s)
	}
	// A table of a live process is its trace in progress: left alone.
	live := fmt.Sprintf("%d-7", os.Getpid())
	if b, err := l.Command(context.Background(), "nft", "add", "table", "ip", TableName(live)).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if swept, err := Sweep(context.Background(), int(fd.Fd()), tsrules.TraceStale); err != nil || len(swept) != 0 {
		t.Errorf("sweep removed a live process's table: %v, %v", swept, err)
	}
	if err := Remove(context.Background(), int(fd.Fd()), live); err != nil {
		t.Fatal(err)
	}
	if again, err := Sweep(context.Background(), int(fd.Fd()), tsrules.TraceStale); err != nil || len(again) != 0 {
		t.Errorf("second sweep = %v, %v; want nothing", again, err)
	}
}

func writeTrace(t *testing.T, name string, raw []string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("testdata", name+".trace"), []byte(strings.Join(raw, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
