package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tsrules"
	"github.com/tsdoctor/tsdoctor/wire"
)

// tsdoctor is the product binary, built once for the run.
var tsdoctor string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Geteuid() != 0 {
			return m.Run() // every test skips and says why
		}
		if b := os.Getenv("TSDOCTOR_E2E_TSDOCTOR"); b != "" {
			// Another build, e.g. an older one for before/after benchmarks.
			tsdoctor = b
		} else {
			dir, bin, err := lab.BuildTsdoctor()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			tsdoctor = bin
		}
		sweepStale()
		// Build both tailscaled versions up front (cached outside the
		// repository), so no test's timing includes a compile.
		for _, v := range harness.Versions {
			start := time.Now()
			if _, err := harness.Binaries(context.Background(), v); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if d := time.Since(start); d > time.Second {
				fmt.Fprintf(os.Stderr, "built tailscale %s in %s (cached in %s)\n", v, d.Round(time.Second), harness.CacheDir())
			}
		}
		// tailscaled must write nothing outside its lab state directory.
		_, err := os.Stat("/var/lib/tailscale")
		hadState := err == nil
		code := m.Run()
		if _, err := os.Stat("/var/lib/tailscale"); err == nil && !hadState {
			fmt.Fprintln(os.Stderr, "FAIL: a test tailscaled wrote /var/lib/tailscale on the host")
			return 1
		}
		return code
	}())
}

// sweepStale removes labs (and their tailscaled) left by an earlier test
// process that died without cleaning up (a panic, a kill): their prefix
// names a pid that no longer runs.
func sweepStale() {
	dirs, _ := filepath.Glob("/run/tsdoctor-lab/tsm*")
	for _, d := range dirs {
		prefix := filepath.Base(d)
		var pid, n int
		if _, err := fmt.Sscanf(prefix, "tsm%d-%d", &pid, &n); err != nil {
			continue
		}
		if pid != os.Getpid()%10000 && mayBeAlive(pid) {
			continue
		}
		if err := lab.Down(prefix); err != nil {
			fmt.Fprintf(os.Stderr, "remove stale lab %s: %v\n", prefix, err)
		}
	}
}

// mayBeAlive: pids are cut to 4 digits in the prefix, so any live process
// whose pid ends in them may own the lab (another e2e run, e.g. 31659 for
// tsm1659): leave it.
func mayBeAlive(cut int) bool {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if pid, err := strconv.Atoi(p.Name()); err == nil && pid%10000 == cut {
			return true
		}
	}
	return false
}

// needRoot skips a test that cannot run here, saying why.
func needRoot(t *testing.T) {
	t.Helper()
	lab.NeedRoot(t, "network namespaces, firewall, a tun device for the real tailscaled")
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun: tailscaled needs a tun device")
	}
}

// backends are tailscaled's firewall modes, one a backend.
var backends = []string{lab.ModeIptablesNFT, lab.ModeIptablesLegacy, lab.ModeNFTables}

// onEachBackend runs f in parallel subtests, one a backend, each on a
// tailscaled 1.102.3 of its own; before is its ts-input as it started.
func onEachBackend(t *testing.T, f func(t *testing.T, n *harness.Node, before []string)) {
	for _, mode := range backends {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			n := startNode(t, "1.102.3", mode, lab.VariantDefault)
			before, err := n.InputRules(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			f(t, n, before)
		})
	}
}

var prefixes = make(chan int, 1000)

func init() {
	for i := range cap(prefixes) {
		prefixes <- i
	}
}

// startNode starts a real tailscaled for one test and stops it afterwards,
// checking nothing is left behind.
func startNode(t *testing.T, version, mode, variant string) *harness.Node {
	t.Helper()
	return startNodeHost(t, version, mode, variant, "")
}

// startNodeHost is startNode on a lab host shape ("": ECS by DMI).
func startNodeHost(t *testing.T, version, mode, variant string, host lab.Host) *harness.Node {
	t.Helper()
	return startNodeWith(t, harness.Options{Version: version, Mode: mode, Variant: variant, Host: host})
}

