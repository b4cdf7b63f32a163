// Package hostinfo reads the facts of this host that tsdoctor's checks need
// from files in /etc, /run, /proc and /sys: resolvers, routes, neighbours,
// the cloud vendor, and the kernel log. Paths are fields so tests can point
// them at fixtures.
package hostinfo

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ResolvConf is the part of resolv.conf(5) that matters for DNS reachability.
type ResolvConf struct {
	Nameservers []netip.Addr
	Search      []string
	Options     []string
	Timeout     int // seconds, from options timeout:N (0 = libc default 5)
	Attempts    int // from options attempts:N (0 = libc default 2)
	// Problems lists lines that were not understood; parsing goes on.
	Problems []string
}

// ParseResolvConf parses resolv.conf text. It never fails: garbage lines are
// listed in Problems, as the resolver library would ignore them too.
func ParseResolvConf(text string) ResolvConf {
	var rc ResolvConf
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		f := strings.Fields(line)
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				rc.Problems = append(rc.Problems, fmt.Sprintf("line %d: nameserver without an address", n))
				continue
			}
			// Zone (fe80::1%eth0) is allowed by glibc.
			a, err := netip.ParseAddr(f[1])
			if err != nil {
				rc.Problems = append(rc.Problems, fmt.Sprintf("line %d: %q is not an IP address", n, f[1]))
				continue
			}
			rc.Nameservers = append(rc.Nameservers, a)
		case "search", "domain":
			rc.Search = append(rc.Search, f[1:]...)
		case "options":
			for _, o := range f[1:] {
				rc.Options = append(rc.Options, o)
				if v, ok := strings.CutPrefix(o, "timeout:"); ok {
					rc.Timeout, _ = strconv.Atoi(v)
				}
				if v, ok := strings.CutPrefix(o, "attempts:"); ok {
					rc.Attempts, _ = strconv.Atoi(v)
				}
			}
		case "sortlist":
		default:
			rc.Problems = append(rc.Problems, fmt.Sprintf("line %d: unknown keyword %q", n, f[0]))
		}
	}
	return rc
}

// StubResolver is systemd-resolved's local stub address.
var StubResolver = netip.MustParseAddr("127.0.0.53")

// MagicDNS is Tailscale's resolver address.
var MagicDNS = netip.MustParseAddr("100.100.100.100")
