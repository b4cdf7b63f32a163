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

// TestNetplanContentRoundTrip: what netplanContent writes, parseNetplanEthernets
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
	m := ResolverManager{Interfaces: names, dhcp6: dhcp6}
	content, err := netplanContent(m, DefaultResolvers)
	if err != nil {
		t.Fatalf("names %q: %v", names, err)
	}
	got, err := parseNetplanEthernets([]byte(content))
	var want []netplanIface
	for _, n := range names {
		// dhcp6 is read from the dhcp6 key, which tsdoctor's file never
		// sets: only the overrides.
		want = append(want, netplanIface{name: n, nameservers: []string{"223.5.5.5", "223.6.6.6"}})
	}
	if err != nil || !slices.EqualFunc(got, want, netplanIfaceEqual) {
		t.Errorf("names %q: written\n%s\nread back as %+v %v", names, content, got, err)
	}
}

// TestNetplanGenerateAccepts: the real netplan (netplan.io) accepts the file
// remedy 4 writes next to a host's own netplan files, and renders what the
// remedy promises: DHCP's DNS ignored, the public resolvers set. Apply's
// `netplan generate` and `netplan apply` both run `netplan generate
// --root-dir` on the test's root, which renders into that root and changes
// nothing on this machine.
func TestNetplanGenerateAccepts(t *testing.T) {
	netplan, err := exec.LookPath("netplan")
	if err != nil {
		netplan = "/usr/sbin/netplan"
		if _, err := os.Stat(netplan); err != nil {
			t.Skip("netplan is not installed (apt-get install netplan.io)")
		}
	}
	twoNICs := map[string]string{
		"/etc/netplan/50-cloud-init.yaml": strings.Replace(ubuntuCloudInitYAML, "dhcp4: true\n", "dhcp4: true\n            dhcp6: true\n", 1),
		"/etc/netplan/60-second-nic.yaml": "network: {version: 2, ethernets: {\"eth1\": {dhcp4: yes,\n  match: {macaddress: '00:16:3e:aa:bb:cc'}}}}\n",
	}
	odd := map[string]string{
		"/etc/netplan/50-cloud-init.yaml": "network:\n  version: 2\n  ethernets:\n    \"123\": {dhcp4: true}\n    \"true\": {dhcp4: true}\n    a:b: {dhcp4: true}\n",
	}
	tests := []struct {
		name  string
		files map[string]string
		// networkd lists the interfaces rendered for networkd, each of
		// which must ignore DHCP's DNS. (netplan refuses a dhcp6 interface
		// whose dhcp6-overrides differ from its dhcp4-overrides.)
		networkd []string
		// nm is the NetworkManager connection rendered instead.
		nm string
	}{
		{name: "cloud-init", files: map[string]string{"/etc/netplan/50-cloud-init.yaml": ubuntuCloudInitYAML}, networkd: []string{"eth0"}},
		{name: "two files, dhcp6", files: twoNICs, networkd: []string{"eth0", "eth1"}},
		{name: "IDs YAML must quote", files: odd, networkd: []string{"123", "true", "a:b"}},
		{name: "NetworkManager renderer, no ethernets", nm: "tsdoctor-all",
			files: map[string]string{"/etc/netplan/01-network-manager-all.yaml": "network:\n  version: 2\n  renderer: NetworkManager\n"}},
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
			var ran []string
			h := &Host{Root: root, StateDir: filepath.Join(root, "var/lib/tsdoctor"),
				Run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
					ran = append(ran, strings.Join(append([]string{name}, args...), " "))
					if name != "netplan" {
						return nil, fmt.Errorf("unexpected %s", name)
					}
					out, err := exec.CommandContext(ctx, netplan, "generate", "--root-dir", root).CombinedOutput()
					if err != nil {
						return out, fmt.Errorf("netplan generate: %v: %s", err, out)
					}
					return out, nil
				}}
			p, err := PublicDNS{}.Plan(context.Background(), h, ecsReport(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Apply(context.Background(), h, p); err != nil {
				t.Fatalf("apply (ran %q): %v", ran, err)
			}
			read := func(p string) string {
				b, err := os.ReadFile(filepath.Join(root, p))
				if err != nil {
					t.Fatalf("netplan rendered no %s: %v", p, err)
				}
				return string(b)
			}
			for _, name := range tc.networkd {
				s := read("/run/systemd/network/10-netplan-" + name + ".network")
				for _, w := range []string{"DNS=223.5.5.5\nDNS=223.6.6.6\n", "[DHCP]\n", "UseDNS=false\n"} {
					if !strings.Contains(s, w) {
						t.Errorf("%s.network lacks %q:\n%s", name, w, s)
					}
				}
			}
			if tc.nm != "" {
				// netplan 0.106 (Debian 12, Ubuntu 22.04) does not render
				// use-dns for NetworkManager: only the servers are set.
				s := read("/run/NetworkManager/system-connections/netplan-" + tc.nm + ".nmconnection")
				if !strings.Contains(s, "interface-name=e*;") || !strings.Contains(s, "dns=223.5.5.5;223.6.6.6;") {
					t.Errorf("%s.nmconnection:\n%s", tc.nm, s)
				}
			}
			if _, err := Undo(context.Background(), h, false); err != nil {
				t.Fatalf("undo (ran %q): %v", ran, err)
			}
			if _, err := os.Stat(filepath.Join(root, PublicDNSNetplan)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s after undo: %v", PublicDNSNetplan, err)
			}
		})
	}
}

