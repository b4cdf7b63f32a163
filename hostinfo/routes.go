package hostinfo

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// Route is one IPv4 route of the main table.
type Route struct {
	Iface   string
	Dst     netip.Prefix
	Gateway netip.Addr // invalid when on-link
}

// ParseProcRoute parses /proc/net/route (main IPv4 table, addresses in
// little-endian hex).
func ParseProcRoute(text string) ([]Route, error) {
	var out []Route
	sc := bufio.NewScanner(strings.NewReader(text))
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue // header
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, e1 := hexAddr(f[1])
		gw, e2 := hexAddr(f[2])
		mask, e3 := hexAddr(f[7])
		if e1 != nil || e2 != nil || e3 != nil {
			return out, fmt.Errorf("/proc/net/route: bad line %q", sc.Text())
		}
		bits, size := net.IPMask(mask.AsSlice()).Size()
		if size == 0 {
			continue // a non-contiguous mask cannot be a route prefix
		}
		p, err := dst.Prefix(bits)
		if err != nil {
			continue
		}
		r := Route{Iface: f[0], Dst: p}
		if !gw.IsUnspecified() {
			r.Gateway = gw
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func hexAddr(s string) (netip.Addr, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
	return netip.AddrFrom4(a), nil
}

// DefaultRoute returns the first default route, if any.
func DefaultRoute(rs []Route) (Route, bool) {
	for _, r := range rs {
		if r.Dst.Bits() == 0 {
			return r, true
		}
	}
	return Route{}, false
}

// Lookup returns the most specific route for addr.
func Lookup(rs []Route, addr netip.Addr) (Route, bool) {
	best, ok := Route{}, false
	for _, r := range rs {
		if r.Dst.Contains(addr) && (!ok || r.Dst.Bits() > best.Dst.Bits()) {
			best, ok = r, true
		}
	}
	return best, ok
}

// Neighbour is one entry of the IPv4 neighbour (ARP) table.
type Neighbour struct {
	Addr  netip.Addr
	Iface string
	MAC   string
}

// ParseProcARP parses /proc/net/arp. Incomplete entries (flags 0x0) are kept:
// a neighbour we tried to reach is a dependency too.
func ParseProcARP(text string) []Neighbour {
	var out []Neighbour
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 6 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		out = append(out, Neighbour{Addr: a, MAC: f[3], Iface: f[5]})
	}
	return out
}

// Paths lets tests point hostinfo at fixtures.
type Paths struct {
	ResolvConf         string
	ResolvedUpstream   string // systemd-resolved's view of the real upstreams
	TailscaleBackup    string // tailscaled's copy of the pre-MagicDNS resolv.conf
	ProcRoute, ProcARP string
	// DMIDir holds the DMI strings cloud detection reads (cloud.ReadDMI).
	DMIDir string
	// NetfilterSysctl and NfLog tell where LOG lines go (ReadNetfilterLog).
	NetfilterSysctl string
	NfLog           string
}

// DefaultPaths are the real locations.
var DefaultPaths = Paths{
	ResolvConf:       "/etc/resolv.conf",
	ResolvedUpstream: "/run/systemd/resolve/resolv.conf",
	TailscaleBackup:  "/etc/resolv.pre-tailscale-backup.conf",
	ProcRoute:        "/proc/net/route",
	ProcARP:          "/proc/net/arp",
	DMIDir:           "/sys/class/dmi/id",
	NetfilterSysctl:  "/proc/sys/net/netfilter",
	NfLog:            "/proc/net/netfilter/nf_log",
}

// ReadResolvConf reads and parses a resolv.conf-format file.
func ReadResolvConf(path string) (ResolvConf, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ResolvConf{}, err
	}
	return ParseResolvConf(string(b)), nil
}

// ReadRoutes reads the main IPv4 routing table.
func (p Paths) ReadRoutes() ([]Route, error) {
	b, err := os.ReadFile(p.ProcRoute)
	if err != nil {
		return nil, err
	}
	return ParseProcRoute(string(b))
}

// ReadNeighbours reads the IPv4 neighbour table.
func (p Paths) ReadNeighbours() ([]Neighbour, error) {
	b, err := os.ReadFile(p.ProcARP)
	if err != nil {
		return nil, err
	}
	return ParseProcARP(string(b)), nil
}
