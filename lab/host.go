package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Host is how the lab's server presents itself to tsdoctor's cloud
// detection (package cloud), which reads --ecs, DMI (/sys/class/dmi/id) and
// the resolvers. Hosts that are not detected as an instance behave
// differently (the metadata service is not probed), another cloud has
// other resolvers and wording, and a host on an ISP's carrier-grade NAT
// has no cloud at all, so the lab offers every shape.
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
	// HostHuawei: a Huawei Cloud ECS: DMI sys_vendor "HUAWEI CLOUD", its
	// private DNS 100.125.1.250 and 100.125.129.250.
	HostHuawei Host = "huawei"
	// HostISP: no cloud: a generic machine behind an ISP's carrier-grade
	// NAT (at home, on Starlink) whose resolver is in 100.64.0.0/10.
	HostISP Host = "cgnat-isp"
)

// Hosts are the shapes, the default first.
var Hosts = []Host{HostECSDMI, HostPlain, HostECSFlag, HostHuawei, HostISP}

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
		return "not ECS: DMI says " + plainVendor + ", no --ecs (Alibaba Cloud only by its resolvers)"
	case HostECSFlag:
		return "ECS by --ecs (TSDOCTOR_ECS=1), DMI as on this machine"
	case HostHuawei:
		return "Huawei Cloud: DMI sys_vendor " + huaweiVendor + ", DNS " + HuaweiDNS1 + " " + HuaweiDNS2
	case HostISP:
		return "no cloud: DMI says " + plainVendor + ", resolver " + ISPDNS + " (an ISP's carrier-grade NAT)"
	}
	return "ECS detected through DMI (sys_vendor " + ecsVendor + ")"
}

// ECS reports whether tsdoctor should take this host for an Alibaba Cloud
// ECS instance (and probe its metadata service).
func (h Host) ECS() bool { return h == HostECSDMI || h == HostECSFlag }

// Cloud is the cloud tsdoctor should name (host.cloud).
func (h Host) Cloud() string {
	switch h {
	case HostHuawei:
		return "huawei"
	case HostISP:
		return "unknown"
	}
	return "alibaba"
}

// Resolvers are the server's resolvers on this shape.
func (h Host) Resolvers() []string {
	switch h {
	case HostHuawei:
		return []string{HuaweiDNS1, HuaweiDNS2}
	case HostISP:
		return []string{ISPDNS}
	}
	return []string{InternalDNS1, InternalDNS2}
}

// Huawei Cloud's private DNS (cloud/profiles.yaml) and a CGNAT ISP's resolver.
const (
	HuaweiDNS1 = "100.125.1.250"
	HuaweiDNS2 = "100.125.129.250"
	ISPDNS     = "100.64.0.1"
)

// internalDNS are every shape's resolvers: the VPC namespace serves all of
// them, each shape's resolv.conf names its own.
var internalDNS = []string{InternalDNS1, InternalDNS2, HuaweiDNS1, HuaweiDNS2, ISPDNS}

const (
	ecsVendor, ecsProduct     = "Alibaba Cloud", "Alibaba Cloud ECS"
	huaweiVendor              = "HUAWEI CLOUD"
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
	switch l.Host {
	case HostECSDMI:
		vendor, product = ecsVendor, ecsProduct
	case HostHuawei:
		vendor = huaweiVendor
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
