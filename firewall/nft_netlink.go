package firewall

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftSession is one netlink socket for the length of one call, so that the
// call's context can bound it.
type nftSession struct {
	c    *nftables.Conn
	nl   *netlink.Conn
	stop func() bool
}

func (n *NFTablesBackend) open(ctx context.Context) (*nftSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var nl *netlink.Conn
	c, err := nftables.New(nftables.WithNetNSFd(n.netnsFd), nftables.AsLasting(),
		nftables.WithSockOptions(func(c *netlink.Conn) error { nl = c; return nil }))
	if err != nil {
		return nil, err
	}
	if nl == nil {
		_ = c.CloseLasting()
		return nil, errors.New("no netlink socket")
	}
	if d, ok := ctx.Deadline(); ok {
		_ = nl.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = nl.SetDeadline(time.Unix(1, 0)) })
	return &nftSession{c: c, nl: nl, stop: stop}, nil
}

func (s *nftSession) close() {
	s.stop()
	_ = s.c.CloseLasting()
}

// chain reads and decodes one chain's rules.
func (s *nftSession) chain(c *nftables.Chain) (Chain, []nftRawRule, error) {
	ref := nftRef(c)
	raw, err := s.rules(c.Table.Family, c.Table.Name, c.Name)
	if err != nil {
		return Chain{}, nil, fmt.Errorf("nftables: read %s: %w", ref, err)
	}
	ch := Chain{ChainRef: ref, Rules: make([]Rule, len(raw))}
	if c.Hooknum != nil {
		ch.Hook = nftHookName(*c.Hooknum)
		ch.Policy = "ACCEPT"
		if c.Policy != nil && *c.Policy == nftables.ChainPolicyDrop {
			ch.Policy = "DROP"
		}
	}
	for i, rr := range raw {
		r := nftDecodeRule(c.Table.Family, rr.exprs, rr.udata)
		r.ChainRef, r.Position, r.Handle = ref, i+1, rr.handle
		ch.Rules[i] = r
	}
	return ch, raw, nil
}

// nftRawRule is a rule as read from the kernel.
type nftRawRule struct {
	handle uint64
	exprs  []expr.Any
	udata  []byte
}

// rules dumps one chain's rules. It does what Conn.GetRules does (the kernel
// filters the dump by chain, so other chains cost nothing) but keeps the
// expressions the library cannot parse, which GetRules silently drops.
func (s *nftSession) rules(fam nftables.TableFamily, table, chain string) ([]nftRawRule, error) {
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_RULE_TABLE, Data: []byte(table + "\x00")},
		{Type: unix.NFTA_RULE_CHAIN, Data: []byte(chain + "\x00")},
	})
	if err != nil {
		return nil, err
	}
	msgs, err := s.nl.Execute(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETRULE),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{byte(fam), unix.NFNETLINK_V0, 0, 0}, attrs...),
	})
	if err != nil {
		return nil, err
	}
	out := make([]nftRawRule, 0, len(msgs))
	for _, m := range msgs {
		if m.Header.Type != netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWRULE) {
			continue
		}
		r, err := nftParseRule(byte(fam), m.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func nftParseRule(fam byte, b []byte) (nftRawRule, error) {
	var r nftRawRule
	if len(b) < 4 {
		return r, errors.New("short rule message")
	}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return r, err
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_RULE_HANDLE:
			r.handle = ad.Uint64()
		case unix.NFTA_RULE_USERDATA:
			r.udata = ad.Bytes()
		case unix.NFTA_RULE_EXPRESSIONS:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					if list.Type() != unix.NFTA_LIST_ELEM {
						continue
					}
					list.Nested(func(el *netlink.AttributeDecoder) error {
						var name string
						var data []byte
						for el.Next() {
							switch el.Type() {
							case unix.NFTA_EXPR_NAME:
								name = el.String()
							case unix.NFTA_EXPR_DATA:
								data = el.Bytes()
							}
						}
						r.exprs = append(r.exprs, nftParseExpr(fam, name, data))
						return nil
					})
				}
				return nil
			})
		}
	}
	return r, ad.Err()
}

// nftParseExpr parses the expressions the decoder reads; any other, or one
// that fails to parse, becomes an nftOpaque.
func nftParseExpr(fam byte, name string, data []byte) (e expr.Any) {
	var x expr.Any
	switch name {
	case "meta":
		x = &expr.Meta{}
	case "cmp":
		x = &expr.Cmp{}
	case "payload":
		x = &expr.Payload{}
	case "bitwise":
		x = &expr.Bitwise{}
	case "ct":
		x = &expr.Ct{}
	case "counter":
		x = &expr.Counter{}
	case "immediate":
		x = &expr.Immediate{}
	case "log":
		x = &expr.Log{}
	case "limit":
		x = &expr.Limit{}
	case "reject":
		x = &expr.Reject{}
	case "match":
		x = &expr.Match{}
	case "target":
		x = &expr.Target{}
	case "lookup":
		x = &expr.Lookup{}
	case "range":
		x = &expr.Range{}
	case "fib":
		x = &expr.Fib{}
	case "notrack":
		return &expr.Notrack{}
	default:
		return &nftOpaque{Name: name}
	}
	bad := &nftOpaque{Name: name + " (undecodable)"}
	defer func() {
		if recover() != nil {
			e = bad
		}
	}()
	if err := expr.Unmarshal(fam, data, x); err != nil {
		return bad
	}
	// A verdict is an immediate into the verdict register.
	if imm, ok := x.(*expr.Immediate); ok && imm.Register == unix.NFT_REG_VERDICT {
		v := &expr.Verdict{}
		if err := expr.Unmarshal(fam, data, v); err != nil {
			return bad
		}
		return v
	}
	return x
}

// vmapTargets lists the chains a verdict map jumps or goes to.
func (s *nftSession) vmapTargets(t *nftables.Table, name string) ([]string, error) {
	set, err := s.c.GetSetByName(t, name)
	if err != nil {
		return nil, err
	}
	els, err := s.c.GetSetElements(set)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, el := range els {
		// The library leaves the verdict undecoded in Val:
		// NFTA_VERDICT_CODE and NFTA_VERDICT_CHAIN attributes.
		ad, err := netlink.NewAttributeDecoder(el.Val)
		if err != nil {
			continue
		}
		ad.ByteOrder = binary.BigEndian
		var code int32
		var chain string
		for ad.Next() {
			switch ad.Type() {
			case unix.NFTA_VERDICT_CODE:
				code = int32(ad.Uint32())
			case unix.NFTA_VERDICT_CHAIN:
				chain = ad.String()
			}
		}
		if ad.Err() == nil && chain != "" && (code == unix.NFT_JUMP || code == unix.NFT_GOTO) {
			out = append(out, chain)
		}
	}
	return out, nil
}
