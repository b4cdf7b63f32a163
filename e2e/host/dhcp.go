package host

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/lab"
)

// ecsMAC is the lab's eth0 address (lab.Up): DHCP leases it ECSAddr.
const ecsMAC = "00:16:3e:00:01:0a"

// startDHCP serves DHCP on the VPC side of the lab's veth, as the ECS VPC
// does: the instance's address, the gateway, and the VPC DNS 100.100.2.136
// and .138 (DNS itself stays with the lab's servers: --port=0). dnsmasq is
// Debian's dnsmasq-base, the binary alone, never a service on this machine.
func (h *Host) startDHCP(renew time.Duration) error {
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		return ErrUnavailable{"the resolver-manager hosts need a DHCP server: apt install dnsmasq-base"}
	}
	dir := filepath.Join(h.Lab.Dir, "dhcp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := []string{"netns", "exec", h.Lab.VPC(), bin, "--keep-in-foreground", "--port=0",
		"--interface=veth-ecs", "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		"--dhcp-authoritative", "--dhcp-range=" + lab.ECSAddr + "," + lab.ECSAddr + ",255.255.255.0,1h",
		"--dhcp-host=" + ecsMAC + "," + lab.ECSAddr,
		"--dhcp-option=option:router," + lab.GatewayAddr,
		"--dhcp-option=option:dns-server," + lab.InternalDNS1 + "," + lab.InternalDNS2,
		"--dhcp-leasefile=" + filepath.Join(dir, "leases"), "--pid-file=" + filepath.Join(dir, "pid"),
		"--log-facility=" + filepath.Join(dir, "log"), "--log-dhcp"}
	if renew > 0 {
		// dnsmasq's shortest lease is 2 minutes; T1 and T2 may be shorter.
		s := int(renew.Seconds())
		args = append(args, fmt.Sprintf("--dhcp-option=option:T1,%d", s), fmt.Sprintf("--dhcp-option=option:T2,%d", 2*s))
	}
	cmd := exec.Command("ip", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dnsmasq: %w", err)
	}
	h.dhcp = cmd
	go func() { _ = cmd.Wait() }()
	time.Sleep(100 * time.Millisecond)
	if cmd.ProcessState != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "log"))
		return fmt.Errorf("dnsmasq exited at start: %s", b)
	}
	return nil
}

// DHCPAcks counts the leases dnsmasq has acknowledged: a renewal adds one.
func (h *Host) DHCPAcks() int {
	b, _ := os.ReadFile(filepath.Join(h.Lab.Dir, "dhcp", "log"))
	return strings.Count(string(b), "DHCPACK(")
}

func (h *Host) stopDHCP() {
	if h.dhcp != nil && h.dhcp.Process != nil {
		_ = syscall.Kill(-h.dhcp.Process.Pid, syscall.SIGTERM)
	}
}

// DHCPLog is dnsmasq's log, for failure messages.
func (h *Host) DHCPLog() string {
	b, _ := os.ReadFile(filepath.Join(h.Lab.Dir, "dhcp", "log"))
	return harness.Tail(b, 30)
}
