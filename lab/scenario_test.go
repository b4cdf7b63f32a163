package lab

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestScenarioNamesParse(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Scenarios() {
		if seen[s.Name] {
			t.Errorf("duplicate scenario name %q", s.Name)
		}
		seen[s.Name] = true
		got, err := ParseScenario(s.Name)
		if err != nil {
			t.Errorf("ParseScenario(%q): %v", s.Name, err)
			continue
		}
		if got != s {
			t.Errorf("ParseScenario(%q) = %+v, want %+v", s.Name, got, s)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if s.Description() == "" {
			t.Errorf("%s: no description", s.Name)
		}
	}
	if d, _ := ParseScenario(""); d != DefaultScenario() || d.Name != "new-order" {
		t.Errorf("default scenario = %+v", d)
	}
}

func TestParseScenarioComposed(t *testing.T) {
	tests := []struct {
		name string
		want Scenario
	}{
		{"1.96.5-nftables-nodeattr", Scenario{"1.96.5-nftables-nodeattr", "1.96.5", ModeNFTables, VariantNodeAttr, true, ResolverDHCP, ""}},
		{"1.102.3-iptables-legacy-netfilter-off", Scenario{"1.102.3-iptables-legacy-netfilter-off", "1.102.3", ModeIptablesLegacy, VariantNetfilterOff, true, ResolverDHCP, ""}},
		{"1.102.3-iptables-nft-default", Scenario{"1.102.3-iptables-nft-default", "1.102.3", ModeIptablesNFT, VariantDefault, true, ResolverDHCP, ""}},
		{"1.96.5-iptables-nft-stopped", Scenario{"1.96.5-iptables-nft-stopped", "1.96.5", ModeIptablesNFT, VariantStopped, true, ResolverDHCP, ""}},
		{"1.102.3-nftables", Scenario{"1.102.3-nftables", "1.102.3", ModeNFTables, VariantDefault, true, ResolverDHCP, ""}},
	}
	for _, tt := range tests {
		got, err := ParseScenario(tt.name)
		if err != nil {
			t.Errorf("ParseScenario(%q): %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseScenario(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{"bogus", "1.100.0-nftables-default", "1.102.3-pf-default", "1.102.3-nftables-weird", "1.102.3-", "1.102.3", "new-order-x", "1.102.3-iptables-nftx"} {
		_, err := ParseScenario(bad)
		if err == nil {
			t.Errorf("ParseScenario(%q) succeeded", bad)
			continue
		}
		for _, want := range []string{"new-order", "no-tailscale", "1.96.5", "iptables-legacy", "netfilter-off", bad} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseScenario(%q) error %q does not mention %q", bad, err, want)
			}
		}
	}
}

func TestInputRules(t *testing.T) {
	parse := func(n string) Scenario {
		s, err := ParseScenario(n)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	newOrder := []string{
		"-A ts-input -s 100.101.102.103/32 -i lo -j ACCEPT",
		"-A ts-input -i tailscale0 -j ACCEPT",
		"-A ts-input -p udp -m udp --dport 43075 -j ACCEPT",
		"-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN",
		"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP",
	}
	oldOrder := []string{newOrder[0], newOrder[3], newOrder[4], newOrder[1], newOrder[2]}
	nodeAttr := []string{newOrder[0], newOrder[1], newOrder[2], "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j RETURN"}
	nft := []string{
		`iifname "lo*" ip saddr 100.101.102.103 counter accept`,
		`iifname "tailscale0*" counter accept`,
		`udp dport 35018 counter accept`,
		`iifname != "tailscale0*" ip saddr 100.115.92.0/23 counter return`,
		`iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter drop`,
	}
	tests := []struct {
		scenario string
		want     []string
		blocks   bool
	}{
		{"new-order", newOrder, true},
		{"legacy", newOrder, true},
		{"old-order", oldOrder, true},
		{"nodeattr", nodeAttr, false},
		{"nftables", nft, true},
		{"1.96.5-nftables", []string{nft[0], nft[3], nft[4], nft[1], nft[2]}, true},
		{"1.102.3-nftables-nodeattr", []string{nft[0], nft[1], nft[2], `iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter return`}, false},
		// 1.96.5 does not know the attribute: the DROP stays.
		{"1.96.5-iptables-nft-nodeattr", oldOrder, true},
		{"netfilter-off", nil, false},
		{"stopped", nil, false},
		{"no-tailscale", nil, false},
	}
	for _, tt := range tests {
		s := parse(tt.scenario)
		if got := s.InputRules(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: InputRules() =\n%s\nwant\n%s", tt.scenario, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
		if s.Blocks() != tt.blocks {
			t.Errorf("%s: Blocks() = %v, want %v", tt.scenario, s.Blocks(), tt.blocks)
		}
	}
	// The restore input carries exactly these rules plus the fixed rest.
	r := parse("old-order").iptablesRestore(true)
	for _, want := range append(oldOrder, "-I INPUT 1 -j ts-input", "-A ts-postrouting -m mark --mark 0x40000/0xff0000 -j MASQUERADE", "-A ts-forward -s 100.64.0.0/10 -o tailscale0 -j DROP") {
		if !strings.Contains(r, want+"\n") {
			t.Errorf("iptables-restore input lacks %q", want)
		}
	}
	if strings.Contains(parse("new-order").iptablesRestore(false), "-I INPUT") {
		t.Error("nodivert rules must not hook INPUT")
	}
}

// The rules as observed on real machines (FIELD-NOTES §1), verbatim.
func TestInputRulesMatchFieldNotes(t *testing.T) {
	iptables := `-A ts-input -s 100.64.0.1/32 -i lo -j ACCEPT
-A ts-input -i tailscale0 -j ACCEPT
-A ts-input -p udp -m udp --dport 43075 -j ACCEPT
-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN
-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP`
	nft := `iifname "lo*" ip saddr 100.64.0.1 counter accept
iifname "tailscale0*" counter accept
udp dport 35018 counter accept
iifname != "tailscale0*" ip saddr 100.115.92.0/23 counter return
iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter drop`
	s := DefaultScenario()
	if got := strings.Join(s.InputRulesWith("100.64.0.1", 43075), "\n"); got != iptables {
		t.Errorf("iptables:\n%s\nwant\n%s", got, iptables)
	}
	s.Mode = ModeNFTables
	if got := strings.Join(s.InputRulesWith("100.64.0.1", 35018), "\n"); got != nft {
		t.Errorf("nftables:\n%s\nwant\n%s", got, nft)
	}
}

// cli runs the fake CLI on a state file and returns its output.
func cli(t *testing.T, state string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := FakeTailscale(args, state, &out, &errb)
	return out.String(), errb.String(), code
}

func newState(t *testing.T, name string) string {
	t.Helper()
	s, err := ParseScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	st := NewCLIState(s, "tsdunit-ecs")
	st.SkipFirewall = true
	path := filepath.Join(t.TempDir(), "state.json")
	if err := WriteCLIState(path, st); err != nil {
		t.Fatal(err)
	}
	return path
}

type statusDoc struct {
	Version      string
	BackendState string
	TailscaleIPs []string
	Self         struct {
		ID, HostName, DNSName, OS string
		TailscaleIPs              []string
		Online                    bool
		CapMap                    map[string]json.RawMessage
	}
	MagicDNSSuffix string
	CurrentTailnet struct{ MagicDNSSuffix string }
	Peer           map[string]json.RawMessage
}

func TestFakeTailscaleStatus(t *testing.T) {
	for _, name := range []string{"new-order", "old-order", "legacy", "nftables", "nodeattr", "netfilter-off", "1.96.5-iptables-nft-nodeattr"} {
		t.Run(name, func(t *testing.T) {
			s, _ := ParseScenario(name)
			state := newState(t, name)
			out, errs, code := cli(t, state, "status", "--json")
			if code != 0 {
				t.Fatalf("status --json: exit %d: %s", code, errs)
			}
			var st statusDoc
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("status --json does not parse: %v\n%s", err, out)
			}
			if !strings.HasPrefix(st.Version, s.Version+"-t") || st.BackendState != "Running" || st.Self.OS != "linux" ||
				!st.Self.Online || st.Peer == nil || st.MagicDNSSuffix == "" || st.CurrentTailnet.MagicDNSSuffix != st.MagicDNSSuffix {
				t.Errorf("unexpected status: %+v", st)
			}
			if len(st.Self.TailscaleIPs) != 2 || st.Self.TailscaleIPs[0] != NodeIP || !strings.HasPrefix(st.Self.TailscaleIPs[1], "fd7a:115c:a1e0:") {
				t.Errorf("Self.TailscaleIPs = %v", st.Self.TailscaleIPs)
			}
			raw, has := st.Self.CapMap["disable-linux-cgnat-drop-rule"]
			wantAttr := name == "nodeattr"
			if has != wantAttr || has && string(raw) != "null" {
				t.Errorf("CapMap attribute present=%v (%s), want %v", has, raw, wantAttr)
			}

			out, _, code = cli(t, state, "version", "--json")
			var v struct {
				MajorMinorPatch, Short, Long, GitCommit string
				Cap                                     int
			}
			if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.MajorMinorPatch != s.Version || v.Short != s.Version ||
				v.Long != st.Version || v.GitCommit == "" || v.Cap == 0 {
				t.Errorf("version --json: exit %d %s", code, out)
			}
			out, _, _ = cli(t, state, "version")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 || lines[0] != s.Version || !strings.HasPrefix(lines[1], "  tailscale commit: ") || !strings.HasPrefix(lines[2], "  go version: go1.") {
				t.Errorf("version:\n%s", out)
			}

			out, _, code = cli(t, state, "debug", "prefs")
			var p struct {
				ControlURL      string
				CorpDNS         bool
				WantRunning     bool
				NetfilterMode   int
				NetfilterKind   string
				AdvertiseRoutes []string
			}
			if code != 0 || json.Unmarshal([]byte(out), &p) != nil {
				t.Fatalf("debug prefs: exit %d %s", code, out)
			}
			wantNF, wantKind := 2, ""
			if name == "netfilter-off" {
				wantNF = 0
			}
			if s.Mode == ModeNFTables {
				wantKind = "nftables"
			}
			if p.NetfilterMode != wantNF || p.NetfilterKind != wantKind || !p.CorpDNS || !p.WantRunning || p.ControlURL == "" || p.AdvertiseRoutes != nil {
				t.Errorf("debug prefs: %+v", p)
			}
			if !strings.Contains(out, `"AdvertiseRoutes": null`) || !strings.Contains(out, "\n\t\"CorpDNS\": true") {
				t.Errorf("debug prefs not in the real shape:\n%s", out)
			}
			out, _, code = cli(t, state, "status")
			if code != 0 || !strings.HasPrefix(out, NodeIP) || !strings.Contains(out, "linux") {
				t.Errorf("status: exit %d %q", code, out)
			}
		})
	}
}

func prefsOf(t *testing.T, state string) (mode int, corpDNS, want bool) {
	t.Helper()
	out, errs, code := cli(t, state, "debug", "prefs")
	var p struct {
		NetfilterMode        int
		CorpDNS, WantRunning bool
	}
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil {
		t.Fatalf("debug prefs: exit %d %s %s", code, out, errs)
	}
	return p.NetfilterMode, p.CorpDNS, p.WantRunning
}

func TestFakeTailscaleSet(t *testing.T) {
	state := newState(t, "new-order")
	steps := []struct {
		args     []string
		code     int
		mode     int
		corpDNS  bool
		want     bool
		errMatch string
	}{
		{[]string{"set", "--netfilter-mode=off"}, 0, 0, true, true, ""},
		{[]string{"set", "--accept-dns=false"}, 0, 0, false, true, ""},
		{[]string{"set", "--netfilter-mode", "nodivert"}, 0, 1, false, true, ""},
		{[]string{"set", "--netfilter-mode=on", "--accept-dns"}, 0, 2, true, true, ""},
		{[]string{"set", "--netfilter-mode=maybe"}, 2, 2, true, true, "--netfilter-mode"},
		{[]string{"set", "--no-such-flag"}, 2, 2, true, true, "flag provided but not defined"},
		{[]string{"set", "extra"}, 2, 2, true, true, "too many non-flag arguments"},
		{[]string{"down"}, 0, 2, true, false, ""},
		{[]string{"up", "--netfilter-mode=off", "--login-server=http://x", "--authkey=k"}, 0, 0, true, true, ""},
		{[]string{"--socket=/run/x.sock", "set", "--netfilter-mode=on"}, 0, 2, true, true, ""},
		{[]string{"frobnicate"}, 1, 2, true, true, "unknown subcommand"},
	}
	for _, st := range steps {
		_, errs, code := cli(t, state, st.args...)
		if code != st.code || !strings.Contains(errs, st.errMatch) {
			t.Errorf("%v: exit %d stderr %q, want exit %d and %q", st.args, code, errs, st.code, st.errMatch)
		}
		mode, corpDNS, want := prefsOf(t, state)
		if mode != st.mode || corpDNS != st.corpDNS || want != st.want {
			t.Errorf("after %v: NetfilterMode=%d CorpDNS=%v WantRunning=%v, want %d %v %v", st.args, mode, corpDNS, want, st.mode, st.corpDNS, st.want)
		}
	}
	// After down, status says so like the real CLI.
	cli(t, state, "down")
	out, _, code := cli(t, state, "status")
	if code != 1 || strings.TrimSpace(out) != "Tailscale is stopped." {
		t.Errorf("status when down: exit %d %q", code, out)
	}
	out, _, _ = cli(t, state, "status", "--json")
	if !strings.Contains(out, `"BackendState": "Stopped"`) {
		t.Errorf("status --json when down:\n%s", out)
	}
}

func TestFakeTailscaleStopped(t *testing.T) {
	state := newState(t, "stopped")
	for _, args := range [][]string{{"status"}, {"status", "--json"}, {"debug", "prefs"}, {"set", "--netfilter-mode=off"}, {"up"}, {"version", "--daemon"}} {
		out, errs, code := cli(t, state, args...)
		if code != 1 || out != "" || !strings.Contains(errs, "failed to connect to local tailscaled; it doesn't appear to be running") {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, code, out, errs)
		}
	}
	// The CLI's own version needs no daemon.
	if out, _, code := cli(t, state, "version"); code != 0 || !strings.HasPrefix(out, "1.102.3\n") {
		t.Errorf("version when stopped: exit %d %q", code, out)
	}
}

func TestFakeTailscaleNotInstalled(t *testing.T) {
	state := newState(t, "no-tailscale")
	if _, errs, code := cli(t, state, "version"); code != 127 || !strings.Contains(errs, "not found") {
		t.Errorf("no-tailscale: exit %d %q", code, errs)
	}
}

// The fake CLI must never change a firewall outside the lab's namespace.
func TestFakeTailscaleRefusesOutsideLab(t *testing.T) {
	s := DefaultScenario()
	st := NewCLIState(s, "tsdunit-nonexistent-ecs")
	path := filepath.Join(t.TempDir(), "state.json")
	if err := WriteCLIState(path, st); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	_, errs, code := cli(t, path, "set", "--netfilter-mode=off")
	if code != 1 || !strings.Contains(errs, "refusing to change the firewall outside the lab") {
		t.Errorf("exit %d stderr %q", code, errs)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("state changed although the firewall change was refused")
	}
	// Changes that do not touch the firewall still work.
	if _, errs, code := cli(t, path, "set", "--accept-dns=false"); code != 0 {
		t.Errorf("accept-dns: exit %d %s", code, errs)
	}
}

func TestMainTailscaleArgs(t *testing.T) {
	state := newState(t, "nodeattr")
	var out, errb bytes.Buffer
	if code := Main([]string{"tailscale", "--state", state, "--", "version"}, "tsdoctor", &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "1.102.3\n") {
		t.Errorf("lab tailscale: exit %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := Main([]string{"tailscale", "--state=" + state, "--", "ip", "-4"}, "tsdoctor", &out, &errb); code != 0 || out.String() != NodeIP+"\n" {
		t.Errorf("lab tailscale ip -4: exit %d %q", code, out.String())
	}
	if code := Main([]string{"tailscale", "version"}, "tsdoctor", &out, &errb); code != 2 {
		t.Errorf("missing --state: exit %d", code)
	}
	out.Reset()
	if code := Main([]string{"scenarios"}, "tsdoctor", &out, &errb); code != 0 {
		t.Errorf("scenarios: exit %d", code)
	}
	for _, s := range Scenarios() {
		if !strings.Contains(out.String(), s.Name) {
			t.Errorf("scenarios output lacks %s", s.Name)
		}
	}
	if code := Main([]string{"frob"}, "tsdoctor", &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

func TestMainNeedsRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root")
	}
	for _, args := range [][]string{{"up"}, {"down"}, {"shell"}, {}} {
		var out, errb bytes.Buffer
		if code := Main(args, "tsdoctor", &out, &errb); code != 2 || !strings.Contains(errb.String(), "rerun with sudo") {
			t.Errorf("%v: exit %d %q", args, code, errb.String())
		}
	}
}
