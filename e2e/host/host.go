package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tsrules"
	"tailscale.com/tailcfg"
)

// Options describe one booted host.
// MagicDNSDomain is the tailnet's MagicDNS domain with Options.MagicDNS:
// the host is ecs-booted.<MagicDNSDomain>.
const MagicDNSDomain = "tail-lab.ts.net"

type Options struct {
	Variant string // root variant: Static, Resolved, NetworkManager, Ifupdown
	Prefix  string // lab namespace prefix, unique among parallel hosts
	Version string // tailscaled version; default 1.102.3
	// Setup writes the test's configuration into the machine before its
	// first boot (resolver manager files, say).
	Setup func(m *Machine) error
	// Deb, if set, is tsdoctor's .deb, installed with `apt install` once
	// the machine is up, as a user would.
	Deb string
	// DHCP serves the lab's address and the VPC DNS over DHCP, for the
	// resolver managers that take their DNS from a lease.
	DHCP bool
	// Renew, with DHCP: the renewal time (T1) the server gives, so a
	// test sees a lease renewed within it (the lease itself stays 1h).
	Renew time.Duration
	// MagicDNS: the control server pushes MagicDNS (no global resolvers)
	// and tailscaled accepts it, so on a host with nothing else managing
	// DNS it writes resolv.conf itself and forwards other names to the
	// resolvers it backed up.
	MagicDNS bool
	Logf     func(string, ...any)
}

// Host is a booted Debian 12 in the lab's ECS namespace, with the real
// tailscaled running from upstream's unit, logged in to the lab's control
// server in the VPC.
type Host struct {
	*Machine
	Lab     *lab.Lab
	Control *harness.Control
	Options

	cancel context.CancelFunc
	dhcp   *exec.Cmd
}

