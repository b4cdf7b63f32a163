package lab

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/hostinfo"
)

// hostShape answers `<binary> hostshape` inside the lab: what tsdoctor's
// own ECS detection (hostinfo, the code the check runs) sees, the flag's
// environment, and whether the rest of /sys/class still shows through.
func hostShape() int {
	_, err := os.Stat("/sys/class/net/eth0")
	fmt.Printf("dmi=%v env=%v net=%v\n", hostinfo.DefaultPaths.IsAlibabaECS(), os.Getenv("TSDOCTOR_ECS") == "1", err == nil)
	return 0
}

// TestHostShapes: each shape looks to tsdoctor's real detection code as it
// says, inside the lab only: the host's own /sys stays as it was.
func TestHostShapes(t *testing.T) {
	requireLab(t)
	before, _ := os.ReadFile("/sys/class/dmi/id/sys_vendor")
	hostDMI := hostinfo.DefaultPaths.IsAlibabaECS()
	for _, c := range []struct {
		host Host
		want string
	}{
		{HostECSDMI, "dmi=true env=false net=true"},
		{HostPlain, "dmi=false env=false net=true"},
		{HostECSFlag, fmt.Sprintf("dmi=%v env=true net=true", hostDMI)},
	} {
		t.Run(string(c.host), func(t *testing.T) {
			t.Parallel()
			l := upLabHost(t, testPrefix(t), Scenario{Name: "no-tailscale"}, c.host)
			out, errs, err := inECS(t, l, self(), "hostshape")
			if err != nil || strings.TrimSpace(out) != c.want {
				t.Errorf("inside the lab: %q (%v %s), want %q", out, err, errs, c.want)
			}
			if c.host.ECS() != (strings.Contains(out, "dmi=true") || strings.Contains(out, "env=true")) {
				t.Errorf("%s: ECS() %v, but tsdoctor sees %q", c.host, c.host.ECS(), out)
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