// startNodeWith is startNode with any options; the prefix and the log are
// set here.
func startNodeWith(t *testing.T, o harness.Options) *harness.Node {
	t.Helper()
	needRoot(t)
	prefix := fmt.Sprintf("tsm%d-%d", os.Getpid()%10000, <-prefixes)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o.Prefix, o.Logf = prefix, t.Logf
	n, err := harness.Start(ctx, o)
	if err != nil {
		t.Fatalf("start tailscaled %s %s %s: %v", o.Version, o.Mode, o.Variant, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(n.LogFile()); err == nil {
				t.Logf("tailscaled log (tail):\n%s", lastLines(string(b), 25))
			}
		}
		if err := n.Close(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), prefix+"-") {
			t.Errorf("namespace left behind: %s", out)
		}
	})
	return n
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// check runs `tsdoctor check --json` on the node, with the real CLI.
func check(t *testing.T, n *harness.Node) (wire.Check, string) {
	t.Helper()
	cmd := n.Command(context.Background(), tsdoctor, "check", "--json", "--ecs")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run tsdoctor: %v", err)
	}
	var rep wire.Check
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check --json: %v\n%s\nstderr: %s", err, out, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != rep.Verdict.ExitCode() {
		t.Errorf("exit code %d for verdict %s", code, rep.Verdict)
	}
	return rep, string(out)
}

var backendOf = map[string]firewall.Backend{
	lab.ModeIptablesNFT:    firewall.IptablesNFT,
	lab.ModeIptablesLegacy: firewall.IptablesLegacy,
	lab.ModeNFTables:       firewall.NFTables,
}

// TestMatrix: every tailscaled version × firewall mode × variant. tsdoctor
// must give the right verdict, culprit and blocked list and read the real
// CLI right, and the lab scenario of the same name must install exactly the
// real daemon's ts-input rules.
func TestMatrix(t *testing.T) {
	needRoot(t)
	for _, version := range harness.Versions {
		for _, mode := range backends {
			for _, variant := range []string{lab.VariantDefault, lab.VariantNodeAttr, lab.VariantNetfilterOff} {
				t.Run(version+"-"+mode+"-"+variant, func(t *testing.T) {
					t.Parallel()
					testCell(t, version, mode, variant)
				})
			}
		}
	}
}

