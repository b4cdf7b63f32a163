// Package host boots a real Debian 12 with systemd as PID 1 in the lab's
// ECS namespace (systemd-nspawn), so the remedies meet upstream's
// tailscaled.service, the real resolver managers and tsdoctor's own .deb.
// The roots are built once with debootstrap from the Debian mirror apt
// already uses and cached outside the repository; every boot runs on an
// overlay, so the cached root stays clean.
package host

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
)

// Variants of the root: each carries one resolver manager, really installed.
const (
	Static         = "static"         // nothing manages resolv.conf
	Resolved       = "resolved"       // systemd-resolved, systemd-networkd and netplan.io
	NetworkManager = "networkmanager" // NetworkManager
	Ifupdown       = "ifupdown"       // ifupdown + isc-dhcp-client (dhclient)
)

// basePackages go into every root: systemd to boot, the firewall tools
// tailscaled and tsdoctor use, and what a user meets the package with (man,
// bash completion, sudo, tmux for the wizard test).
var basePackages = []string{
	"systemd", "systemd-sysv", "dbus", "iproute2", "iptables", "nftables", "procps",
	"man-db", "bash-completion", "sudo", "tmux", "kmod",
}

// variantPackages are installed on top of the base root for each variant.
var variantPackages = map[string][]string{
	Static: nil,
	// netplan apply needs udevadm, as on every real host with netplan.
	Resolved:       {"systemd-resolved", "netplan.io", "udev"},
	NetworkManager: {"network-manager"},
	Ifupdown:       {"ifupdown", "isc-dhcp-client"},
}

// variantScripts run in the root after its packages are installed.
var variantScripts = map[string]string{
	// A container has no udevd and a read-only /sys: `udevadm trigger`
	// (which netplan apply runs to have udevd re-run its rules) fails there,
	// and would write uevents of devices outside the container. The rest of
	// udevadm (netplan's test-builtin net_setup_link) stays the real one.
	Resolved: `dpkg-divert --local --rename --divert /usr/bin/udevadm.distrib --add /usr/bin/udevadm
printf '#!/bin/sh\n# tsdoctor e2e: no udevd in a container; trigger is a no-op.\n[ "$1" = trigger ] && exit 0\nexec /usr/bin/udevadm.distrib "$@"\n' > /usr/bin/udevadm
chmod 755 /usr/bin/udevadm`,
}

// Variants lists them in build order.
var Variants = []string{Static, Resolved, NetworkManager, Ifupdown}

// RootsDir holds the built roots (one directory per variant, plus "base").
func RootsDir() string { return filepath.Join(harness.CacheDir(), "roots") }

// ErrUnavailable says why booted hosts cannot run here; tests skip on it.
type ErrUnavailable struct{ Reason string }

func (e ErrUnavailable) Error() string { return e.Reason }

// Available reports why a booted host cannot run here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return ErrUnavailable{"a booted host needs root (debootstrap, systemd-nspawn, network namespaces): run as root, as CI does"}
	}
	for _, tool := range []string{"systemd-nspawn", "debootstrap", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return ErrUnavailable{"no " + tool + " on PATH: apt install systemd-container debootstrap util-linux"}
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return ErrUnavailable{"no /dev/net/tun: tailscaled in the booted host needs a tun device"}
	}
	return nil
}

// Mirror is the Debian mirror apt on this machine uses (deb822
// debian.sources first, then sources.list), so the roots come from where
// the packages of the machine itself come from.
func Mirror() string {
	if f, err := os.Open("/etc/apt/sources.list.d/debian.sources"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "URIs:"); ok {
				for _, u := range strings.Fields(v) {
					if !strings.Contains(u, "security") {
						return u
					}
				}
			}
		}
	}
	if b, err := os.ReadFile("/etc/apt/sources.list"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == "deb" && !strings.Contains(f[1], "security") {
				return f[1]
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// BuildTimes records how long each root took to build in this process
// (zero: it was cached), for the report.
var BuildTimes = map[string]time.Duration{}

// Root returns the directory of the variant's root, building it (and the
// base it derives from) the first time. Parallel callers and test binaries
// build once: a lock file serialises them and a finished root is renamed
// into place whole, so a half-built root is never used.
func Root(ctx context.Context, variant string, logf func(string, ...any)) (string, error) {
	if _, ok := variantPackages[variant]; !ok {
		return "", fmt.Errorf("unknown root variant %q (have %s)", variant, strings.Join(Variants, ", "))
	}
	if err := Available(); err != nil {
		return "", err
	}
	dir := filepath.Join(RootsDir(), variant)
	if complete(dir, spec(variant)) {
		return dir, nil
	}
	if err := os.MkdirAll(RootsDir(), 0o755); err != nil {
		return "", err
	}
	err := harness.Locked(filepath.Join(RootsDir(), ".lock"), func() error {
		if complete(dir, spec(variant)) { // built by someone else while we waited
			return nil
		}
		base := filepath.Join(RootsDir(), "base")
		if !complete(base, spec("base")) {
			start := time.Now()
			if err := buildBase(ctx, base, logf); err != nil {
				return err
			}
			BuildTimes["base"] = time.Since(start)
		}
		start := time.Now()
		if err := buildVariant(ctx, base, dir, variant, logf); err != nil {
			return err
		}
		BuildTimes[variant] = time.Since(start)
		return nil
	})
	if err != nil {
		return "", err
	}
	return dir, nil
}

// spec says what a root holds; a cached root built from another spec (the
// package lists changed) is built again.
func spec(variant string) string {
	s := "debian bookworm minbase: " + strings.Join(basePackages, " ")
	if variant != "base" {
		s += "; " + variant + ": " + strings.Join(variantPackages[variant], " ")
		if v := variantScripts[variant]; v != "" {
			s += fmt.Sprintf("; script %x", sha256.Sum256([]byte(v)))
		}
	}
	return s
}

// complete: a finished root has the stamp, written last, with its spec.
func complete(dir, spec string) bool {
	b, err := os.ReadFile(filepath.Join(dir, stamp))
	first, _, _ := strings.Cut(string(b), "\n")
	return err == nil && first == spec
}

const stamp = "etc/tsdoctor-e2e-root"

func buildBase(ctx context.Context, dir string, logf func(string, ...any)) error {
	tmp := dir + ".build"
	_ = os.RemoveAll(tmp)
	logf("building the Debian 12 root with debootstrap from %s (once, about 2 minutes)", Mirror())
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(basePackages, ","), "bookworm", tmp, Mirror())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap: %w\n%s", err, harness.Tail(out, 30))
	}
	if err := settle(tmp); err != nil {
		return err
	}
	return finish(tmp, dir, "base", spec("base"))
}

