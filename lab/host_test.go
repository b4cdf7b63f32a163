package lab

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/cloud"
	"github.com/tsdoctor/tsdoctor/hostinfo"
)

// hostShape answers `<binary> hostshape` inside the lab: what tsdoctor's
// own cloud detection (package cloud, the code the check runs) makes of
// the DMI, the flag's environment and the resolvers there, and whether the
// rest of /sys/class still shows through.
func hostShape() int {
	_, err := os.Stat("/sys/class/net/eth0")
	h := cloud.Host{DMI: cloud.ReadDMI(hostinfo.DefaultPaths.DMIDir)}
	if os.Getenv("TSDOCTOR_ECS") == "1" {
		h.Flags = []string{"--ecs"}
	}
	rc, _ := hostinfo.ReadResolvConf("/etc/resolv.conf")
	h.Resolvers = rc.Nameservers
	d := cloud.Detect(h)
	fmt.Printf("cloud=%s by=%s instance=%v net=%v\n", d.Profile.ID, d.DetectedBy, d.Instance(), err == nil)
	return 0
}

// TestHostShapes: each shape looks to tsdoctor's real detection code as it
// says, inside the lab only: the host's own /sys stays as it was.
func TestHostShapes(t *testing.T) {
	requireLab(t)
	before, _ := os.ReadFile("/sys/class/dmi/id/sys_vendor")
	for _, c := range []struct {
		host Host
		want string
	}{
		{HostECSDMI, "cloud=alibaba by=dmi:product_name instance=true net=true"},
		{HostPlain, "cloud=alibaba by=resolver:100.100.2.136 instance=false net=true"},
		{HostECSFlag, "cloud=alibaba by=flag:--ecs instance=true net=true"},
		{HostHuawei, "cloud=huawei by=dmi:sys_vendor instance=true net=true"},
		{HostISP, "cloud=unknown by= instance=false net=true"},
	} {
		t.Run(string(c.host), func(t *testing.T) {
			t.Parallel()
			l := upLabHost(t, testPrefix(t), Scenario{Name: "no-tailscale"}, c.host)
			out, errs, err := inECS(t, l, self(), "hostshape")
			if err != nil || strings.TrimSpace(out) != c.want {
				t.Errorf("inside the lab: %q (%v %s), want %q", out, err, errs, c.want)
			}
			if !strings.Contains(out, "cloud="+c.host.Cloud()+" ") || c.host.ECS() != (strings.Contains(out, "cloud=alibaba") && strings.Contains(out, "instance=true")) {
				t.Errorf("%s: Cloud() %s, ECS() %v, but tsdoctor sees %q", c.host, c.host.Cloud(), c.host.ECS(), out)
			}
		})
	}
	t.Cleanup(func() {
		if after, _ := os.ReadFile("/sys/class/dmi/id/sys_vendor"); string(after) != string(before) {
			t.Errorf("the host's DMI changed: %q → %q", before, after)
		}
	})
}

func TestParseHost(t *testing.T) {
	for _, h := range Hosts {
		if got, err := ParseHost(string(h)); err != nil || got != h {
			t.Errorf("ParseHost(%q) = %q, %v", h, got, err)
		}
	}
	if h, err := ParseHost(""); err != nil || h != HostECSDMI {
		t.Errorf("default host %q %v, want %s", h, err, HostECSDMI)
	}
	if _, err := ParseHost("aws"); err == nil || !strings.Contains(err.Error(), "ecs-dmi, plain, ecs-flag") {
		t.Errorf("ParseHost(aws) error %v does not list the shapes", err)
	}
}
