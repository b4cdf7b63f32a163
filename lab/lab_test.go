package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/cloud"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/hostinfo"
)

// The test binary doubles as tsdoctor: the lab's tailscale wrapper and the
// background server run it as `<binary> lab ...`, and `lab` runs
// `<binary> check` inside the lab, answered here by fakeCheck.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "lab":
			os.Exit(Main(os.Args[2:], self(), os.Stdout, os.Stderr))
		case "check":
			os.Exit(fakeCheck(os.Args[2:]))
		case "hostshape":
			os.Exit(hostShape())
		}
	}
	os.Exit(m.Run())
}

func self() string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return exe
}

// fakeCheck proves it runs inside the lab: the VPC resolvers in
// resolv.conf and the fake tailscale on PATH. Exit 3 on success, so the
// test sees the check's own exit code passed through.
func fakeCheck(args []string) int {
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	out, err := exec.Command("tailscale", "version").Output()
	if !strings.Contains(string(resolv), "nameserver "+InternalDNS1) || err != nil || !strings.HasPrefix(string(out), "1.") {
		fmt.Fprintf(os.Stderr, "fake check: not inside the lab: resolv.conf %q, tailscale %q %v\n", resolv, out, err)
		return 4
	}
	if len(args) != 1 || args[0] != "--probe" {
		fmt.Fprintf(os.Stderr, "fake check: args %q\n", args)
		return 5
	}
	// TestMainUpDownAndRun runs it on --host plain: not ECS, by DMI or flag.
	if d := cloud.Detect(cloud.Host{DMI: cloud.ReadDMI(hostinfo.DefaultPaths.DMIDir)}); d.Instance() || os.Getenv("TSDOCTOR_ECS") != "" {
		fmt.Fprintf(os.Stderr, "fake check: the plain host looks like a cloud instance (%s by %s, TSDOCTOR_ECS %q)\n", d.Profile.ID, d.DetectedBy, os.Getenv("TSDOCTOR_ECS"))
		return 6
	}
	return 3
}

var (
	labOnce   sync.Once
	labReason string
)

// requireLab skips unless namespaces, iptables, nft and dig are usable.
func requireLab(t *testing.T) {
	t.Helper()
	labOnce.Do(func() {
		if os.Geteuid() != 0 {
			labReason = "lab tests need root (network namespaces): run `sudo go test ./lab/`"
			return
		}
		for _, tool := range []string{"ip", "dig", "iptables-nft", "iptables-nft-restore", "iptables-legacy", "iptables-legacy-restore", "nft"} {
			if _, err := exec.LookPath(tool); err != nil {
				labReason = "lab tests need " + tool + " (packages iproute2, iptables, nftables, dnsutils)"
				return
			}
		}
		probe := "tsdprobe" + strconv.Itoa(os.Getpid())
		if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
			labReason = "cannot create network namespaces here: " + strings.TrimSpace(string(out))
			return
		}
		exec.Command("ip", "netns", "del", probe).Run()
	})
	if labReason != "" {
		t.Skip(labReason)
	}
}

func testPrefix(t *testing.T) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "tsdt" + hex.EncodeToString(b)
}

// upLab brings a lab up with servers and checks on cleanup that Down left
// nothing behind.
func upLab(t *testing.T, prefix string, s Scenario) *Lab {
	t.Helper()
	return upLabHost(t, prefix, s, "")
}

// upLabHost is upLab on a host shape.
func upLabHost(t *testing.T, prefix string, s Scenario, host Host) *Lab {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	l, err := Up(ctx, Options{Prefix: prefix, Scenario: s, Dir: filepath.Join(t.TempDir(), "lab"), Tsdoctor: self(), Host: host})
	if err != nil {
		cancel()
		t.Fatalf("Up: %v", err)
	}
	up := time.Since(start)
	if err := l.Serve(ctx); err != nil {
		cancel()
		l.Down()
		t.Fatalf("Serve: %v", err)
	}
	t.Logf("Up %v, Up+Serve %v", up.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		cancel()
		start := time.Now()
		if err := l.Down(); err != nil {
			t.Errorf("Down: %v", err)
		}
		t.Logf("Down %v", time.Since(start).Round(time.Millisecond))
		assertGone(t, l)
	})
	return l
}

