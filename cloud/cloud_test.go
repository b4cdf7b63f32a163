package cloud

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/i18n"
)

func TestProfiles(t *testing.T) {
	ids := map[ID]bool{}
	for _, p := range Profiles() {
		ids[p.ID] = true
		for _, s := range p.Services {
			if !strings.HasPrefix(s.Source, "https://") && !strings.Contains(s.Source, "FIELD-NOTES") {
				t.Errorf("%s: service %s%s cites no URL or field note: %q", p.ID, s.Address, s.Name, s.Source)
			}
		}
	}
	if !ids["alibaba"] || !ids["huawei"] {
		t.Fatalf("profiles = %v, want alibaba and huawei", ids)
	}
	a := Lookup("alibaba")
	if got := a.Resolvers(); len(got) != 2 || got[0] != netip.MustParseAddr("223.5.5.5") {
		t.Errorf("alibaba public resolvers = %v", got)
	}
	if got := Lookup("huawei").Resolvers(); len(got) != 0 {
		t.Errorf("huawei public resolvers = %v: its documentation names none", got)
	}
	if Lookup("nope") != nil {
		t.Error("Lookup of an unknown id found something")
	}
	if got := a.InternalNameList(i18n.ZH); !strings.Contains(got, "OSS 内网 Endpoint（*-internal.aliyuncs.com）、") {
		t.Errorf("zh internal names = %q", got)
	}
}

func TestDetect(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		host Host
		id   ID
		by   string
		inst bool
	}{
		{"ecs by product name", Host{DMI: map[string]string{"product_name": "Alibaba Cloud ECS"}}, "alibaba", "dmi:product_name", true},
		{"ecs by vendor", Host{DMI: map[string]string{"sys_vendor": "Alibaba Cloud\n"}}, "alibaba", "dmi:sys_vendor", true},
		{"--ecs on any hardware", Host{Flags: []string{"--ecs"}, DMI: map[string]string{"sys_vendor": "QEMU"}}, "alibaba", "flag:--ecs", true},
		{"huawei by asset tag", Host{DMI: map[string]string{"chassis_asset_tag": "HUAWEICLOUD"}}, "huawei", "dmi:chassis_asset_tag", true},
		{"huawei by vendor", Host{DMI: map[string]string{"sys_vendor": "HUAWEI CLOUD"}}, "huawei", "dmi:sys_vendor", true},
		{"huawei by resolver", Host{Resolvers: []netip.Addr{ip("100.125.1.250")}}, "huawei", "resolver:100.125.1.250", false},
		{"huawei by resolver range", Host{Resolvers: []netip.Addr{ip("10.0.0.2"), ip("100.125.64.250")}}, "huawei", "resolver:100.125.64.250", false},
		{"alibaba by resolver", Host{DMI: map[string]string{"sys_vendor": "QEMU"}, Resolvers: []netip.Addr{ip("100.100.2.136")}}, "alibaba", "resolver:100.100.2.136", false},
		{"CGNAT ISP resolver", Host{DMI: map[string]string{"sys_vendor": "LENOVO"}, Resolvers: []netip.Addr{ip("100.64.0.1")}}, Unknown, "", false},
		{"nothing", Host{}, Unknown, "", false},
		{"asset tag must be exact", Host{DMI: map[string]string{"chassis_asset_tag": "NOT-HUAWEICLOUD"}}, Unknown, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Detect(tc.host)
			if d.Profile.ID != tc.id || d.DetectedBy != tc.by || d.Instance() != tc.inst {
				t.Errorf("Detect = %s by %q (instance %v), want %s by %q (instance %v)", d.Profile.ID, d.DetectedBy, d.Instance(), tc.id, tc.by, tc.inst)
			}
			if tc.id == Unknown && d.Profile.Known() {
				t.Error("unknown profile says it is known")
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	for name, y := range map[string]string{
		"unknown field":     "profiles:\n  - id: x\n    name: {en: X, zh: X}\n    colour: red\n",
		"no zh name":        "profiles:\n  - id: x\n    name: {en: X}\n",
		"reserved id":       "profiles:\n  - id: unknown\n    name: {en: X, zh: X}\n",
		"service no source": "profiles:\n  - id: x\n    name: {en: X, zh: X}\n    services:\n      - {kind: dns, address: 100.64.0.2, port: 53}\n",
		"service not CGNAT": "profiles:\n  - id: x\n    name: {en: X, zh: X}\n    services:\n      - {kind: dns, address: 10.0.0.2, port: 53, source: s}\n",
		"private resolver":  "profiles:\n  - id: x\n    name: {en: X, zh: X}\n    public_resolvers:\n      - {address: 100.100.2.136, source: s}\n",
		"dmi both":          "profiles:\n  - id: x\n    name: {en: X, zh: X}\n    dmi:\n      - {field: sys_vendor, equals: a, contains: a, source: s}\n",
		"repeated id":       "profiles:\n  - id: x\n    name: {en: X, zh: X}\n  - id: x\n    name: {en: X, zh: X}\n",
	} {
		if _, err := load([]byte(y)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestReadDMI(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/sys_vendor", []byte("HUAWEI CLOUD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := ReadDMI(dir)
	if got["sys_vendor"] != "HUAWEI CLOUD" || len(got) != 1 {
		t.Errorf("ReadDMI = %q", got)
	}
}
