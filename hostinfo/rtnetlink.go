package hostinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Routing-policy facts read and written over rtnetlink, in the calling
// thread's network namespace. The kernel resolves routes itself
// (RTM_GETROUTE, as `ip route get fibmatch`): walking its policy rules,
// fwmarks and tables in Go would only be an imitation of what it already
// answers exactly.

// Table numbers that have names.
const (
	TableMain      uint32 = unix.RT_TABLE_MAIN
	TableDefault   uint32 = unix.RT_TABLE_DEFAULT
	TableLocal     uint32 = unix.RT_TABLE_LOCAL
	TableTailscale uint32 = 52 // tailscaled's own table
)

// TableName names a table as `ip` does.
func TableName(t uint32) string {
	switch t {
	case TableMain:
		return "main"
	case TableDefault:
		return "default"
	case TableLocal:
		return "local"
	}
	return fmt.Sprint(t)
}

// RouteHit is the route the kernel picks for a destination.
type RouteHit struct {
	Dst     netip.Addr
	Prefix  netip.Prefix // the FIB entry that matched
	Table   uint32
	Type    string // unicast, local, unreachable, blackhole, prohibit, throw
	Iface   string
	Gateway netip.Addr
}

// ErrNoRoute means the kernel has no route at all for the destination.
var ErrNoRoute = errors.New("no route")

func dialRoute() (*netlink.Conn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	return c, nil
}

// rtmsg is struct rtmsg and fib_rule_hdr (same layout: 8 bytes then flags).
type rtmsg struct {
	Family, DstLen, SrcLen, TOS, Table, Protocol, Scope, Type uint8
	Flags                                                     uint32
}

func (m rtmsg) bytes() []byte {
	b := []byte{m.Family, m.DstLen, m.SrcLen, m.TOS, m.Table, m.Protocol, m.Scope, m.Type, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(b[8:], m.Flags)
	return b
}

func parseRtmsg(b []byte) (rtmsg, []byte, error) {
	if len(b) < 12 {
		return rtmsg{}, nil, errors.New("rtnetlink: short message")
	}
	return rtmsg{b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], binary.NativeEndian.Uint32(b[8:])}, b[12:], nil
}

var routeTypes = map[uint8]string{
	unix.RTN_UNICAST: "unicast", unix.RTN_LOCAL: "local", unix.RTN_BROADCAST: "broadcast",
	unix.RTN_UNREACHABLE: "unreachable", unix.RTN_BLACKHOLE: "blackhole", unix.RTN_PROHIBIT: "prohibit",
	unix.RTN_THROW: "throw", unix.RTN_MULTICAST: "multicast",
}

// LookupRoute asks the kernel which route a packet from this host to dst
// takes (no fwmark: what a resolver query or a curl sends), and returns the
// FIB entry that matched (RTM_F_FIB_MATCH) with the table the policy rules
// led to (RTM_F_LOOKUP_TABLE; without it the kernel reports "main"), as
// `ip route get fibmatch` does. Only IPv4.
func LookupRoute(dst netip.Addr) (RouteHit, error) {
	if !dst.Is4() {
		return RouteHit{}, fmt.Errorf("route lookup: %s is not IPv4", dst)
	}
	c, err := dialRoute()
	if err != nil {
		return RouteHit{}, err
	}
	defer c.Close()
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.RTA_DST, dst.AsSlice())
	attrs, err := ae.Encode()
	if err != nil {
		return RouteHit{}, err
	}
	req := netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request},
		Data:   append(rtmsg{Family: unix.AF_INET, DstLen: 32, Flags: unix.RTM_F_FIB_MATCH | unix.RTM_F_LOOKUP_TABLE}.bytes(), attrs...),
	}
	msgs, err := c.Execute(req)
	if err != nil {
		var oe *netlink.OpError
		if errors.As(err, &oe) && (errors.Is(oe.Err, syscall.ENETUNREACH) || errors.Is(oe.Err, syscall.EHOSTUNREACH)) {
			return RouteHit{Dst: dst}, ErrNoRoute
		}
		return RouteHit{Dst: dst}, fmt.Errorf("route lookup for %s: %w", dst, err)
	}
	if len(msgs) == 0 {
		return RouteHit{Dst: dst}, ErrNoRoute
	}
	return parseRoute(dst, msgs[0].Data)
}

func parseRoute(dst netip.Addr, b []byte) (RouteHit, error) {
	m, rest, err := parseRtmsg(b)
	if err != nil {
		return RouteHit{}, err
	}
	h := RouteHit{Dst: dst, Table: uint32(m.Table), Type: routeTypes[m.Type]}
	if h.Type == "" {
		h.Type = fmt.Sprint(m.Type)
	}
	pfx := netip.IPv4Unspecified()
	ad, err := netlink.NewAttributeDecoder(rest)
	if err != nil {
		return h, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.RTA_DST:
			if a, ok := netip.AddrFromSlice(ad.Bytes()); ok {
				pfx = a
			}
		case unix.RTA_TABLE:
			h.Table = ad.Uint32()
		case unix.RTA_OIF:
			if ifi, err := net.InterfaceByIndex(int(ad.Uint32())); err == nil {
				h.Iface = ifi.Name
			} else {
				h.Iface = fmt.Sprintf("if%d", ad.Uint32())
			}
		case unix.RTA_GATEWAY:
			h.Gateway, _ = netip.AddrFromSlice(ad.Bytes())
		}
	}
	if err := ad.Err(); err != nil {
		return h, err
	}
	h.Prefix = netip.PrefixFrom(pfx, int(m.DstLen))
	return h, nil
}

