package hostinfo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Netns says which kind of network namespace this process is in, as far as
// can be told.
type Netns string

const (
	NetnsUnknown Netns = ""
	NetnsInitial Netns = "initial"
	NetnsChild   Netns = "child" // a container's or `ip netns`'s
)

// NetfilterLog is what this host shows about where netfilter's LOG lines go:
// the facts that explain a LOG rule that matches but prints nothing.
type NetfilterLog struct {
	Netns Netns
	// AllNetns is net.netfilter.nf_log_all_netns as read ("0", "1"); empty
	// where it is not visible.
	AllNetns string
	// IPv4 is the IPv4 line of /proc/net/netfilter/nf_log as printed, e.g.
	// "2 nf_log_ipv4 (nf_log_ipv4,nfnetlink_log)"; empty when unreadable.
	IPv4 string
	// IPv4KernelLogger: a logger that writes to the kernel log
	// (nf_log_ipv4, from nf_log_syslog) is registered for IPv4. Meaningful
	// only when IPv4 is set.
	IPv4KernelLogger bool
}

// ReadNetfilterLog reads the facts without relying on /proc/1 (which a
// container may hide or own): the kernel registers nf_log_all_netns in the
// initial network namespace only, so its absence beside the other netfilter
// sysctls marks a child namespace.
func (p Paths) ReadNetfilterLog() NetfilterLog {
	var n NetfilterLog
	if p.NetfilterSysctl != "" {
		if _, err := os.Stat(p.NetfilterSysctl); err == nil {
			b, err := os.ReadFile(filepath.Join(p.NetfilterSysctl, "nf_log_all_netns"))
			switch {
			case err == nil:
				n.Netns, n.AllNetns = NetnsInitial, strings.TrimSpace(string(b))
			case errors.Is(err, fs.ErrNotExist):
				n.Netns = NetnsChild
			}
		}
	}
	if p.NfLog != "" {
		if b, err := os.ReadFile(p.NfLog); err == nil {
			n.IPv4, n.IPv4KernelLogger = parseNfLogIPv4(string(b))
		}
	}
	return n
}

// parseNfLogIPv4 finds protocol family 2 (IPv4) in /proc/net/netfilter/nf_log,
// whose lines read "%2d <bound logger or NONE> (<registered>,...)".
func parseNfLogIPv4(text string) (line string, kernel bool) {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "2" {
			continue
		}
		line = strings.Join(f, " ")
		if _, reg, ok := strings.Cut(line, "("); ok {
			for _, name := range strings.Split(strings.TrimSuffix(reg, ")"), ",") {
				if strings.HasPrefix(name, "nf_log_") {
					kernel = true
				}
			}
		}
		return line, kernel
	}
	return "", false
}
