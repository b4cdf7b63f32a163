package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tsdoctor/tsdoctor/lab"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/key"
)

// Router is a second real tailscaled on the tailnet, in its own namespace
// hanging off the VPC (172.16.2.0/24), that the control server makes a
// subnet router or an exit node: what brings routes over the VPC's
// services into the ECS node's table 52.
type Router struct {
	NS      string
	Dir     string
	bins    string   // the real tailscaled and tailscale
	control *Control // approves its routes
	node    *Node    // the ECS node, when it is a harness Node (MasqueradeAs)
	cmd     *exec.Cmd
	exited  chan struct{}
	log     *os.File
}

// Router addresses: its own link to the VPC namespace.
const (
	routerVPCSide = "172.16.2.1"
	routerAddr    = "172.16.2.10"
)

// StartRouter starts the second node and logs it in (hostname vpc-router).
// It serves no routes until SetRoutes.
func (n *Node) StartRouter(ctx context.Context) (*Router, error) {
	r, err := StartRouter(ctx, n.Lab, n.Bins, n.Control)
	if r != nil {
		r.node = n
	}
	return r, err
}

// StartRouter starts the second node beside any ECS server of lab l (a
// harness Node, or a booted host in the same lab), with the binaries in
// bins, logged in to c.
func StartRouter(ctx context.Context, l *lab.Lab, bins string, c *Control) (r *Router, err error) {
	r = &Router{NS: l.Prefix + "-rtr", Dir: filepath.Join(l.Dir, "router"), bins: bins, control: c}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.Close())
			r = nil
		}
	}()
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return r, err
	}
	if out, err := exec.Command("ip", "netns", "add", r.NS).CombinedOutput(); err != nil {
		return r, fmt.Errorf("ip netns add %s: %v: %s", r.NS, err, out)
	}
	batch := func(ns string, cmds ...string) error {
		c := exec.Command("ip", "-n", ns, "-batch", "-")
		c.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("ip -n %s -batch: %v: %s", ns, err, out)
		}
		return nil
	}
	if err := batch(r.NS, "link set lo up",
		"link add eth0 type veth peer name veth-rtr netns "+l.VPC(),
		"addr add "+routerAddr+"/24 dev eth0", "link set eth0 up", "route add default via "+routerVPCSide); err != nil {
		return r, err
	}
	if err := batch(l.VPC(), "addr add "+routerVPCSide+"/24 dev veth-rtr", "link set veth-rtr up"); err != nil {
		return r, err
	}
	if r.log, err = os.OpenFile(filepath.Join(r.Dir, "tailscaled.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		return r, err
	}
	args := []string{"netns", "exec", r.NS, "env", "-i", "HOME=" + r.Dir, "TS_LOGS_DIR=" + r.Dir, "TS_DEBUG_FIREWALL_MODE=iptables",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		filepath.Join(bins, "tailscaled"), "--tun=tailscale0", "--statedir=" + r.Dir, "--socket=" + r.socket(), "--no-logs-no-support"}
	r.cmd = exec.Command("ip", args...)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return r, fmt.Errorf("start the router's tailscaled: %w", err)
	}
	r.exited = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	for {
		if _, err := os.Stat(r.socket()); err == nil {
			break
		}
		select {
		case <-r.exited:
			return r, errors.New("the router's tailscaled exited at start")
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if out, err := r.CLI(ctx, "up", "--login-server="+c.URL, "--authkey=tskey-lab", "--hostname=vpc-router",
		"--accept-dns=false", "--timeout=60s"); err != nil {
		return r, fmt.Errorf("router: tailscale up: %w\n%s", err, out)
	}
	return r, nil
}

func (r *Router) socket() string { return filepath.Join(r.Dir, "tailscaled.sock") }

// CLI runs the real tailscale CLI against the router's tailscaled.
func (r *Router) CLI(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"netns", "exec", r.NS, filepath.Join(r.bins, "tailscale"), "--socket=" + r.socket()}, args...)
	return exec.CommandContext(ctx, "ip", full...).CombinedOutput()
}

type routerStatus struct {
	Self struct {
		PublicKey    key.NodePublic
		DNSName      string
		TailscaleIPs []netip.Addr
	}
}