// PolicyRule is one `ip rule` entry, as far as tsdoctor uses them.
type PolicyRule struct {
	Priority uint32       `json:"priority"`
	To       netip.Prefix `json:"to,omitzero"`
	Mark     uint32       `json:"fwmark,omitempty"`
	Mask     uint32       `json:"fwmask,omitempty"`
	Table    uint32       `json:"table,omitempty"`
	Action   string       `json:"action"` // lookup, unreachable, blackhole, prohibit, goto, other
}

// String renders the rule as `ip rule` prints it.
func (r PolicyRule) String() string {
	s := fmt.Sprintf("%d:\t", r.Priority)
	if r.To.IsValid() {
		s += "from all to " + r.To.String()
	} else {
		s += "from all"
	}
	if r.Mark != 0 || r.Mask != 0 {
		s += fmt.Sprintf(" fwmark %#x/%#x", r.Mark, r.Mask)
	}
	if r.Action == "lookup" {
		return s + " lookup " + TableName(r.Table)
	}
	return s + " " + r.Action
}

var ruleActions = map[uint8]string{
	unix.FR_ACT_TO_TBL: "lookup", unix.FR_ACT_GOTO: "goto", unix.FR_ACT_BLACKHOLE: "blackhole",
	unix.FR_ACT_UNREACHABLE: "unreachable", unix.FR_ACT_PROHIBIT: "prohibit",
}

// ListRules returns the IPv4 policy rules in priority order.
func ListRules() ([]PolicyRule, error) {
	c, err := dialRoute()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETRULE, Flags: netlink.Request | netlink.Dump},
		Data:   rtmsg{Family: unix.AF_INET}.bytes(),
	})
	if err != nil {
		return nil, fmt.Errorf("listing policy rules: %w", err)
	}
	var out []PolicyRule
	for _, m := range msgs {
		h, rest, err := parseRtmsg(m.Data)
		if err != nil {
			return out, err
		}
		r := PolicyRule{Table: uint32(h.Table), Action: ruleActions[h.Type]}
		if r.Action == "" {
			r.Action = "other"
		}
		to := netip.IPv4Unspecified()
		ad, err := netlink.NewAttributeDecoder(rest)
		if err != nil {
			return out, err
		}
		for ad.Next() {
			switch ad.Type() {
			case unix.FRA_PRIORITY:
				r.Priority = ad.Uint32()
			case unix.FRA_TABLE:
				r.Table = ad.Uint32()
			case unix.FRA_FWMARK:
				r.Mark = ad.Uint32()
			case unix.FRA_FWMASK:
				r.Mask = ad.Uint32()
			case unix.FRA_DST:
				to, _ = netip.AddrFromSlice(ad.Bytes())
			}
		}
		if h.DstLen > 0 {
			r.To = netip.PrefixFrom(to, int(h.DstLen))
		}
		if r.Mask == 0xffffffff && r.Mark == 0 {
			r.Mask = 0
		}
		out = append(out, r)
	}
	return out, nil
}

// AddRule adds an IPv4 `to PREFIX lookup TABLE priority N` rule; an
// identical rule already there is not an error.
func AddRule(r PolicyRule) error { return changeRule(unix.RTM_NEWRULE, r) }

// DelRule deletes such a rule; a rule already gone is not an error.
func DelRule(r PolicyRule) error { return changeRule(unix.RTM_DELRULE, r) }

func changeRule(op uint16, r PolicyRule) error {
	if !r.To.IsValid() || !r.To.Addr().Is4() || r.Table == 0 {
		return fmt.Errorf("policy rule %v: need an IPv4 destination and a table", r)
	}
	c, err := dialRoute()
	if err != nil {
		return err
	}
	defer c.Close()
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.FRA_DST, r.To.Masked().Addr().AsSlice())
	ae.Uint32(unix.FRA_PRIORITY, r.Priority)
	ae.Uint32(unix.FRA_TABLE, r.Table)
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	flags := netlink.Request | netlink.Acknowledge
	if op == unix.RTM_NEWRULE {
		flags |= netlink.Create | netlink.Excl
	}
	tbl := uint8(unix.RT_TABLE_UNSPEC)
	if r.Table < 256 {
		tbl = uint8(r.Table)
	}
	_, err = c.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(op), Flags: flags},
		Data: append(rtmsg{Family: unix.AF_INET, DstLen: uint8(r.To.Bits()), Table: tbl,
			Type: unix.FR_ACT_TO_TBL}.bytes(), attrs...),
	})
	var oe *netlink.OpError
	if errors.As(err, &oe) && ((op == unix.RTM_NEWRULE && errors.Is(oe.Err, syscall.EEXIST)) ||
		(op == unix.RTM_DELRULE && errors.Is(oe.Err, syscall.ENOENT))) {
		return nil
	}
	if err != nil {
		verb := "adding"
		if op == unix.RTM_DELRULE {
			verb = "deleting"
		}
		return fmt.Errorf("%s policy rule %q: %w", verb, r.String(), err)
	}
	return nil
}
