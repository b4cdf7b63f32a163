package fixes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// netplanNames are definition IDs as YAML can spell them in the netplan
// files remedy 4 reads: every one must come back unchanged from the file it
// writes, or its overrides land on another (or no) interface.
var netplanNames = []string{
	"eth0", "ens5", "en p0", "odd\"\\\n\tname", "true", "123", "null", "~", "#x", "- y", "a: b",
	"[e]", "'q'", "a\rb", "x\x01y", "nul\x00", "del\x7f", "ü-网卡", "ls\u2028ps", "nel\u0085", "bom\ufeff",
	" lead", "trail ", "",
}

// TestNetplanContentRoundTrip: what netplanContent writes, parseNetplan
// reads back as the same definitions with the resolvers.
func TestNetplanContentRoundTrip(t *testing.T) {
	for _, name := range netplanNames {
		checkNetplanRoundTrip(t, []string{"eth9", name}, map[string]bool{name: true})
	}
	checkNetplanRoundTrip(t, netplanNames, nil)
}

func FuzzNetplanContent(f *testing.F) {
	for _, n := range netplanNames {
		f.Add(n, false)
	}
	f.Fuzz(func(t *testing.T, name string, dhcp6 bool) {
		if !utf8.ValidString(name) {
			t.Skip("names come from parsed YAML: always UTF-8")
		}
		checkNetplanRoundTrip(t, []string{name}, map[string]bool{name: dhcp6})
	})
}

func checkNetplanRoundTrip(t *testing.T, names []string, dhcp6 map[string]bool) {
	t.Helper()
	var defs []netplanDef
	for _, n := range names {
		defs = append(defs, netplanDef{section: "ethernets", name: n, dhcp4: true, dhcp6: dhcp6[n]})
	}
	content, err := netplanContent(defs, DefaultResolvers)
	if err != nil {
		t.Fatalf("names %q: %v", names, err)
	}
	got, _, err := parseNetplan([]byte(content))
	var want []netplanDef
	for _, n := range names {
		// dhcp6 is read from the dhcp6 key, which tsdoctor's file never
		// sets: only the overrides.
		want = append(want, netplanDef{section: "ethernets", name: n, nameservers: []string{"223.5.5.5", "223.6.6.6"}})
	}
	if err != nil || !slices.EqualFunc(got, want, netplanDefEqual) {
		t.Errorf("names %q: written\n%s\nread back as %+v %v", names, content, got, err)
	}
}

// netplanBinary is the real netplan (outside PATH for an ordinary user on
// Debian); without it the test skips.
func netplanBinary(t *testing.T) string {
	t.Helper()
	netplan, err := exec.LookPath("netplan")
	if err != nil {
		netplan = "/usr/sbin/netplan"
		if _, err := os.Stat(netplan); err != nil {
			t.Skip("netplan is not installed (apt-get install netplan.io)")
		}
	}
	return netplan
}

