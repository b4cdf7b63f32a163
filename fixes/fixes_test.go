package fixes

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

func tempHost(t *testing.T, run func(ctx context.Context, name string, args ...string) ([]byte, error)) *Host {
	t.Helper()
	root := t.TempDir()
	return &Host{Root: root, Run: run}
}

// TestUnitsVerify: every unit tsdoctor generates passes systemd-analyze
// verify (with ExecStart pointed at a file that exists here), and a broken
// one does not, so the check can fail.
func TestUnitsVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "tsdoctor-script")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	specs := SpecsFor(netip.MustParseAddr("100.100.2.136"), KnownServices, Narrow)
	_, wl := whitelistFiles(firewall.IptablesNFT, specs, Options{})
	units := map[string]string{
		"tsdoctor-whitelist.service":      strings.ReplaceAll(wl, WhitelistScript, exe),
		"tsdoctor-guard.service":          guardUnit(firewall.ShellJoin([]string{exe, "guard", "--allow", "100.100.2.136"}), "daemon", "main"),
		"tsdoctor-guard-script.service":   guardUnit(exe+" loop 1", "script", "all"),
		"tsdoctor-guard-packaged.service": PackagedGuardUnit(exe),
		"broken.service":                  strings.Replace(strings.ReplaceAll(wl, WhitelistScript, exe), "Type=simple", "Type=simpel", 1),
	}
	for name, content := range units {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sa, "verify", p).CombinedOutput()
		bad := err != nil || len(strings.TrimSpace(string(out))) > 0
		if name == "broken.service" {
			if !bad {
				t.Errorf("systemd-analyze accepted a broken unit")
			}
			continue
		}
		if bad {
			t.Errorf("%s: systemd-analyze verify: %v\n%s\n%s", name, err, out, content)
		}
	}
}

// TestApplyRollsBack: an action fails halfway; what was done is undone and
// the journal says so.
func TestApplyRollsBack(t *testing.T) {
	h := tempHost(t, func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return nil, errors.New("boom")
	})
	existing := "/etc/keep.conf"
	if err := h.writeFile(existing, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	p := &Plan{Remedy: WhitelistID}
	p.addFile(FileWrite{Path: existing, Content: "new\n", Mode: 0o644})
	p.addFile(FileWrite{Path: "/etc/new.conf", Content: "x\n", Mode: 0o644})
	p.addCommand([]string{"false"}, nil)
	e, err := Apply(context.Background(), h, p)
	if err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v", err)
	}
	if b, mode, _, _ := h.readFile(existing); string(b) != "old\n" || mode != 0o640 {
		t.Errorf("%s = %q %o after rollback", existing, b, mode)
	}
	if _, _, ok, _ := h.readFile("/etc/new.conf"); ok {
		t.Error("new file left after rollback")
	}
	if e == nil || e.Failed == "" || !e.Undone {
		t.Errorf("journal entry %+v", e)
	}
	fi, err := os.Stat(h.stateDir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v %v", fi.Mode(), err)
	}
}