// Start builds or reuses the variant's root, brings up the lab (VPC DNS,
// metadata, public resolvers; no uplink), the control server, boots the
// machine and logs tailscaled in. Close undoes all of it.
func Start(ctx context.Context, o Options) (h *Host, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if o.Version == "" {
		o.Version = "1.102.3"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	root, err := Root(ctx, o.Variant, o.Logf)
	if err != nil {
		return nil, err
	}
	bins, err := harness.Binaries(ctx, o.Version)
	if err != nil {
		return nil, err
	}
	unit, defaults, err := UpstreamUnit()
	if err != nil {
		return nil, err
	}
	l, err := lab.Up(ctx, lab.Options{Prefix: o.Prefix, Scenario: lab.Scenario{Name: "no-tailscale"}})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	h = &Host{Lab: l, Options: o, cancel: cancel}
	defer func() {
		if err != nil {
			if h.Machine != nil {
				err = errors.Join(err, errors.New("console:\n"+h.ConsoleTail()))
			}
			err = errors.Join(err, h.Close())
			h = nil
		}
	}()
	if err := l.Serve(sctx); err != nil {
		return h, err
	}
	if h.Control, err = harness.StartControl(l.VPC(), false, nil); err != nil {
		return h, err
	}
	if o.DHCP {
		if err := h.startDHCP(o.Renew); err != nil {
			return h, err
		}
	}
	if h.Machine, err = NewMachine(o.Prefix, root, l.ECS()); err != nil {
		return h, err
	}
	if err := h.installTailscale(bins, unit, defaults); err != nil {
		return h, err
	}
	if o.Setup != nil {
		if err := o.Setup(h.Machine); err != nil {
			return h, fmt.Errorf("set up the machine: %w", err)
		}
	}
	if err := h.Boot(ctx); err != nil {
		return h, err
	}
	acceptDNS := "--accept-dns=false"
	if o.MagicDNS {
		h.Control.Server.DNSConfig = &tailcfg.DNSConfig{Proxied: true, Domains: []string{MagicDNSDomain}}
		h.Control.Server.MagicDNSDomain = MagicDNSDomain
		acceptDNS = "--accept-dns=true"
	}
	if out, err := h.Exec(ctx, "tailscale", "up", "--login-server="+h.Control.URL, "--authkey=tskey-lab",
		"--hostname=ecs-booted", acceptDNS, "--timeout=60s"); err != nil {
		return h, fmt.Errorf("tailscale up: %w\n%s", err, out)
	}
	if err := h.WaitTailscale(ctx); err != nil {
		return h, err
	}
	if o.Deb != "" {
		if err := h.InstallDeb(ctx, o.Deb); err != nil {
			return h, err
		}
	}
	return h, nil
}

// installTailscale puts the binaries where upstream's packages put them,
// upstream's unit and defaults file, and enables the unit.
func (h *Host) installTailscale(bins string, unit, defaults []byte) error {
	for src, dst := range map[string]string{"tailscaled": "/usr/sbin/tailscaled", "tailscale": "/usr/bin/tailscale"} {
		b, err := os.ReadFile(filepath.Join(bins, src))
		if err != nil {
			return err
		}
		if err := h.WriteFile(dst, b, 0o755); err != nil {
			return err
		}
	}
	if err := h.WriteFile("/lib/systemd/system/tailscaled.service", unit, 0o644); err != nil {
		return err
	}
	// As an admin would in upstream's defaults file: no log uploads. The
	// test host has no way out, and tailscaled would keep trying
	// log.tailscale.com (and bootstrap DNS for it) through the lab.
	defaults = bytes.Replace(defaults, []byte(`FLAGS=""`), []byte(`FLAGS="--no-logs-no-support"`), 1)
	if !bytes.Contains(defaults, []byte("--no-logs-no-support")) {
		return fmt.Errorf("upstream's tailscaled.defaults has no FLAGS=\"\" line to add --no-logs-no-support to")
	}
	if err := h.WriteFile("/etc/default/tailscaled", defaults, 0o644); err != nil {
		return err
	}
	return h.Symlink("/lib/systemd/system/tailscaled.service", "/etc/systemd/system/multi-user.target.wants/tailscaled.service")
}

// UpstreamUnit returns tailscaled.service and tailscaled.defaults from
// tailscale's own source, the module this e2e module builds against.
func UpstreamUnit() (unit, defaults []byte, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "tailscale.com").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("find tailscale.com's source (go list -m tailscale.com, from the e2e module): %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "cmd", "tailscaled")
	if unit, err = os.ReadFile(filepath.Join(dir, "tailscaled.service")); err != nil {
		return nil, nil, err
	}
	if defaults, err = os.ReadFile(filepath.Join(dir, "tailscaled.defaults")); err != nil {
		return nil, nil, err
	}
	return unit, defaults, nil
}

// InstallDeb copies a .deb into the machine and installs it with apt, as
// a user does: `apt install ./tsdoctor_….deb`.
func (h *Host) InstallDeb(ctx context.Context, deb string) error {
	b, err := os.ReadFile(deb)
	if err != nil {
		return err
	}
	in := "/root/" + filepath.Base(deb)
	if err := h.CopyIn(ctx, in, b, 0o644); err != nil {
		return err
	}
	// No mirror is reachable from the lab: apt resolves the dependencies
	// from what is installed.
	if out, err := h.Exec(ctx, "apt-get", "install", "-y", "-q", in); err != nil {
		return fmt.Errorf("apt install %s: %w\n%s", in, err, out)
	}
	return nil
}

// Tailscale is the part of `tailscale status --json` the tests read.
type Tailscale struct {
	BackendState string
}

// WaitTailscale waits until tailscaled is Running and its ts-input chain
// ends with the CGNAT rule (it is installed last).
func (h *Host) WaitTailscale(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last string
	for {
		out, err := h.Command(ctx, "tailscale", "status", "--json").Output()
		var st Tailscale
		switch {
		case err != nil:
			last = fmt.Sprintf("tailscale status: %v %s", err, out)
		case json.Unmarshal(out, &st) != nil:
			last = "tailscale status --json: unreadable"
		case st.BackendState != "Running":
			last = "backend state " + st.BackendState
		default:
			rules, err := h.InputRules(ctx)
			if err == nil && strings.Contains(strings.Join(rules, "\n"), tsrules.CGNAT.String()) {
				return nil
			}
			last = fmt.Sprintf("ts-input not complete: %q %v", rules, err)
		}
		select {
		case <-ctx.Done():
			j, _ := h.Exec(context.Background(), "journalctl", "-u", "tailscaled", "-n", "30", "--no-pager")
			return fmt.Errorf("tailscaled not ready: %s\n%s", last, j)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// InputRules is tailscaled's ts-input chain as `iptables -S` prints it
// inside the machine (tailscaled picks iptables-nft on Debian 12).
func (h *Host) InputRules(ctx context.Context) ([]string, error) {
	return lab.ReadInputRules(ctx, h.Lab.ECS(), lab.ModeIptablesNFT)
}

// Close powers the machine off, stops the control server and removes the
// lab and the machine's overlay.
func (h *Host) Close() error {
	var errs []error
	if h.Machine != nil {
		errs = append(errs, h.Machine.Remove())
	}
	if h.Control != nil {
		h.Control.Close()
	}
	h.stopDHCP()
	if h.cancel != nil {
		h.cancel()
	}
	if h.Lab != nil {
		errs = append(errs, h.Lab.Down())
	}
	return errors.Join(errs...)
}