// TestNetplanGenerateAccepts: the real netplan (netplan.io) accepts the file
// remedy 4 writes next to a host's own netplan files, and renders what the
// remedy promises: DHCP's DNS ignored, the public resolvers set. Apply's
// `netplan generate` and `netplan apply` both run `netplan generate
// --root-dir` on the test's root, which renders into that root and changes
// nothing on this machine.
func TestNetplanGenerateAccepts(t *testing.T) {
	netplan := netplanBinary(t)
	twoNICs := map[string]string{
		"/etc/netplan/50-cloud-init.yaml": strings.Replace(ubuntuCloudInitYAML, "dhcp4: true\n", "dhcp4: true\n            dhcp6: true\n", 1),
		"/etc/netplan/60-second-nic.yaml": "network: {version: 2, ethernets: {\"eth1\": {dhcp4: yes,\n  match: {macaddress: '00:16:3e:aa:bb:cc'}}}}\n",
	}
	odd := map[string]string{
		"/etc/netplan/50-cloud-init.yaml": "network:\n  version: 2\n  ethernets:\n    \"123\": {dhcp4: true}\n    \"true\": {dhcp4: true}\n    a:b: {dhcp4: true}\n",
	}
	// A static-IP host: the VPC DNS is written into the definition, no DHCP.
	staticIP := map[string]string{
		"/etc/netplan/50-cloud-init.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [172.16.0.10/24]\n      routes: [{to: default, via: 172.16.0.253}]\n      nameservers: {addresses: [100.100.2.136, 100.100.2.138]}\n    eth1:\n      addresses: [192.168.9.10/24]\n",
	}
	// A static-IP host whose netplan file names no ethernet (networkd's
	// own .network file configures it): the old fallback's match on e*
	// with dhcp4 moved every NIC to DHCP.
	noEthernets := map[string]string{
		"/etc/netplan/01-netcfg.yaml":          "network:\n  version: 2\n  renderer: networkd\n",
		"/etc/systemd/network/10-eth0.network": "[Match]\nName=eth0\n[Network]\nAddress=172.16.0.10/24\nGateway=172.16.0.253\nDNS=100.100.2.136\n",
	}
	// A bond of two NICs with a VLAN on top; the VLAN takes DHCP.
	bondVLAN := map[string]string{
		"/etc/netplan/50-cloud-init.yaml": "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eno1: {}\n    eno2: {}\n  bonds:\n    bond0:\n      interfaces: [eno1, eno2]\n      parameters: {mode: active-backup}\n      addresses: [10.0.0.5/24]\n  bridges:\n    br0:\n      interfaces: [vlan20]\n      dhcp4: true\n  vlans:\n    vlan10: {id: 10, link: bond0, dhcp4: true}\n    vlan20: {id: 20, link: bond0}\n",
	}
	tests := []struct {
		name  string
		files map[string]string
		// networkd lists the interfaces rendered for networkd, each of
		// which must ignore DHCP's DNS and use the public resolvers.
		// (netplan refuses a dhcp6 interface whose dhcp6-overrides differ
		// from its dhcp4-overrides.) Every other rendered file must stay
		// exactly as it was, and no line other than DNS settings may
		// change: addressing is never touched.
		networkd []string
		// static lists interfaces whose static servers the public ones
		// are added to.
		static []string
		// resolved: the plan writes systemd-resolved's drop-in instead.
		resolved bool
	}{
		{name: "cloud-init", files: map[string]string{"/etc/netplan/50-cloud-init.yaml": ubuntuCloudInitYAML}, networkd: []string{"eth0"}},
		{name: "two files, dhcp6", files: twoNICs, networkd: []string{"eth0", "eth1"}},
		{name: "IDs YAML must quote", files: odd, networkd: []string{"123", "true", "a:b"}},
		{name: "static IP", files: staticIP, static: []string{"eth0"}},
		{name: "static IP, no ethernets in netplan", files: noEthernets, resolved: true},
		{name: "bond, bridge and VLANs", files: bondVLAN, networkd: []string{"vlan10", "br0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := maps.Clone(tc.files)
			files["/etc/resolv.conf"] = "nameserver 127.0.0.53\n"
			modes := map[string]fs.FileMode{}
			for p := range tc.files {
				modes[p] = 0o600 // as cloud-init writes them: netplan warns otherwise
			}
			root := dnsFixture(t, files, modes, nil)
			generate := func(ctx context.Context) ([]byte, error) {
				out, err := exec.CommandContext(ctx, netplan, "generate", "--root-dir", root).CombinedOutput()
				if err != nil {
					return out, fmt.Errorf("netplan generate: %v: %s", err, out)
				}
				return out, nil
			}
			if out, err := generate(context.Background()); err != nil {
				t.Fatalf("the host's own configuration: %v %s", err, out)
			}
			before := netplanRendered(t, root)
			var ran []string
			h := &Host{Root: root, StateDir: filepath.Join(root, "var/lib/tsdoctor"),
				Run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
					ran = append(ran, strings.Join(append([]string{name}, args...), " "))
					switch name {
					case "netplan":
						return generate(ctx)
					case "systemctl":
						return nil, nil
					}
					return nil, fmt.Errorf("unexpected %s", name)
				}}
			p, err := PublicDNS{}.Plan(context.Background(), h, ecsReport(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Apply(context.Background(), h, p); err != nil {
				t.Fatalf("apply (ran %q): %v", ran, err)
			}
			after := netplanRendered(t, root)
			for f, a := range after {
				b, ok := before[f]
				if !ok {
					t.Errorf("netplan now renders a new %s (the plan must not add interfaces):\n%s", f, a)
					continue
				}
				if d := nonDNSChanges(b, a); d != "" {
					t.Errorf("%s changed beyond DNS:\n%s", f, d)
				}
			}
			for f := range before {
				if _, ok := after[f]; !ok {
					t.Errorf("netplan no longer renders %s", f)
				}
			}
			touched := map[string]bool{}
			for _, name := range tc.networkd {
				f := "/run/systemd/network/10-netplan-" + name + ".network"
				touched[f] = true
				for _, w := range []string{"DNS=223.5.5.5\nDNS=223.6.6.6\n", "UseDNS=false\n"} {
					if !strings.Contains(after[f], w) {
						t.Errorf("%s lacks %q:\n%s", f, w, after[f])
					}
				}
			}
			for _, name := range tc.static {
				f := "/run/systemd/network/10-netplan-" + name + ".network"
				touched[f] = true
				if !strings.Contains(after[f], "DNS=223.5.5.5\nDNS=223.6.6.6\n") {
					t.Errorf("%s lacks the public resolvers:\n%s", f, after[f])
				}
			}
			for f := range after {
				if !touched[f] && after[f] != before[f] {
					t.Errorf("%s changed, though it carries no VPC DNS:\n%s", f, diffText(before[f], after[f]))
				}
			}
			_, _, wroteDropIn, _ := h.readFile(PublicDNSResolved)
			if wroteDropIn != tc.resolved {
				t.Errorf("systemd-resolved drop-in written: %v, want %v (ran %q)", wroteDropIn, tc.resolved, ran)
			}
			if !slices.Contains(dnsNoteKeys(p), "fix.4.note.netplanapply") && len(tc.networkd)+len(tc.static) > 0 {
				t.Errorf("the plan does not say what netplan apply bounces: %q", dnsNoteKeys(p))
			}
			if _, err := Undo(context.Background(), h, false); err != nil {
				t.Fatalf("undo (ran %q): %v", ran, err)
			}
			if _, err := os.Stat(filepath.Join(root, PublicDNSNetplan)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s after undo: %v", PublicDNSNetplan, err)
			}
			if again := netplanRendered(t, root); !maps.Equal(before, again) {
				t.Errorf("netplan renders differently after undo")
			}
		})
	}
}

// TestNetplanNetworkManagerIgnoresUseDNS pins why remedy 4 does not take
// the netplan route for an interface netplan hands to NetworkManager: the
// real netplan (0.106, Debian 12, Ubuntu 22.04) renders the servers but no
// ignore-auto-dns for `use-dns: false`, so DHCP's VPC DNS would stay. If a
// newer netplan renders it, this test fails: then the netplan route could
// serve NetworkManager too.
func TestNetplanNetworkManagerIgnoresUseDNS(t *testing.T) {
	netplan := netplanBinary(t)
	content, err := netplanContent([]netplanDef{{section: "ethernets", name: "eth0", dhcp4: true}}, DefaultResolvers)
	if err != nil {
		t.Fatal(err)
	}
	root := dnsFixture(t, map[string]string{
		"/etc/netplan/01-network-manager-all.yaml": "network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n    eth0: {dhcp4: true}\n",
		PublicDNSNetplan: content,
	}, map[string]fs.FileMode{"/etc/netplan/01-network-manager-all.yaml": 0o600, PublicDNSNetplan: 0o600}, nil)
	if out, err := exec.Command(netplan, "generate", "--root-dir", root).CombinedOutput(); err != nil {
		t.Fatalf("netplan generate: %v: %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(root, "run/NetworkManager/system-connections/netplan-eth0.nmconnection"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, "dns=223.5.5.5;223.6.6.6;") || strings.Contains(s, "ignore-auto-dns") {
		t.Errorf("netplan now renders use-dns for NetworkManager: remedy 4 could write its netplan file for NetworkManager interfaces too:\n%s", s)
	}
}

// netplanRendered is what netplan generate wrote under root, for networkd
// and NetworkManager.
func netplanRendered(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{"/run/systemd/network", "/run/NetworkManager/system-connections"} {
		ents, _ := os.ReadDir(filepath.Join(root, dir))
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(root, dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[dir+"/"+e.Name()] = string(b)
		}
	}
	return out
}

// nonDNSChanges lists the lines added or removed between two rendered
// files that are not DNS settings (or the section headers they live in).
func nonDNSChanges(before, after string) string {
	dns := func(l string) bool {
		for _, p := range []string{"DNS=", "UseDNS=", "[DHCP]", "[DHCPv4]", "[DHCPv6]", "dns=", "ignore-auto-dns=", "[ipv4]", "[ipv6]"} {
			if strings.HasPrefix(l, p) {
				return true
			}
		}
		return l == ""
	}
	var bad []string
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	for _, l := range a {
		if !slices.Contains(b, l) && !dns(l) {
			bad = append(bad, "+"+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) && !dns(l) {
			bad = append(bad, "-"+l)
		}
	}
	return strings.Join(bad, "\n")
}

func diffText(before, after string) string {
	var out []string
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "-"+l)
		}
	}
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "+"+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestParseNetplanEthernets: the YAML shapes netplan files take.
func TestParseNetplanEthernets(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []netplanDef
	}{
		{"cloud-init", ubuntuCloudInitYAML, []netplanDef{{section: "ethernets", name: "eth0"}}},
		{"two-space indent, routes, nameservers, dhcp6", `network:
  version: 2
  renderer: networkd
  ethernets:
    eth0:
      dhcp4: yes
      dhcp6: "true"
      routes:
      - to: default
        via: 172.16.255.253
      nameservers:
        addresses: [100.100.2.136,
                    100.100.2.138]   # VPC DNS
    'eth1':
      addresses:
        - 172.16.1.10/24
  bridges:
    br0:
      interfaces: [eth1]
`, []netplanDef{{section: "ethernets", name: "eth0", dhcp6: true, nameservers: []string{"100.100.2.136", "100.100.2.138"}}, {section: "ethernets", name: "eth1"}, {section: "bridges", name: "br0"}}},
		{"renderers: a section's and a definition's", "network:\n  renderer: networkd\n  ethernets:\n    renderer: NetworkManager\n    eth0: {dhcp4: true}\n    eth1: {renderer: networkd}\n  vlans:\n    v10: {id: 10, link: eth1, dhcp4: yes}\n",
			[]netplanDef{{section: "ethernets", name: "eth0", dhcp4: true, renderer: netplanNM}, {section: "ethernets", name: "eth1", renderer: "networkd"}, {section: "vlans", name: "v10", dhcp4: true}}},
		{"static nameservers, compact sequence", "network:\n  ethernets:\n    eth0:\n      addresses:\n      - 172.16.0.10/20\n      nameservers:\n        addresses:\n        - 100.100.2.136\n        - '100.100.2.138'\n        search: [example.internal]\n      routes:\n      - to: default\n        via: 172.16.255.253\n    eth1:\n      nameservers: {addresses: [8.8.8.8]}\n",
			[]netplanDef{{section: "ethernets", name: "eth0", nameservers: []string{"100.100.2.136", "100.100.2.138"}}, {section: "ethernets", name: "eth1", nameservers: []string{"8.8.8.8"}}}},
		{"flow on the next line", "network:\n  ethernets:\n    {ens5: {dhcp4: true, dhcp6: on}, \"ens6\": {}}\n", []netplanDef{{section: "ethernets", name: "ens5", dhcp6: true}, {section: "ethernets", name: "ens6"}}},
		{"flow document", "{network: {version: 2, ethernets: {eth0: {dhcp4: true}}}}\n", []netplanDef{{section: "ethernets", name: "eth0"}}},
		{"documents, block scalar, anchors", "%YAML 1.1\n---\nnetwork:\n  ethernets:\n    eth0: &e\n      dhcp4: true\n      description: |\n        eth9: not a key\n        ethernets: neither\n    eth1: *e\n...\n", []netplanDef{{section: "ethernets", name: "eth0"}, {section: "ethernets", name: "eth1"}}},
		{"no ethernets", "network:\n  version: 2\n  wifis:\n    wlan0: {}\n", nil},
		{"comments only", "# nothing here\n\n", nil},
		{"ethernets elsewhere", "other:\n  ethernets:\n    eth0: {}\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := parseNetplan([]byte(tc.yaml))
			if err != nil || !slices.EqualFunc(got, tc.want, netplanDefEqual) {
				t.Errorf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
	// ethernets must be a mapping, as netplan requires.
	if _, _, err := parseNetplan([]byte("network:\n  ethernets:\n  - eth0: {}\n")); err == nil || !strings.Contains(err.Error(), "not a mapping") {
		t.Errorf("a sequence under ethernets: err = %v", err)
	}
	// Many definitions parse in linear time.
	var big strings.Builder
	big.WriteString("network:\n  ethernets:\n")
	for i := range 50000 {
		fmt.Fprintf(&big, "    eth%d:\n      dhcp4: true\n      routes:\n      - to: default\n        via: 10.0.0.1\n", i)
	}
	if got, _, err := parseNetplan([]byte(big.String())); err != nil || len(got) != 50000 {
		t.Errorf("big file: %d definitions, %v", len(got), err)
	}
	// What tsdoctor writes, it reads back.
	content, err := netplanContent([]netplanDef{{section: "ethernets", name: "eth0", dhcp4: true, dhcp6: true}, {section: "ethernets", name: "en p0", dhcp4: true}, {section: "ethernets", name: "odd\"\\\n\tname", dhcp4: true}}, DefaultResolvers)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := parseNetplan([]byte(content))
	if err != nil || !slices.EqualFunc(got, []netplanDef{{section: "ethernets", name: "eth0", nameservers: []string{"223.5.5.5", "223.6.6.6"}}, {section: "ethernets", name: "en p0", nameservers: []string{"223.5.5.5", "223.6.6.6"}}, {section: "ethernets", name: "odd\"\\\n\tname", nameservers: []string{"223.5.5.5", "223.6.6.6"}}}, netplanDefEqual) {
		t.Errorf("own file read back as %+v %v", got, err)
	}
}

func netplanDefEqual(a, b netplanDef) bool {
	return a.section == b.section && a.name == b.name && a.dhcp6 == b.dhcp6 && slices.Equal(a.nameservers, b.nameservers) &&
		a.renderer == b.renderer && (a.dhcp4 == b.dhcp4 || !b.dhcp4) // cases that do not say dhcp4 do not check it
}

func FuzzParseNetplan(f *testing.F) {
	for _, s := range []string{ubuntuCloudInitYAML, "network: {ethernets: {a: [1, {b: c}]}}", "- - -\n  - x: [\n", "'a''b': \"c\\\"\"", "x: {a: b, : c}", "{", "]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = parseNetplan([]byte(s))
	})
}
