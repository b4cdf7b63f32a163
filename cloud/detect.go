package cloud

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Host is what detection looks at.
type Host struct {
	// DMI maps a field (sys_vendor, product_name, chassis_asset_tag) to
	// its value.
	DMI map[string]string
	// Flags are the command-line flags given that name a cloud (--ecs).
	Flags []string
	// Resolvers are the host's resolvers (and those behind a local stub).
	Resolvers []netip.Addr
}

// Detection is the answer: the profile (Unknown when nothing matched) and
// what gave it away: "flag:--ecs", "dmi:sys_vendor", "resolver:100.125.1.250",
// or "" for unknown.
type Detection struct {
	Profile    Profile
	DetectedBy string
}

// Instance reports whether the host is known to be an instance of the cloud
// (by DMI or a flag), not merely using its resolvers: only then are the
// cloud's other services (metadata) a dependency worth probing.
func (d Detection) Instance() bool {
	return strings.HasPrefix(d.DetectedBy, "dmi:") || strings.HasPrefix(d.DetectedBy, "flag:")
}

// Detect matches a host against the profiles: a flag first (the admin's
// word), then DMI (the hypervisor's), then the resolvers (the network's).
func Detect(h Host) Detection {
	for _, p := range profiles {
		for _, f := range h.Flags {
			if p.Flag != "" && f == p.Flag {
				return Detection{Profile: p, DetectedBy: "flag:" + f}
			}
		}
	}
	for _, p := range profiles {
		for _, m := range p.DMI {
			if v, ok := h.DMI[m.Field]; ok && m.match(v) {
				return Detection{Profile: p, DetectedBy: "dmi:" + m.Field}
			}
		}
	}
	for _, p := range profiles {
		for _, a := range h.Resolvers {
			if p.IsPrivateDNS(a) {
				return Detection{Profile: p, DetectedBy: "resolver:" + a.String()}
			}
		}
	}
	return Detection{Profile: Profile{ID: Unknown}}
}

// DMIFields are the fields detection reads.
var DMIFields = []string{"sys_vendor", "product_name", "chassis_asset_tag"}

// ReadDMI reads the DMI fields from dir (/sys/class/dmi/id); missing ones
// are left out.
func ReadDMI(dir string) map[string]string {
	out := map[string]string{}
	if dir == "" {
		return out
	}
	for _, f := range DMIFields {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			out[f] = strings.TrimSpace(string(b))
		}
	}
	return out
}