func assertGone(t *testing.T, l *Lab) {
	t.Helper()
	for _, p := range []string{"/run/netns/" + l.ECS(), "/run/netns/" + l.VPC(), "/etc/netns/" + l.ECS(), l.Dir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s still exists after Down", p)
		}
	}
	if err := l.Down(); err != nil {
		t.Errorf("second Down: %v", err)
	}
}

// inECS runs a command inside the lab's ECS namespace.
func inECS(t *testing.T, l *Lab, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := l.Command(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func dig(t *testing.T, l *Lab, args ...string) (string, error) {
	t.Helper()
	out, errs, err := inECS(t, l, "dig", append([]string{"+time=1", "+tries=1"}, args...)...)
	return out + errs, err
}

// httpGet fetches a URL from a socket opened inside the ECS namespace.
func httpGet(l *Lab, url string) (string, error) {
	c := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var conn net.Conn
			err := inNetns(l.ECS(), func() error {
				var err error
				conn, err = (&net.Dialer{Timeout: 1500 * time.Millisecond}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		}},
	}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// installedInputRules reads ts-input the way an admin would.
func installedInputRules(t *testing.T, l *Lab, mode string) ([]string, error) {
	t.Helper()
	var out, errs string
	var err error
	switch mode {
	case ModeNFTables:
		out, errs, err = inECS(t, l, "nft", "list", "chain", "ip", "filter", "ts-input")
	case ModeIptablesLegacy:
		out, errs, err = inECS(t, l, "iptables-legacy", "-w", "10", "-S", "ts-input")
	default:
		out, errs, err = inECS(t, l, "iptables-nft", "-S", "ts-input")
	}
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, errs)
	}
	var rules []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case mode == ModeNFTables && (line == "" || line == "}" || strings.HasPrefix(line, "table ") || strings.HasPrefix(line, "chain ")):
		case mode != ModeNFTables && (line == "" || strings.HasPrefix(line, "-N ")):
		default:
			rules = append(rules, firewall.StripCounters(line))
		}
	}
	return rules, nil
}

// tsChains lists the ts-* chains and jumps visible in any backend.
func tsChains(t *testing.T, l *Lab) []string {
	t.Helper()
	var found []string
	for _, table := range []string{"filter", "nat"} {
		out, _, _ := inECS(t, l, "iptables-nft", "-t", table, "-S")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "ts-") {
				found = append(found, "iptables-nft: "+line)
			}
		}
	}
	if names, _, _ := inECS(t, l, "cat", "/proc/net/ip_tables_names"); strings.TrimSpace(names) != "" {
		for _, table := range strings.Fields(names) {
			out, _, _ := inECS(t, l, "iptables-legacy", "-w", "10", "-t", table, "-S")
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "ts-") {
					found = append(found, "iptables-legacy: "+line)
				}
			}
		}
	}
	out, _, _ := inECS(t, l, "nft", "list", "ruleset")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "ts-") {
			found = append(found, "nft: "+strings.TrimSpace(line))
		}
	}
	return found
}

func assertDNS(t *testing.T, l *Lab, server string, wantAnswer bool) {
	t.Helper()
	start := time.Now()
	out, err := dig(t, l, "@"+server, "example.com", "+short")
	if wantAnswer {
		if err != nil || strings.TrimSpace(out) != ExampleAddr {
			t.Errorf("dig @%s example.com: want %s, got %v %q", server, ExampleAddr, err, out)
		}
		return
	}
	if err == nil || !strings.Contains(out, "timed out") && !strings.Contains(out, "no servers could be reached") {
		t.Errorf("dig @%s example.com: want a timeout, got %v %q", server, err, out)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("dig @%s failed after %v: refused rather than dropped?", server, d)
	}
}