// TestUndoFiles: apply, apply again (nothing), undo: bytes and modes back.
func TestUndoFiles(t *testing.T) {
	var ran [][]string
	h := tempHost(t, func(ctx context.Context, name string, args ...string) ([]byte, error) {
		ran = append(ran, append([]string{name}, args...))
		return nil, nil
	})
	h.Systemd = true
	if err := h.writeFile(WhitelistUnit, []byte("[Unit]\nDescription=older\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Plan{Remedy: WhitelistID}
	p.addUnit(h, WhitelistScript, "#!/bin/sh\n", WhitelistUnit, "[Unit]\n")
	if len(p.Actions) != 6 { // (reload on undo), script, unit, daemon-reload, enable, start
		t.Fatalf("%d actions: %+v", len(p.Actions), p.Actions)
	}
	if _, err := Apply(context.Background(), h, p); err != nil {
		t.Fatal(err)
	}
	p2 := &Plan{Remedy: WhitelistID}
	ran = nil
	h.Run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return []byte("enabled\n"), nil // is-enabled says so now
	}
	p2.addUnit(h, WhitelistScript, "#!/bin/sh\n", WhitelistUnit, "[Unit]\n")
	if !p2.Nothing() {
		t.Errorf("second plan not empty: %+v", p2.Actions)
	}
	h.Run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
		ran = append(ran, append([]string{name}, args...))
		return nil, nil
	}
	res, err := Undo(context.Background(), h, false)
	if err != nil || len(res) != 1 || !res[0].Same {
		t.Fatalf("undo: %v %+v", err, res)
	}
	if b, mode, _, _ := h.readFile(WhitelistUnit); string(b) != "[Unit]\nDescription=older\n" || mode != 0o600 {
		t.Errorf("unit after undo %q %o", b, mode)
	}
	if _, _, ok, _ := h.readFile(WhitelistScript); ok {
		t.Error("script left after undo")
	}
	want := [][]string{{"systemctl", "stop", "tsdoctor-whitelist.service"}, {"systemctl", "disable", "tsdoctor-whitelist.service"}, {"systemctl", "daemon-reload"}}
	if !slices.EqualFunc(ran, want, slices.Equal) {
		t.Errorf("undo ran %q, want %q", ran, want)
	}
	if res, _ := Undo(context.Background(), h, true); len(res) != 0 {
		t.Errorf("second undo did something: %+v", res)
	}
}

// TestLock: a second tsdoctor changing the host is refused.
func TestLock(t *testing.T) {
	h := tempHost(t, nil)
	unlock, err := h.lock()
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Remedy: WhitelistID}
	p.addFile(FileWrite{Path: "/etc/x", Content: "y"})
	// flock locks belong to the open file: a second open is a second
	// tsdoctor as far as the kernel is concerned.
	if _, err := Apply(context.Background(), h, p); !errors.Is(err, ErrLocked) {
		t.Errorf("apply under another's lock: %v", err)
	}
	unlock()
	if _, err := Apply(context.Background(), h, p); err != nil {
		t.Errorf("apply after unlock: %v", err)
	}
}

func TestSpecsFor(t *testing.T) {
	dns := netip.MustParseAddr("100.100.2.136")
	md := netip.MustParseAddr("100.100.100.200")
	other := netip.MustParseAddr("100.100.2.148")
	cases := []struct {
		addr  netip.Addr
		shape Shape
		want  []string
	}{
		{dns, Narrow, []string{"-s 100.100.2.136/32 -p udp -m udp --sport 53 -m comment --comment tsdoctor-whitelist -j ACCEPT",
			"-s 100.100.2.136/32 -p tcp -m tcp --sport 53 -m comment --comment tsdoctor-whitelist -j ACCEPT"}},
		{md, Narrow, []string{"-s 100.100.100.200/32 -p tcp -m tcp --sport 80 -m comment --comment tsdoctor-whitelist -j ACCEPT"}},
		{other, Narrow, []string{"-s 100.100.2.148/32 -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment tsdoctor-whitelist -j ACCEPT"}},
		{dns, Conntrack, []string{"-s 100.100.2.136/32 -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment tsdoctor-whitelist -j ACCEPT"}},
		{dns, Wide, []string{"-s 100.100.2.136/32 -m comment --comment tsdoctor-whitelist -j ACCEPT"}},
	}
	for _, c := range cases {
		var got []string
		for _, s := range SpecsFor(c.addr, KnownServices, c.shape) {
			got = append(got, strings.Join(s.IptablesArgs(), " "))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %s:\n got %q\nwant %q", c.addr, c.shape, got, c.want)
		}
	}
}

func TestWhitelistSpecsRefusesOutsideCGNAT(t *testing.T) {
	_, _, err := whitelistSpecs(checks.Report{}, Options{Allow: []netip.Addr{netip.MustParseAddr("10.0.0.2")}})
	if err == nil || !strings.Contains(err.Error(), "outside 100.64.0.0/10") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := whitelistSpecs(checks.Report{}, Options{}); err == nil || !strings.Contains(err.Error(), "--allow") {
		t.Errorf("no addresses: err = %v", err)
	}
	for _, bad := range []string{"100.100.2.136,nope", "fd7a::1", "1.2.3"} {
		if _, err := ParseAddrs(bad); err == nil {
			t.Errorf("ParseAddrs(%q): no error", bad)
		}
	}
}

