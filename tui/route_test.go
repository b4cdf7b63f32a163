package tui

import (
	"context"
	"net/netip"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// routeEngine is a host whose table 52 sends the VPC DNS into tailscale0
// (peer vpc-router's accepted subnet route); no rule is to blame.
type routeEngine struct{ fakeEngine }

func routeReport() checks.Report {
	rep := fakeReport()
	dns1 := netip.MustParseAddr("100.100.2.136")
	rep.Culprit = nil
	rep.Route = &checks.RouteCapture{Service: dns1, Table: 52, Prefix: netip.MustParsePrefix("100.100.2.0/24"), Device: "tailscale0",
		Peer: "vpc-router.tail1234.ts.net", Reason: checks.ReasonSubnetRoute}
	rep.Blocked = []checks.BlockedService{{Address: dns1, Port: 53, Service: "dns", Cause: checks.CauseRoute}}
	for i, f := range rep.Steps {
		if f.ID == "dns" {
			rep.Steps[i].Summary = i18n.M("dns.sum.captured", 2, 2)
			rep.Steps[i].Explain = "explain.routing"
			rep.Steps[i].Evidence = []i18n.Msg{
				i18n.M("probe.captured", "100.100.2.136 (DNS/UDP)", "tailscale0", "100.100.2.0/24", "52"),
				i18n.M("route.captured", dns1, "100.100.2.0/24", "52", "tailscale0"),
				i18n.M("route.why.subnet", "100.100.2.0/24", "vpc-router.tail1234.ts.net"),
			}
		}
	}
	return rep
}

func (e *routeEngine) Diagnose(ctx context.Context, progress func(checks.Finding)) checks.Report {
	rep := routeReport()
	for _, f := range rep.Steps {
		progress(f)
	}
	return rep
}

// TestRouteBranch: the DNS step says the queries are sent into tailscale0,
// its explanation teaches table 52, and the recommended remedy is 7.
func TestRouteBranch(t *testing.T) {
	for _, c := range []struct {
		l                                   i18n.Lang
		header, dns, why, remedy, recommend string
	}{
		{i18n.EN, "Blocked: Tailscale's routes", "sent into tailscale0", "table 52", "7 ★ Route the VPC", "Recommended: the VPC services are routed into tailscale0"},
		{i18n.ZH, "被拦截：Tailscale 的路由", "被送进了 tailscale0", "52 号表", "7 ★ 让 VPC 服务绕开", "推荐：VPC 服务被路由表 52 中的"},
	} {
		t.Run(string(c.l), func(t *testing.T) {
			d := newDriver(t, &routeEngine{fakeEngine{root: true}}, c.l, 120, 40)
			d.want(c.header)
			d.press("enter")
			d.want(c.dns)
			d.press("w")
			d.want(c.why, "5270")
			d.press("w", "enter", "enter", "n", "enter", "enter")
			d.want(c.remedy, c.recommend)
		})
	}
}