func assertRules(t *testing.T, l *Lab, s Scenario) {
	t.Helper()
	if !s.HasRules() {
		if found := tsChains(t, l); len(found) > 0 {
			t.Errorf("%s: want no ts-* rules, found:\n%s", s.Name, strings.Join(found, "\n"))
		}
		return
	}
	got, err := installedInputRules(t, l, s.Mode)
	if err != nil {
		t.Fatalf("read ts-input: %v", err)
	}
	if want := s.InputRules(); !reflect.DeepEqual(got, want) {
		t.Errorf("installed ts-input:\n%s\nwant InputRules():\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestScenarioLabs(t *testing.T) {
	requireLab(t)
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			l := upLab(t, testPrefix(t), s)
			if s.Routes != "" {
				checkRouteLab(t, l, s) // routes_test.go
				return
			}

			// Public resolvers always answer, over UDP and TCP.
			assertDNS(t, l, PublicDNS1, true)
			if out, err := dig(t, l, "+tcp", "@"+PublicDNS2, "example.com", "+short"); err != nil || strings.TrimSpace(out) != ExampleAddr {
				t.Errorf("dig +tcp @%s: %v %q", PublicDNS2, err, out)
			}
			// Internal names are unknown publicly.
			if out, _ := dig(t, l, "@"+PublicDNS1, "mirrors.cloud.aliyuncs.com"); !strings.Contains(out, "status: NXDOMAIN") {
				t.Errorf("public resolver should not know mirrors.cloud.aliyuncs.com:\n%s", out)
			}
			// The VPC's DNS and metadata are dropped exactly when the scenario blocks.
			assertDNS(t, l, InternalDNS1, !s.Blocks())
			if !s.Blocks() {
				if out, err := dig(t, l, "@"+InternalDNS2, "mirrors.cloud.aliyuncs.com", "+short"); err != nil || strings.TrimSpace(out) != MirrorAddr {
					t.Errorf("dig @%s mirrors: %v %q", InternalDNS2, err, out)
				}
				// resolv.conf points at the VPC resolvers.
				if out, err := dig(t, l, "mirrors.cloud.aliyuncs.com", "+short"); err != nil || strings.TrimSpace(out) != MirrorAddr {
					t.Errorf("dig via resolv.conf: %v %q", err, out)
				}
			}
			body, err := httpGet(l, "http://"+MetadataAddr+"/latest/meta-data/instance-id")
			if s.Blocks() != (err != nil) || !s.Blocks() && body != InstanceID(l.Prefix) {
				t.Errorf("metadata: blocks=%v, got %q %v", s.Blocks(), body, err)
			}
			if body, err := httpGet(l, "http://"+ExampleAddr+"/"); err != nil || !strings.Contains(body, "Example Domain") {
				t.Errorf("example.com page: %v %q", err, body)
			}

			assertRules(t, l, s)
			switch s.Mode {
			case ModeIptablesLegacy:
				// The trap: iptables (nft) and nft see nothing.
				if out, _, _ := inECS(t, l, "nft", "list", "ruleset"); strings.Contains(out, "ts-input") {
					t.Errorf("legacy rules visible to nft:\n%s", out)
				}
			case ModeNFTables:
				// As on a real machine, iptables-nft cannot parse tailscaled's native rules.
				if _, errs, err := inECS(t, l, "iptables-nft", "-S"); err == nil || !strings.Contains(errs, "Parsing nftables rule failed") {
					t.Errorf("iptables-nft -S should fail on native rules: %v %q", err, errs)
				}
			}

			checkFakeCLI(t, l, s)
		})
	}
}

func checkFakeCLI(t *testing.T, l *Lab, s Scenario) {
	t.Helper()
	out, errs, err := inECS(t, l, "tailscale", "status", "--json")
	switch {
	case !s.Tailscale:
		if err == nil || !strings.Contains(errs, "No such file") {
			t.Errorf("no-tailscale: tailscale should not exist: %v %q", err, errs)
		}
		return
	case !s.Running():
		if err == nil || !strings.Contains(errs, "failed to connect to local tailscaled; it doesn't appear to be running") {
			t.Errorf("stopped: %v %q", err, errs)
		}
		if out, _, err := inECS(t, l, "tailscale", "version"); err != nil || !strings.HasPrefix(out, s.Version+"\n") {
			t.Errorf("stopped: tailscale version: %v %q", err, out)
		}
		return
	}
	if err != nil {
		t.Fatalf("tailscale status --json: %v %s", err, errs)
	}
	var st statusDoc
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	_, hasAttr := st.Self.CapMap["disable-linux-cgnat-drop-rule"]
	if st.BackendState != "Running" || !strings.HasPrefix(st.Version, s.Version+"-") || hasAttr != (s.Variant == VariantNodeAttr) {
		t.Errorf("status: BackendState %q Version %q attribute %v", st.BackendState, st.Version, hasAttr)
	}

	// netfilter off removes every ts-* chain; on brings the scenario's rules
	// back (for netfilter-off: the default, blocking ones).
	if _, errs, err := inECS(t, l, "tailscale", "set", "--netfilter-mode=off"); err != nil {
		t.Fatalf("set --netfilter-mode=off: %v %s", err, errs)
	}
	if found := tsChains(t, l); len(found) > 0 {
		t.Errorf("after --netfilter-mode=off:\n%s", strings.Join(found, "\n"))
	}
	assertDNS(t, l, InternalDNS1, true)
	if _, errs, err := inECS(t, l, "tailscale", "set", "--netfilter-mode=on"); err != nil {
		t.Fatalf("set --netfilter-mode=on: %v %s", err, errs)
	}
	on := s
	if on.Variant == VariantNetfilterOff {
		on.Variant = VariantDefault
	}
	assertRules(t, l, on)
	assertDNS(t, l, InternalDNS1, !on.Blocks())
	if out, _, _ := inECS(t, l, "tailscale", "debug", "prefs"); !strings.Contains(out, `"NetfilterMode": 2`) {
		t.Errorf("prefs after on:\n%s", out)
	}
}