// TestNetfilterOffOldCLI: a CLI whose `set` lacks --netfilter-mode gets
// `tailscale up` restating exactly the node's non-default prefs (never the
// OS's hostname, which status reports, as --hostname), and the undo
// restores the mode read from tailscaled, nodivert included; a mode that
// cannot be read refuses the plan.
func TestNetfilterOffOldCLI(t *testing.T) {
	const prefs = `{"ControlURL": "http://control.lab:8080", "RouteAll": false, "CorpDNS": true, "Hostname": "",
		"AdvertiseRoutes": ["10.0.0.0/24"], "NoStatefulFiltering": true, "NetfilterMode": 1}`
	for _, c := range []struct {
		help, prefs string
		do, undo    []string
	}{
		{"  --netfilter-mode string", prefs,
			[]string{"tailscale", "set", "--netfilter-mode=off"}, []string{"tailscale", "set", "--netfilter-mode=nodivert"}},
		{"  --accept-dns", prefs,
			[]string{"tailscale", "up", "--netfilter-mode=off", "--login-server=http://control.lab:8080", "--advertise-routes=10.0.0.0/24"},
			[]string{"tailscale", "up", "--netfilter-mode=nodivert", "--login-server=http://control.lab:8080", "--advertise-routes=10.0.0.0/24"}},
		{"  --accept-dns", `{"Hostname": "pinned", "CorpDNS": false, "RunSSH": true, "NetfilterMode": 2}`,
			[]string{"tailscale", "up", "--netfilter-mode=off", "--accept-dns=false", "--ssh", "--hostname=pinned", "--stateful-filtering"}, nil},
		{"  --accept-dns", `{}`, nil, nil},
		{"  --accept-dns", "", nil, nil},
	} {
		h := tempHost(t, func(ctx context.Context, name string, args ...string) ([]byte, error) {
			if len(args) > 0 && args[0] == "debug" {
				if c.prefs == "" {
					return nil, errors.New("failed to connect to local tailscaled")
				}
				return []byte(c.prefs), nil
			}
			return []byte(c.help), nil
		})
		yes := true
		rep := checks.Report{Tailscale: tailscale.State{Installed: true, BackendState: "Running", NetfilterMode: tailscale.NetfilterOn,
			AcceptDNS: &yes, AdvertiseRoutes: []string{"10.0.0.0/24"}, HostName: "ecs-1"}}
		p, err := NetfilterOff{}.Plan(context.Background(), h, rep, Options{})
		if c.do == nil {
			if err == nil {
				t.Errorf("prefs %q: planned %+v, want a refusal", c.prefs, p.Actions[0].Command)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		cp := p.Actions[0].Command
		if !slices.Equal(cp.Do, c.do) || (c.undo != nil && !slices.Equal(cp.Undo, c.undo)) {
			t.Errorf("prefs %s, help %q:\n do   %q\n undo %q\nwant %q / %q", c.prefs, c.help, cp.Do, cp.Undo, c.do, c.undo)
		}
	}
}

// TestParseResolvers: --dns takes IPv4 addresses outside 100.64.0.0/10,
// each once, at least one; the error names the address at fault.
func TestParseResolvers(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"223.5.5.5, 223.6.6.6,223.5.5.5", "223.5.5.5,223.6.6.6", ""},
		{"223.5.5.5,nope", "", `"nope" is not an IPv4 address`},
		{"fd7a::1", "", `"fd7a::1" is not an IPv4 address`},
		{"223.5.5.5,100.100.2.136", "", "100.100.2.136 is inside 100.64.0.0/10"},
		{" , ", "", "no resolver given"},
	} {
		got, err := ParseResolvers(c.in)
		if AddrList(got) != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseResolvers(%q) = %q, %v; want %q, %q", c.in, AddrList(got), err, c.want, c.err)
		}
	}
}
