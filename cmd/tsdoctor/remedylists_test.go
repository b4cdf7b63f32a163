package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// TestRemedyListsFromAll: every list of remedies the CLI prints (`fix`
// without --remedy, `fix --help`, the man page, the verdict's "Fix it") is
// generated from fixes.All(), so a new remedy appears in each by itself.
func TestRemedyListsFromAll(t *testing.T) {
	noHost(t)
	var man bytes.Buffer
	cmdMan(nil, &man, &man)
	manText := strings.ReplaceAll(man.String(), `\-`, "-")
	for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
		var stdout, stderr, help bytes.Buffer
		run([]string{"fix", "--lang", string(l)}, &stdout, &stderr)
		run([]string{"fix", "--help"}, &help, &help)
		for _, r := range fixes.All() {
			in := r.Info()
			item := fmt.Sprintf("%d %s", in.ID, in.Short.String(l))
			if !strings.Contains(stderr.String(), item) {
				t.Errorf("`fix --lang %s` lacks %q: %s", l, item, stderr.String())
			}
			if en := fmt.Sprintf("%d %s", in.ID, in.Short.String(i18n.EN)); !strings.Contains(help.String(), en) {
				t.Errorf("`fix --help` lacks %q", en)
			}
			if b := fmt.Sprintf(".B %d (%s)", in.ID, in.Name); !strings.Contains(manText, b) || !strings.Contains(manText, in.Title.String(i18n.EN)) {
				t.Errorf("man page lacks remedy %d (%q)", in.ID, b)
			}
		}
	}

	drop := &firewall.Rule{ChainRef: firewall.ChainRef{Backend: firewall.IptablesNFT, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"},
		Position: 5, Source: netip.MustParsePrefix("100.64.0.0/10"), InIface: "tailscale0", InIfaceNegated: true, Verdict: firewall.Drop,
		Text: "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP"}
	blocked := []checks.BlockedService{{Address: netip.MustParseAddr("100.100.2.136"), Port: 53, Service: "dns"}}
	route := func(r checks.CaptureReason) *checks.RouteCapture {
		return &checks.RouteCapture{Prefix: netip.MustParsePrefix("100.100.2.0/24"), Table: 52, Device: "tailscale0", Reason: r}
	}
	for _, tc := range []struct {
		name string
		rep  checks.Report
		want []string
		not  []string
	}{
		{"the DROP", checks.Report{Verdict: checks.Blocked, Blocked: blocked, Culprit: drop},
			[]string{"--remedy N`: 1 delete the DROP, 2 whitelist, 3 guard, 4 public DNS, 5 netfilter off, 6 node attribute."}, []string{"7 policy"}},
		{"a subnet route", checks.Report{Verdict: checks.Blocked, Blocked: blocked, Route: route(checks.ReasonSubnetRoute)},
			[]string{"--remedy N`: 7 policy rule around table 52, 8 stop accepting subnet routes."}, []string{"exit-node-allow-lan-access", "1 delete"}},
		{"an exit node", checks.Report{Verdict: checks.Blocked, Blocked: blocked, Route: route(checks.ReasonExitNode)},
			[]string{"--remedy 7`: policy rule around table 52.", "exit-node-allow-lan-access does not cover"}, []string{"8 stop"}},
	} {
		var out bytes.Buffer
		printHuman(&out, tc.rep, i18n.EN, false, false)
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: verdict lacks %q:\n%s", tc.name, w, out.String())
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out.String(), w) {
				t.Errorf("%s: verdict has %q:\n%s", tc.name, w, out.String())
			}
		}
	}
}

// TestFixErrorsTranslated: an error from fixes reaches the user in the
// language asked for (it was English inside the Chinese CLI).
func TestFixErrorsTranslated(t *testing.T) {
	noHost(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fix", "--remedy", "2", "--shape", "round", "--lang", "zh"}, "未知的白名单形式 \"round\""},
		{[]string{"fix", "--remedy", "2", "--allow", "8.8.8.8", "--lang", "zh"}, "8.8.8.8 不在 100.64.0.0/10 内"},
		{[]string{"fix", "--remedy", "4", "--dns", "100.100.2.136", "--lang", "zh"}, "100.100.2.136 在 100.64.0.0/10 内"},
		{[]string{"fix", "--remedy", "2", "--shape", "round", "--lang", "en"}, "unknown whitelist shape \"round\""},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("tsdoctor %q: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