// on → nodivert only unhooks the chains (tailscaled's setNetfilterModeLocked
// calls DelHooks alone): hand-made rules stay; a rebuild drops them.
func TestNodivertAndRebuild(t *testing.T) {
	requireLab(t)
	t.Parallel()
	l := upLab(t, testPrefix(t), DefaultScenario())
	if _, errs, err := inECS(t, l, "iptables", "-I", "ts-input", "1", "-s", InternalDNS1+"/32", "-j", "ACCEPT"); err != nil {
		t.Fatalf("whitelist: %v %s", err, errs)
	}
	assertDNS(t, l, InternalDNS1, true)
	if _, errs, err := inECS(t, l, "tailscale", "set", "--netfilter-mode=nodivert"); err != nil {
		t.Fatalf("nodivert: %v %s", err, errs)
	}
	want := append([]string{"-A ts-input -s " + InternalDNS1 + "/32 -j ACCEPT"}, DefaultScenario().InputRules()...)
	if got, err := ReadInputRules(context.Background(), l.ECS(), ModeIptablesNFT); err != nil || !slices.Equal(got, want) {
		t.Errorf("nodivert: ts-input %q (%v), want it kept as %q", got, err, want)
	}
	if out, _, _ := inECS(t, l, "iptables", "-S", "INPUT"); strings.Contains(out, "ts-input") {
		t.Errorf("nodivert: INPUT still jumps to ts-input:\n%s", out)
	}
	assertDNS(t, l, InternalDNS2, true)
	if _, errs, err := inECS(t, l, "tailscale", "down"); err != nil {
		t.Fatalf("down: %v %s", err, errs)
	}
	if found := tsChains(t, l); len(found) > 0 {
		t.Errorf("after tailscale down:\n%s", strings.Join(found, "\n"))
	}
	if _, errs, err := inECS(t, l, "tailscale", "up", "--netfilter-mode=on"); err != nil {
		t.Fatalf("up: %v %s", err, errs)
	}
	assertRules(t, l, DefaultScenario())
	assertDNS(t, l, InternalDNS1, false)
}

func TestUpTwice(t *testing.T) {
	requireLab(t)
	t.Parallel()
	prefix := testPrefix(t)
	first := upLab(t, prefix, DefaultScenario())
	legacy, _ := ParseScenario("legacy")
	second := upLab(t, prefix, legacy)
	if first.ECS() != second.ECS() {
		t.Fatalf("namespaces differ: %s %s", first.ECS(), second.ECS())
	}
	assertRules(t, second, legacy)
	if found := tsChains(t, second); len(found) != 0 && strings.Contains(strings.Join(found, "\n"), "iptables-nft") {
		t.Errorf("rules of the first lab survived:\n%s", strings.Join(found, "\n"))
	}
	assertDNS(t, second, PublicDNS1, true)
	assertDNS(t, second, InternalDNS1, false)
}