// TestParseNetplanEthernets: the YAML shapes netplan files take.
func TestParseNetplanEthernets(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []netplanIface
	}{
		{"cloud-init", ubuntuCloudInitYAML, []netplanIface{{name: "eth0"}}},
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
`, []netplanIface{{name: "eth0", dhcp6: true, nameservers: []string{"100.100.2.136", "100.100.2.138"}}, {name: "eth1"}}},
		{"static nameservers, compact sequence", "network:\n  ethernets:\n    eth0:\n      addresses:\n      - 172.16.0.10/20\n      nameservers:\n        addresses:\n        - 100.100.2.136\n        - '100.100.2.138'\n        search: [example.internal]\n      routes:\n      - to: default\n        via: 172.16.255.253\n    eth1:\n      nameservers: {addresses: [8.8.8.8]}\n",
			[]netplanIface{{name: "eth0", nameservers: []string{"100.100.2.136", "100.100.2.138"}}, {name: "eth1", nameservers: []string{"8.8.8.8"}}}},
		{"flow on the next line", "network:\n  ethernets:\n    {ens5: {dhcp4: true, dhcp6: on}, \"ens6\": {}}\n", []netplanIface{{name: "ens5", dhcp6: true}, {name: "ens6"}}},
		{"flow document", "{network: {version: 2, ethernets: {eth0: {dhcp4: true}}}}\n", []netplanIface{{name: "eth0"}}},
		{"documents, block scalar, anchors", "%YAML 1.1\n---\nnetwork:\n  ethernets:\n    eth0: &e\n      dhcp4: true\n      description: |\n        eth9: not a key\n        ethernets: neither\n    eth1: *e\n...\n", []netplanIface{{name: "eth0"}, {name: "eth1"}}},
		{"no ethernets", "network:\n  version: 2\n  wifis:\n    wlan0: {}\n", nil},
		{"comments only", "# nothing here\n\n", nil},
		{"ethernets elsewhere", "other:\n  ethernets:\n    eth0: {}\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNetplanEthernets([]byte(tc.yaml))
			if err != nil || !slices.EqualFunc(got, tc.want, netplanIfaceEqual) {
				t.Errorf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
	// ethernets must be a mapping, as netplan requires.
	if _, err := parseNetplanEthernets([]byte("network:\n  ethernets:\n  - eth0: {}\n")); err == nil || !strings.Contains(err.Error(), "not a mapping") {
		t.Errorf("a sequence under ethernets: err = %v", err)
	}
	// Many definitions parse in linear time.
	var big strings.Builder
	big.WriteString("network:\n  ethernets:\n")
	for i := range 50000 {
		fmt.Fprintf(&big, "    eth%d:\n      dhcp4: true\n      routes:\n      - to: default\n        via: 10.0.0.1\n", i)
	}
	if got, err := parseNetplanEthernets([]byte(big.String())); err != nil || len(got) != 50000 {
		t.Errorf("big file: %d definitions, %v", len(got), err)
	}
	// What tsdoctor writes, it reads back.
	m := ResolverManager{Interfaces: []string{"eth0", "en p0", "odd\"\\\n\tname"}, dhcp6: map[string]bool{"eth0": true}}
	content, err := netplanContent(m, DefaultResolvers)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseNetplanEthernets([]byte(content))
	if err != nil || !slices.EqualFunc(got, []netplanIface{{name: "eth0", nameservers: []string{"223.5.5.5", "223.6.6.6"}}, {name: "en p0", nameservers: []string{"223.5.5.5", "223.6.6.6"}}, {name: "odd\"\\\n\tname", nameservers: []string{"223.5.5.5", "223.6.6.6"}}}, netplanIfaceEqual) {
		t.Errorf("own file read back as %+v %v", got, err)
	}
}

func netplanIfaceEqual(a, b netplanIface) bool {
	return a.name == b.name && a.dhcp6 == b.dhcp6 && slices.Equal(a.nameservers, b.nameservers)
}

func FuzzParseNetplanEthernets(f *testing.F) {
	for _, s := range []string{ubuntuCloudInitYAML, "network: {ethernets: {a: [1, {b: c}]}}", "- - -\n  - x: [\n", "'a''b': \"c\\\"\"", "x: {a: b, : c}", "{", "]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseNetplanEthernets([]byte(s))
	})
}
