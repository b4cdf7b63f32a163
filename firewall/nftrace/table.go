package nftrace

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TablePrefix starts the name of every table tsdoctor creates for a trace,
// so a later run can find and remove one left by a killed process.
const TablePrefix = "tsdoctor-trace-"

// ChainName and Priority place the marking chain on prerouting before raw
// (-300) and conntrack (-200), so every later chain sees the mark.
const (
	ChainName = "mark"
	Priority  = -350
)

// Reply is one expected reply packet to trace: from Src:SrcPort to the
// probe's own local port DstPort.
type Reply struct {
	Src              netip.Addr
	SrcPort, DstPort uint16
	Proto            string // "udp" or "tcp"
}

// Matches reports whether a traced packet is this reply.
func (r Reply) Matches(p Packet) bool {
	return p.Src == r.Src && p.SrcPort == r.SrcPort && p.DstPort == r.DstPort && p.Proto == r.Proto
}

// NFT is the marking rule in nft syntax.
func (r Reply) NFT() string {
	return fmt.Sprintf("ip saddr %s %s sport %d %s dport %d meta nftrace set 1", r.Src, r.Proto, r.SrcPort, r.Proto, r.DstPort)
}

// TableName is the trace table of trace id.
func TableName(id string) string { return TablePrefix + id }

// Commands are the nft commands that do what Install does, to show before
// it is done.
func Commands(id string, replies []Reply) []string {
	t := TableName(id)
	out := []string{
		"nft add table ip " + t,
		fmt.Sprintf("nft add chain ip %s %s '{ type filter hook prerouting priority %d; }'", t, ChainName, Priority),
	}
	for _, r := range replies {
		out = append(out, fmt.Sprintf("nft add rule ip %s %s %s", t, ChainName, r.NFT()))
	}
	return out
}

// RemoveCommand is the nft command that does what Remove does.
func RemoveCommand(id string) string { return "nft delete table ip " + TableName(id) }

// conn opens an nf_tables connection in the namespace netnsFd (0: this one)
// whose socket ctx bounds.
func conn(ctx context.Context, netnsFd int) (*nftables.Conn, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var nl *netlink.Conn
	opts := []nftables.ConnOption{nftables.AsLasting(),
		nftables.WithSockOptions(func(c *netlink.Conn) error { nl = c; return nil })}
	if netnsFd > 0 {
		opts = append(opts, nftables.WithNetNSFd(netnsFd))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, nil, err
	}
	if nl == nil {
		_ = c.CloseLasting()
		return nil, nil, errors.New("no netlink socket")
	}
	if d, ok := ctx.Deadline(); ok {
		_ = nl.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = nl.SetDeadline(time.Unix(1, 0)) })
	return c, func() { stop(); _ = c.CloseLasting() }, nil
}

// Install creates trace table id: a prerouting chain at Priority with one
// rule per reply that sets nftrace on exactly that reply and nothing else.
// The table, chain and rules are added in one transaction.
func Install(ctx context.Context, netnsFd int, id string, replies []Reply) error {
	if len(replies) == 0 {
		return errors.New("nftrace: nothing to trace")
	}
	c, done, err := conn(ctx, netnsFd)
	if err != nil {
		return fmt.Errorf("nftrace: netlink: %w", err)
	}
	defer done()
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName(id)})
	prio := nftables.ChainPriority(Priority)
	ch := c.AddChain(&nftables.Chain{Name: ChainName, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: &prio})
	for _, r := range replies {
		exprs, err := markExprs(r)
		if err != nil {
			return err
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftrace: create table %s: %w", TableName(id), err)
	}
	return nil
}

// markExprs is Reply.NFT as nf_tables expressions.
func markExprs(r Reply) ([]expr.Any, error) {
	if !r.Src.Is4() {
		return nil, fmt.Errorf("nftrace: %s is not IPv4", r.Src)
	}
	var proto byte
	switch r.Proto {
	case "udp":
		proto = unix.IPPROTO_UDP
	case "tcp":
		proto = unix.IPPROTO_TCP
	default:
		return nil, fmt.Errorf("nftrace: cannot trace protocol %q", r.Proto)
	}
	port := func(p uint16) []byte { return binary.BigEndian.AppendUint16(nil, p) }
	src := r.Src.As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: src[:]},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: port(r.SrcPort)},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: port(r.DstPort)},
		&expr.Immediate{Register: 1, Data: []byte{1}},
		&expr.Meta{Key: expr.MetaKeyNFTRACE, SourceRegister: true, Register: 1},
	}, nil
}

// Remove deletes trace table id; it is not an error when it is gone.
func Remove(ctx context.Context, netnsFd int, id string) error {
	_, err := removeTables(ctx, netnsFd, func(name string) bool { return name == TableName(id) })
	return err
}

// Sweep removes every trace table left by a tsdoctor killed before it could
// clean up, and returns their names. Whether an id is stale is tsrules'
// knowledge (tsrules.TraceStale: a live pid is another run's trace in
// progress, left alone); the caller passes it in, so this package stays
// below tsrules.
func Sweep(ctx context.Context, netnsFd int, stale func(id string) bool) ([]string, error) {
	return removeTables(ctx, netnsFd, func(name string) bool {
		id, ok := strings.CutPrefix(name, TablePrefix)
		return ok && stale(id)
	})
}

func removeTables(ctx context.Context, netnsFd int, match func(string) bool) ([]string, error) {
	c, done, err := conn(ctx, netnsFd)
	if err != nil {
		return nil, fmt.Errorf("nftrace: netlink: %w", err)
	}
	defer done()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("nftrace: list tables: %w", err)
	}
	var names []string
	for _, t := range tables {
		if match(t.Name) {
			c.DelTable(t)
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("nftrace: delete %s: %w", strings.Join(names, ", "), err)
	}
	return names, nil
}
