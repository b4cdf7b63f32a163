package wire

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/cloud"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// TestCheckCulpritKinds: a rule culprit is kind "rule" with its place in
// the firewall; a route culprit is kind "route" with the route's table,
// prefix, device, peer and reason; a report with both shows the rule.
func TestCheckCulpritKinds(t *testing.T) {
	rule := &firewall.Rule{ChainRef: firewall.ChainRef{Backend: firewall.IptablesNFT, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"},
		Position: 5, Text: "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP", Packets: 7}
	route := &checks.RouteCapture{Service: netip.MustParseAddr("100.100.2.136"), Table: 52, Prefix: netip.MustParsePrefix("100.100.2.0/24"),
		Device: "tailscale0", Peer: "router.tail1234.ts.net", Reason: checks.ReasonSubnetRoute}

	c := CheckOf(checks.Report{Verdict: checks.Blocked, Culprit: rule}, i18n.EN).Culprit
	if c == nil || *c != (Culprit{Kind: "rule", Backend: firewall.IptablesNFT, Family: firewall.IPv4, Table: "filter", Chain: "ts-input",
		Position: 5, Rule: rule.Text, Packets: 7}) {
		t.Errorf("rule culprit %+v", c)
	}
	c = CheckOf(checks.Report{Verdict: checks.Blocked, Route: route}, i18n.EN).Culprit
	if c == nil || *c != (Culprit{Kind: "route", Table: "52", Prefix: "100.100.2.0/24", Device: "tailscale0",
		Peer: "router.tail1234.ts.net", Reason: checks.ReasonSubnetRoute, Service: "100.100.2.136"}) {
		t.Errorf("route culprit %+v", c)
	}
	if c := CheckOf(checks.Report{Culprit: rule, Route: route}, i18n.EN).Culprit; c == nil || c.Kind != "rule" {
		t.Errorf("rule and route: culprit %+v, want the rule", c)
	}
}

// TestCheckShape: the lists the schema requires are never null, the
// paths of every step are listed together, messages are in the language
// asked for, and a healthy report has no culprit.
func TestCheckShape(t *testing.T) {
	p := func(src string) nftrace.Path {
		return nftrace.Path{Packet: nftrace.Packet{Src: netip.MustParseAddr(src)}}
	}
	rep := checks.Report{Verdict: checks.Error, Hint: i18n.Raw("run as root"), Steps: []checks.Finding{
		{ID: "trace", Status: checks.Pass, Summary: i18n.Raw("traced"), Evidence: []i18n.Msg{i18n.Raw("e1"), i18n.Raw("e2")}, Paths: []nftrace.Path{p("100.100.2.136"), p("100.100.2.138")}},
		{ID: "rules", Status: checks.Warn, Summary: i18n.Raw("rules"), Commands: []string{"iptables -S"}, Paths: []nftrace.Path{p("100.100.100.200")}},
	}}
	j := CheckOf(rep, i18n.EN)
	if j.Schema != SchemaCheckV1 || j.Culprit != nil || j.Blocked == nil || j.Hint != "run as root" {
		t.Errorf("check %+v", j)
	}
	if len(j.Paths) != 3 || j.Paths[2].Packet.Src.String() != "100.100.100.200" {
		t.Errorf("paths %+v", j.Paths)
	}
	if j.Steps[0].Commands == nil || strings.Join(j.Steps[0].Evidence, ",") != "e1,e2" || j.Steps[1].Commands[0] != "iptables -S" {
		t.Errorf("steps %+v", j.Steps)
	}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"blocked":[]`, `"culprit":null`, `"commands":[]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("check/v1 lacks %s:\n%s", want, b)
		}
	}
}

// TestCheckHost: host.cloud is the detected profile's id and detected_by
// what said so; a report with no detection says unknown.
func TestCheckHost(t *testing.T) {
	rep := checks.Report{Verdict: checks.Healthy, Cloud: cloud.Detection{Profile: *cloud.Lookup("huawei"), DetectedBy: "dmi:sys_vendor"}}
	if got := CheckOf(rep, i18n.EN).Host; got != (Host{Cloud: "huawei", DetectedBy: "dmi:sys_vendor"}) {
		t.Errorf("host %+v", got)
	}
	if got := CheckOf(checks.Report{Verdict: checks.Healthy}, i18n.EN).Host; got != (Host{Cloud: "unknown"}) {
		t.Errorf("no detection: host %+v", got)
	}
}
