package fixes

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
)

// resolvedGlobalDNS reads the global DNS= servers as systemd-resolved does:
// resolved.conf, then the *.conf drop-ins of every directory sorted together
// by name (/etc first for equal names); DNS= lines add up and an empty one
// clears what was read before it.
func resolvedGlobalDNS(t *testing.T, root string) []string {
	t.Helper()
	files := []string{filepath.Join(root, "/etc/systemd/resolved.conf")}
	byName := map[string]string{}
	for _, d := range resolvedDropInDirs {
		ents, _ := os.ReadDir(filepath.Join(root, d))
		for _, e := range ents {
			if _, seen := byName[e.Name()]; !seen && strings.HasSuffix(e.Name(), ".conf") {
				byName[e.Name()] = filepath.Join(root, d, e.Name())
			}
		}
	}
	var names []string
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		files = append(files, byName[n])
	}
	var dns []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "DNS="); ok {
				if v == "" {
					dns = nil
				}
				dns = append(dns, strings.Fields(v)...)
			}
		}
	}
	return dns
}

// TestPublicDNSResolvedOrder: with the VPC DNS set globally in a drop-in
// (a cloud image's vpc.conf, a vendor file in /usr/lib), remedy 4's drop-in
// must be read last and clear the list, or resolved keeps asking the VPC
// DNS first (10 s lookups, "Not verified"). Found on a booted Debian 12:
// the old 99-tsdoctor-dns.conf sorted before vpc.conf.
func TestPublicDNSResolvedOrder(t *testing.T) {
	const vpc = "[Resolve]\nDNS=100.100.2.136 100.100.2.138\n"
	cases := []struct {
		name  string
		files map[string]string
		path  string // where the drop-in must go
	}{
		{"vpc.conf in /etc", map[string]string{"/etc/systemd/resolved.conf.d/vpc.conf": vpc},
			"/etc/systemd/resolved.conf.d/zz-tsdoctor-dns.conf"},
		{"vendor drop-in sorting after zz-", map[string]string{"/usr/lib/systemd/resolved.conf.d/zzz-vendor.conf": vpc},
			"/etc/systemd/resolved.conf.d/zzz-vendorz-tsdoctor-dns.conf"},
		{"resolved.conf itself", map[string]string{"/etc/systemd/resolved.conf": "[Resolve]\nDNS=100.100.2.136\n"},
			"/etc/systemd/resolved.conf.d/zz-tsdoctor-dns.conf"},
		{"an earlier version's 99- drop-in is replaced", map[string]string{
			"/etc/systemd/resolved.conf.d/vpc.conf":             vpc,
			"/etc/systemd/resolved.conf.d/99-tsdoctor-dns.conf": "# Written by tsdoctor (remedy 4, public DNS)\n[Resolve]\nDNS=223.5.5.5 223.6.6.6\nDomains=~.\n"},
			"/etc/systemd/resolved.conf.d/zz-tsdoctor-dns.conf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			files := map[string]string{
				"/run/systemd/resolve/stub-resolv.conf": ubuntuStubResolv,
				"/run/systemd/resolve/resolv.conf":      ubuntuUpstreamResolv,
			}
			for p, c := range tc.files {
				files[p] = c
			}
			root := dnsFixture(t, files, nil, map[string]string{"/etc/resolv.conf": "../run/systemd/resolve/stub-resolv.conf"})
			rec := &dnsRecorder{root: root}
			h := &Host{Root: root, StateDir: filepath.Join(root, "var/lib/tsdoctor"), Run: rec.run}
			before := dnsSnapshot(t, root)
			if got := resolvedGlobalDNS(t, root); len(got) == 0 {
				t.Fatalf("fixture sets no global DNS")
			}
			rep := checks.Report{Cloud: ecsReport().Cloud, Blocked: []checks.BlockedService{{Address: netip.MustParseAddr("100.100.2.136"), Port: 53, Service: "dns"}}}
			p, err := PublicDNS{}.Plan(ctx, h, rep, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Apply(ctx, h, p); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(root, tc.path)); err != nil || !strings.Contains(string(b), "\nDNS=\nDNS=223.5.5.5 223.6.6.6\n") {
				t.Errorf("drop-in %s: %q %v", tc.path, b, err)
			}
			if got := resolvedGlobalDNS(t, root); !slices.Equal(got, []string{"223.5.5.5", "223.6.6.6"}) {
				t.Errorf("resolved's global DNS after the fix: %q, want only the public resolvers", got)
			}
			if p2, err := (PublicDNS{}).Plan(ctx, h, rep, Options{}); err != nil || !p2.Nothing() {
				t.Errorf("second plan: %v %+v", err, p2)
			}
			if res, err := Undo(ctx, h, false); err != nil || len(res) != 1 || !res[0].Same {
				t.Fatalf("undo: %v %+v", err, res)
			}
			after := dnsSnapshot(t, root)
			if len(after) != len(before) {
				t.Errorf("after undo %d files, before %d", len(after), len(before))
			}
			for path, st := range before {
				if after[path] != st {
					t.Errorf("%s after undo: %+v, before %+v", path, after[path], st)
				}
			}
		})
	}
}

// TestVerifyPublicDNSThroughStub: on a systemd-resolved host remedy 4 is
// verified by what clients get through the stub, not by each upstream
// server resolved lists: per-link VPC servers stay listed (and the check's
// DNS step fails on them) while ~. sends every query to the public
// resolvers; and a stub that takes 10 s (the VPC DNS still asked first)
// is not working DNS even if every listed server answers a direct probe.
func TestVerifyPublicDNSThroughStub(t *testing.T) {
	root := dnsFixture(t, map[string]string{
		"/run/systemd/resolve/stub-resolv.conf": ubuntuStubResolv,
		"/run/systemd/resolve/resolv.conf":      "nameserver 223.5.5.5\nnameserver 100.100.2.136\n",
	}, nil, map[string]string{"/etc/resolv.conf": "../run/systemd/resolve/stub-resolv.conf"})
	cases := []struct {
		name    string
		dnsStep checks.Status
		stub    func(context.Context) (bool, time.Duration, string)
		want    bool
	}{
		{"per-link VPC listed, stub fast", checks.Fail, func(context.Context) (bool, time.Duration, string) {
			return true, 28 * time.Millisecond, "NOERROR 93.184.215.14"
		}, true},
		{"every server answers, stub slow", checks.Pass, func(context.Context) (bool, time.Duration, string) {
			return true, 10300 * time.Millisecond, "NOERROR 93.184.215.14"
		}, false},
		{"stub does not answer", checks.Pass, func(context.Context) (bool, time.Duration, string) {
			return false, 3 * time.Second, "timeout"
		}, false},
		{"no way to ask the stub: the DNS step decides", checks.Fail, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &Host{Root: root, StubLookup: tc.stub, Diagnose: func(context.Context) checks.Report {
				return checks.Report{Cloud: ecsReport().Cloud, Steps: []checks.Finding{{ID: "dns", Status: tc.dnsStep}}}
			}}
			if v := Verify(context.Background(), h, PublicDNSID, nil); v.Passed != tc.want || v.DNS != tc.want {
				t.Errorf("passed %v, dns %v, want %v; details %v", v.Passed, v.DNS, tc.want, v.Details)
			}
		})
	}
}
