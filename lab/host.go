package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Host is how the lab's ECS server presents itself to tsdoctor's detection
// of Alibaba Cloud ECS, which reads DMI (/sys/class/dmi/id) unless --ecs
// says so. Hosts that are not detected as ECS behave differently (the
// metadata service is not probed, the services step finds nothing), so
// the lab offers every shape.
type Host string

const (
	// HostECSDMI: DMI says Alibaba Cloud ECS, as on a real instance; no
	// flag. The default.
	HostECSDMI Host = "ecs-dmi"
	// HostPlain: not ECS: DMI says a generic KVM guest, no flag.
	HostPlain Host = "plain"
	// HostECSFlag: the host's own DMI, and TSDOCTOR_ECS=1 (what --ecs
	// sets) says ECS.
	HostECSFlag Host = "ecs-flag"
)

// Hosts are the shapes, the default first.
var Hosts = []Host{HostECSDMI, HostPlain, HostECSFlag}

// HostNames are the shapes' names, for flags and completions.
func HostNames() []string {
	var out []string
	for _, h := range Hosts {
		out = append(out, string(h))
	}
	return out
}

// ParseHost accepts a shape's name; "" is the default.
func ParseHost(s string) (Host, error) {
	if s == "" {
		return HostECSDMI, nil
	}
	for _, h := range Hosts {
		if string(h) == s {
			return h, nil
		}
	}
	return "", fmt.Errorf("unknown host shape %q: use one of %s", s, strings.Join(HostNames(), ", "))
}

// Description says what tsdoctor sees on this shape.
func (h Host) Description() string {
	switch h {
	case HostPlain:
		return "not ECS: DMI says " + plainVendor + ", no --ecs"
	case HostECSFlag:
		return "ECS by --ecs (TSDOCTOR_ECS=1), DMI as on this machine"
	}
	return "ECS detected through DMI (sys_vendor " + ecsVendor + ")"
}

// ECS reports whether tsdoctor should take this host for ECS.
func (h Host) ECS() bool { return h != HostPlain }

const (
	ecsVendor, ecsProduct     = "Alibaba Cloud", "Alibaba Cloud ECS"
	plainVendor, plainProduct = "QEMU", "Standard PC (i440FX + PIIX, 1996)"
)

// dmiDir holds dmi/id/{sys_vendor,product_name}, laid over /sys/class.
func (l *Lab) dmiDir() string { return filepath.Join(l.Dir, "sysclass") }

// writeDMI writes the DMI the lab's processes see (shapes with their own).
func (l *Lab) writeDMI() error {
	if l.Host == HostECSFlag {
		return nil
	}
	vendor, product := plainVendor, plainProduct
	if l.Host == HostECSDMI {
		vendor, product = ecsVendor, ecsProduct
	}
	id := filepath.Join(l.dmiDir(), "dmi", "id")
	if err := os.MkdirAll(id, 0o755); err != nil {
		return err
	}
	for name, v := range map[string]string{"sys_vendor": vendor, "product_name": product} {
		if err := os.WriteFile(filepath.Join(id, name), []byte(v+"\n"), 0o444); err != nil {
			return err
		}
	}
	return nil
}

// hostArgs prefix every command run in the lab: a private mount namespace
// in which a read-only overlay puts the lab's dmi/id over /sys/class, the
// rest of /sys/class (net, ...) showing through. It must come after
// `ip netns exec`, which mounts a fresh /sys for the namespace.
func (l *Lab) hostArgs() []string {
	if l.Host == HostECSFlag {
		return nil
	}
	script := "mount -t overlay -o " + shellQuote("lowerdir="+l.dmiDir()+":/sys/class") +
		" tsdoctor-lab-dmi /sys/class && exec \"$@\""
	return []string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"}
}

// checkHost proves the shape works here (overlayfs, unshare, mount).
func (l *Lab) checkHost(ctx context.Context) error {
	if l.Host == HostECSFlag {
		return nil
	}
	if strings.ContainsAny(l.dmiDir(), ":,\\") {
		return fmt.Errorf("host shape %s: the lab directory %q may not contain ':', ',' or '\\' (overlayfs options): choose another --prefix", l.Host, l.Dir)
	}
	out, err := l.Command(ctx, "cat", "/sys/class/dmi/id/sys_vendor").CombinedOutput()
	if err != nil {
		return fmt.Errorf("host shape %s needs overlayfs, unshare and mount (util-linux) to show its DMI: %v: %s (or use --host %s)",
			l.Host, err, strings.TrimSpace(string(out)), HostECSFlag)
	}
	return nil
}