func testCell(t *testing.T, version, mode, variant string) {
	n := startNode(t, version, mode, variant)
	scenario, err := n.Scenario()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// tailscaled really runs the firewall mode the cell asks for.
	wantLogged := "iptables"
	if mode == lab.ModeNFTables {
		wantLogged = "nftables"
	}
	if variant != lab.VariantNetfilterOff {
		if got := n.FirewallModeLogged(); got != wantLogged {
			t.Errorf("tailscaled logged firewall mode %q, want %q", got, wantLogged)
		}
	}

	real, err := lab.ReadInputRules(ctx, n.Lab.ECS(), mode)
	if err != nil {
		t.Fatal(err)
	}
	rep, raw := check(t, n)
	t.Logf("tailscaled %s (%s, logged %q): ts-input %q; tsdoctor: %s, culprit %+v, tailscale %+v",
		version, mode, n.FirewallModeLogged(), real, rep.Verdict, rep.Culprit, rep.Tailscale)

	// Verdict, culprit and blocked addresses.
	if scenario.Blocks() {
		if rep.Verdict != checks.Blocked {
			t.Fatalf("verdict %s, want blocked\n%s", rep.Verdict, raw)
		}
		drop := slices.IndexFunc(real, func(r string) bool {
			return strings.Contains(r, "100.64.0.0/10") && (strings.HasSuffix(r, "DROP") || strings.HasSuffix(r, "drop"))
		}) + 1
		cu := rep.Culprit
		if cu == nil || cu.Backend != backendOf[mode] || cu.Table != "filter" || cu.Chain != "ts-input" ||
			cu.Position != drop || !strings.Contains(strings.ToLower(cu.Rule), "drop") || cu.Packets == 0 {
			t.Errorf("culprit %+v, want %s filter ts-input rule #%d (DROP, counted packets); real chain:\n%s\n%s",
				cu, backendOf[mode], drop, strings.Join(real, "\n"), raw)
		}
		var blocked []string
		for _, b := range rep.Blocked {
			blocked = append(blocked, fmt.Sprintf("%s:%d/%s", b.Address, b.Port, b.Service))
		}
		for _, want := range []string{"100.100.2.136:53/dns", "100.100.2.138:53/dns", "100.100.100.200:80/metadata"} {
			if !slices.Contains(blocked, want) {
				t.Errorf("blocked %v lacks %s", blocked, want)
			}
		}
		for _, b := range rep.Blocked {
			if !netip.MustParsePrefix("100.64.0.0/10").Contains(b.Address) {
				t.Errorf("blocked lists %s, outside 100.64.0.0/10", b.Address)
			}
		}
	} else if rep.Verdict != checks.Healthy || rep.Culprit != nil || len(rep.Blocked) != 0 {
		t.Errorf("verdict %s, culprit %+v, blocked %+v; want healthy\n%s", rep.Verdict, rep.Culprit, rep.Blocked, raw)
	}

	// What tsdoctor read from the real CLI.
	ts := rep.Tailscale
	wantNF := "on"
	if variant == lab.VariantNetfilterOff {
		wantNF = "off"
	}
	granted := variant == lab.VariantNodeAttr
	honoured := granted && scenario.NodeAttrSupported()
	if !ts.Installed || ts.Version != version || ts.BackendState != "Running" || ts.NetfilterMode != wantNF ||
		ts.NodeAttr != granted || ts.CGNATDropOff != honoured {
		t.Errorf("tailscale %+v, want version %s Running, netfilter %s, attribute granted %v, honoured %v", ts, version, wantNF, granted, honoured)
	}
	if granted && !honoured && !strings.Contains(raw, "predates it") {
		t.Errorf("the attribute is granted but %s ignores it, and tsdoctor does not say so:\n%s", version, raw)
	}

	// Which backend tsdoctor files the real chains under (the
	// native-nftables vs iptables-nft labelling).
	out, err := n.Command(ctx, tsdoctor, "debug", "firewall").Output()
	if err != nil {
		t.Fatalf("debug firewall: %v", err)
	}
	var snap firewall.Snapshot
	if err := json.Unmarshal(out, &snap); err != nil {
		t.Fatal(err)
	}
	var want []firewall.Backend
	if variant != lab.VariantNetfilterOff {
		want = []firewall.Backend{backendOf[mode]}
	}
	if got := snap.TailscaleBackends(); !slices.Equal(got, want) {
		t.Errorf("tsdoctor files tailscale's chains under %v, want %v", got, want)
	}

	checkFidelity(t, n, scenario, real)
}

// checkFidelity brings up the lab scenario of the cell's name and compares
// the ts-input chain it installs with the real one, after putting the lab's
// node address and magicsock port into the real rules.
func checkFidelity(t *testing.T, n *harness.Node, scenario lab.Scenario, real []string) {
	t.Helper()
	ctx := context.Background()
	if len(real) > 0 {
		ip, err := n.IPv4(ctx)
		if err != nil {
			t.Fatal(err)
		}
		labPort := lab.MagicsockPortV4
		if scenario.Mode == lab.ModeNFTables {
			labPort = lab.MagicsockPortNF
		}
		port := tsrules.MagicsockPort(real)
		for i, r := range real {
			r = strings.ReplaceAll(r, " "+ip+"/32 ", " "+lab.NodeIP+"/32 ")
			r = strings.ReplaceAll(r, "ip saddr "+ip+" ", "ip saddr "+lab.NodeIP+" ")
			if port != "" {
				r = strings.Replace(r, "dport "+port+" ", fmt.Sprintf("dport %d ", labPort), 1)
			}
			real[i] = r
		}
	}
	prefix := n.Prefix + "f"
	l, err := lab.Up(ctx, lab.Options{Prefix: prefix, Scenario: scenario, Tsdoctor: tsdoctor})
	if err != nil {
		t.Fatalf("lab %s: %v", scenario.Name, err)
	}
	defer func() {
		if err := l.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	}()
	imitation, err := lab.ReadInputRules(ctx, l.ECS(), scenario.Mode)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(real, imitation) {
		t.Errorf("lab scenario %s differs from the real tailscaled %s:\nreal:\n  %s\nlab:\n  %s", scenario.Name, scenario.Version,
			strings.Join(real, "\n  "), strings.Join(imitation, "\n  "))
	}
	if !slices.Equal(imitation, scenario.InputRules()) {
		t.Errorf("lab installs %q, but Scenario.InputRules says %q", imitation, scenario.InputRules())
	}
}