func (r *Router) status(ctx context.Context) (routerStatus, error) {
	var st routerStatus
	out, err := r.CLI(ctx, "status", "--json")
	if err != nil {
		return st, fmt.Errorf("router: tailscale status: %w\n%s", err, out)
	}
	return st, json.Unmarshal(out, &st)
}

// Name is the router's MagicDNS name, as peers see it (no trailing dot).
func (r *Router) Name(ctx context.Context) (string, error) {
	st, err := r.status(ctx)
	return strings.TrimSuffix(st.Self.DNSName, "."), err
}

// IPv4 is the router's Tailscale address.
func (r *Router) IPv4(ctx context.Context) (netip.Addr, error) {
	st, err := r.status(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range st.Self.TailscaleIPs {
		if a.Is4() {
			return a, nil
		}
	}
	return netip.Addr{}, errors.New("router has no IPv4 Tailscale address")
}

// SetRoutes advertises prefixes from the router and has the control server
// approve them (testcontrol's SetSubnetRoutes), as a tailnet admin would:
// 100.100.2.0/24 makes it a subnet router for the VPC DNS, 0.0.0.0/0 and
// ::/0 an exit node.
func (r *Router) SetRoutes(ctx context.Context, prefixes ...netip.Prefix) error {
	var ps []string
	exit := false
	for _, p := range prefixes {
		if p.Bits() == 0 {
			exit = true
			continue
		}
		ps = append(ps, p.String())
	}
	args := []string{"set", "--advertise-routes=" + strings.Join(ps, ","), fmt.Sprintf("--advertise-exit-node=%v", exit)}
	if out, err := r.CLI(ctx, args...); err != nil {
		return fmt.Errorf("router: tailscale %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	st, err := r.status(ctx)
	if err != nil {
		return err
	}
	r.control.SetSubnetRoutes(st.Self.PublicKey, prefixes)
	return nil
}

// Close stops the router's tailscaled and removes its namespace.
func (r *Router) Close() error {
	var errs []error
	if r.cmd != nil && r.cmd.Process != nil && r.exited != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
			errs = append(errs, errors.New("the router's tailscaled ignored SIGTERM"))
		}
	}
	if r.log != nil {
		r.log.Close()
	}
	if out, err := exec.Command("ip", "netns", "del", r.NS).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
		errs = append(errs, fmt.Errorf("ip netns del %s: %v: %s", r.NS, err, out))
	}
	return errors.Join(errs...)
}

// MasqueradeAs makes the control server show the router to the ECS node
// with the address a instead of its own (testcontrol's masquerade pairs):
// a peer whose Tailscale address is a VPC service's, so tailscaled routes
// that address into tailscale0.
func (r *Router) MasqueradeAs(ctx context.Context, a netip.Addr) error {
	if r.node == nil {
		return errors.New("MasqueradeAs needs the ECS node started by the harness")
	}
	rst, err := r.status(ctx)
	if err != nil {
		return err
	}
	out, err := r.node.CLI(ctx, "status", "--json")
	if err != nil {
		return fmt.Errorf("tailscale status: %w\n%s", err, out)
	}
	var nst routerStatus
	if err := json.Unmarshal(out, &nst); err != nil {
		return err
	}
	r.control.SetMasqueradeAddresses([]testcontrol.MasqueradePair{{Node: rst.Self.PublicKey, Peer: nst.Self.PublicKey, NodeMasqueradesAs: a}})
	return nil
}

// TB is the part of testing.TB the harness uses.
type TB interface {
	Cleanup(func())
	Failed() bool
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
}

// StopOnCleanup stops the router when the test ends, before whatever was
// registered earlier (cleanups run last first), with the tail of its
// tailscaled's log when the test failed.
func (r *Router) StopOnCleanup(t TB) {
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(r.Dir, "tailscaled.log")); err == nil {
				lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
				t.Logf("router tailscaled log (tail):\n%s", strings.Join(lines[max(0, len(lines)-15):], "\n"))
			}
		}
		if err := r.Close(); err != nil {
			t.Errorf("stop the router: %v", err)
		}
	})
}