// The CLI path: `lab up` starts a detached server, `lab down` ends it, and
// plain `lab` runs the check inside and passes its exit code through.
func TestMainUpDownAndRun(t *testing.T) {
	requireLab(t)
	t.Parallel()
	prefix := testPrefix(t)
	var out, errb bytes.Buffer
	start := time.Now()
	if code := Main([]string{"up", "--prefix", prefix, "--scenario", "nodeattr", "--host", "ecs-flag"}, self(), &out, &errb); code != 0 {
		t.Fatalf("lab up: exit %d: %s", code, errb.String())
	}
	t.Logf("lab up (with background server) %v", time.Since(start).Round(time.Millisecond))
	l, err := Open(prefix)
	if err != nil {
		Down(prefix)
		t.Fatal(err)
	}
	defer assertGone(t, l)
	defer Down(prefix)
	if l.Host != HostECSFlag || !strings.Contains(out.String(), "host ecs-flag") {
		t.Errorf("lab up --host ecs-flag: lab.json says %q; output:\n%s", l.Host, out.String())
	}
	if !strings.Contains(out.String(), "sudo ip netns exec "+l.ECS()) || !strings.Contains(out.String(), "tsdoctor lab shell --prefix "+prefix) {
		t.Errorf("lab up output does not say how to enter:\n%s", out.String())
	}
	assertDNS(t, l, InternalDNS1, true)
	pidb, _ := os.ReadFile(filepath.Join(l.Dir, "serve.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
	if pid <= 0 || gone(pid) {
		t.Fatalf("no background server (pid %q)", pidb)
	}
	if code := Main([]string{"down", "--prefix", prefix}, self(), &out, &errb); code != 0 {
		t.Fatalf("lab down: exit %d: %s", code, errb.String())
	}
	if !gone(pid) {
		t.Errorf("background server %d still running after down", pid)
	}
	assertGone(t, l)

	prefix2 := testPrefix(t)
	errb.Reset()
	code := Main([]string{"--prefix", prefix2, "--scenario", "legacy", "--host", "plain", "--", "--probe"}, self(), &out, &errb)
	if code != 3 {
		t.Errorf("lab run: exit %d, want the check's 3: %s", code, errb.String())
	}
	assertGone(t, &Lab{Prefix: prefix2, Dir: DefaultDir(prefix2)})
}

// TestResolvedStub: Ubuntu's resolver path. resolv.conf names only the stub
// 127.0.0.53, which forwards to the VPC DNS from the ECS namespace: silent
// while tailscaled's DROP eats the upstream replies, answering internal names
// once it is gone.
func TestResolvedStub(t *testing.T) {
	requireLab(t)
	t.Parallel()
	s, err := ParseScenario("ubuntu-stub")
	if err != nil {
		t.Fatal(err)
	}
	l := upLab(t, testPrefix(t), s)
	if out, _, err := inECS(t, l, "cat", "/etc/resolv.conf"); err != nil || !strings.Contains(out, "nameserver "+StubAddr) || strings.Contains(out, InternalDNS1) {
		t.Errorf("resolv.conf in the lab: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(l.RootDir(), UpstreamResolvConf)); err != nil || !strings.Contains(string(b), "nameserver "+InternalDNS1+"\nnameserver "+InternalDNS2+"\n") {
		t.Errorf("resolved's upstream list: %v\n%s", err, b)
	}
	if out, err := dig(t, l, "example.com", "+short"); err == nil && strings.TrimSpace(out) != "" {
		t.Errorf("the stub answered although its upstreams are dropped: %q", out)
	}
	// A remedy that restarts systemd-resolved must not reach the host's.
	if _, errs, err := inECS(t, l, "systemctl", "restart", "systemd-resolved"); err == nil || !strings.Contains(errs, "nothing on the host was touched") {
		t.Errorf("systemctl in the stub lab: %v %q", err, errs)
	}
	if _, errs, err := inECS(t, l, "tailscale", "set", "--netfilter-mode=off"); err != nil {
		t.Fatalf("set --netfilter-mode=off: %v %s", err, errs)
	}
	// Only the VPC DNS knows this name: the answer came through the stub's upstream.
	for _, tcp := range []string{"+notcp", "+tcp"} {
		if out, err := dig(t, l, tcp, "mirrors.cloud.aliyuncs.com", "+short"); err != nil || strings.TrimSpace(out) != MirrorAddr {
			t.Errorf("dig %s via the stub: %v %q", tcp, err, out)
		}
	}
}