// settle makes a root boot quietly in a container and keeps what the tests
// compare stable.
func settle(root string) error {
	files := map[string]string{
		"etc/hostname": "ecs-booted\n",
		"etc/hosts":    "127.0.0.1 localhost\n127.0.1.1 ecs-booted\n",
		// The apt cache of the build is of no use inside: no mirror is
		// reachable from the lab.
		"etc/apt/apt.conf.d/99tsdoctor-e2e": "APT::Install-Recommends \"false\";\n",
	}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			return err
		}
	}
	// A fresh machine-id per boot would be fine, but one fixed id keeps the
	// journal in one place across reboots.
	_ = os.WriteFile(filepath.Join(root, "etc/machine-id"), []byte("b00743d0c7cf4c5a9e2f1d3a5b6c7d8e\n"), 0o444)
	// Units that cannot work in a container, or would wait for hardware.
	for _, u := range []string{"systemd-timesyncd.service", "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer", "man-db.timer"} {
		_ = os.Symlink("/dev/null", filepath.Join(root, "etc/systemd/system", u))
	}
	return nil
}

func buildVariant(ctx context.Context, base, dir, variant string, logf func(string, ...any)) error {
	tmp := dir + ".build"
	_ = os.RemoveAll(tmp)
	logf("building root variant %s: base + %v", variant, variantPackages[variant])
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", base, tmp).CombinedOutput(); err != nil {
		return fmt.Errorf("copy the base root: %w\n%s", err, out)
	}
	_ = os.Remove(filepath.Join(tmp, stamp))
	if pkgs := variantPackages[variant]; len(pkgs) > 0 {
		// In a non-booting container with the machine's own network:
		// apt needs /proc and /dev, and no service starts there.
		script := "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq " +
			strings.Join(pkgs, " ") + "; apt-get clean\n" + variantScripts[variant]
		cmd := exec.CommandContext(ctx, "systemd-nspawn", "-q", "-D", tmp, "--register=no", "--keep-unit",
			"--resolv-conf=replace-host", "--timezone=off", "sh", "-c", script)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("install %v into the %s root: %w\n%s", pkgs, variant, err, harness.Tail(out, 30))
		}
	}
	if err := configure(tmp, variant); err != nil {
		return err
	}
	return finish(tmp, dir, variant, spec(variant))
}

// configure gives each variant the resolv.conf an ECS image of its kind
// starts with: systemd-resolved's package links it to the stub; the others
// get the DHCP-written file (their managers rewrite it from the lease; the
// tests configure the managers themselves).
func configure(root, variant string) error {
	rc := filepath.Join(root, "etc/resolv.conf")
	switch variant {
	case Resolved:
		// systemd-resolved's package links resolv.conf to its stub, as on
		// Ubuntu; keep that.
		return nil
	default:
		_ = os.Remove(rc)
		return os.WriteFile(rc, []byte(VPCResolvConf), 0o644)
	}
}

// VPCResolvConf is resolv.conf as DHCP on ECS writes it.
const VPCResolvConf = "nameserver 100.100.2.136\nnameserver 100.100.2.138\noptions timeout:2 attempts:3 rotate single-request-reopen\n"

func finish(tmp, dir, name, spec string) error {
	if err := os.WriteFile(filepath.Join(tmp, stamp), []byte(spec+"\nbuilt "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if !complete(dir, spec) {
		return errors.New("root " + name + " built but incomplete in " + dir)
	}
	return nil
}
