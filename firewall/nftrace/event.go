// Package nftrace shows the way a reply takes through nf_tables, rule by
// rule, with the kernel's own packet tracing: a temporary table of
// tsdoctor's marks the probes' replies with `meta nftrace set 1`, and the
// kernel then reports on netlink (group NFNLGRP_NFTRACE) every base chain,
// jump and rule the packet passes, with each verdict. It works in any network
// namespace and needs no kernel log, unlike LOG. iptables-nft rules are
// nf_tables rules, so it covers them too; iptables-legacy (x_tables) has no
// nftrace at all.
//
// No Go library decodes these events: google/nftables' Monitor joins only
// NFNLGRP_NFTABLES and leaves NFT_MSG_TRACE unhandled, so the decoder here
// reads the NFTA_TRACE_* attributes itself (layout from the kernel's
// net/netfilter/nf_tables_trace.c).
package nftrace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Event is one NFT_MSG_TRACE message: the packet met a rule, ended a chain
// (return) or fell off a base chain (policy).
type Event struct {
	ID     uint32 // the kernel's trace id, the same for one packet across hooks
	Family byte   // the table's family: unix.NFPROTO_IPV4, _INET, _IPV6...
	Table  string
	Chain  string
	Handle uint64 // the rule's handle; 0 for a policy or an implicit return
	Type   uint32 // unix.NFT_TRACETYPE_RULE, _RETURN or _POLICY
	// Verdict is the verdict code (NF_ACCEPT, NF_DROP, NFT_JUMP, ...) of a
	// rule or return event; Policy that of a policy event.
	Verdict    int32
	HasVerdict bool
	Target     string // the chain of a jump or goto
	Policy     uint32
	HasPolicy  bool
	IIF, OIF   uint32
	NFProto    uint32 // the packet's protocol family (NFPROTO_IPV4...)
	// Packet is decoded from the network and transport headers, which the
	// kernel sends once per base chain.
	Packet Packet
	// fingerprint tells packets apart that share a trace id: the id is a
	// hash of the skb's address and flow, so two packets of one TCP
	// connection can get the same one. IP length and id and the transport
	// header after the ports (TCP sequence and ack, UDP length and
	// checksum) differ between packets and stay the same across hooks.
	fingerprint string
}

// Packet is a packet's identity.
type Packet struct {
	Src     netip.Addr `json:"src"`
	SrcPort uint16     `json:"sport"`
	Dst     netip.Addr `json:"dst"`
	DstPort uint16     `json:"dport"`
	Proto   string     `json:"proto"` // "udp", "tcp", "icmp" or the protocol number
}

// Valid reports whether the packet's addresses were decoded.
func (p Packet) Valid() bool { return p.Src.IsValid() && p.Dst.IsValid() }

// IsTrace reports whether a netlink message header type is NFT_MSG_TRACE.
func IsTrace(t netlink.HeaderType) bool {
	return uint16(t) == unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_TRACE
}

// Decode reads one NFT_MSG_TRACE message body (nfgenmsg and attributes).
func Decode(b []byte) (Event, error) {
	var e Event
	if len(b) < 4 {
		return e, errors.New("nftrace: short message")
	}
	e.Family = b[0]
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return e, fmt.Errorf("nftrace: %w", err)
	}
	ad.ByteOrder = binary.BigEndian
	var nh, th []byte
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_TRACE_TABLE:
			e.Table = ad.String()
		case unix.NFTA_TRACE_CHAIN:
			e.Chain = ad.String()
		case unix.NFTA_TRACE_RULE_HANDLE:
			e.Handle = ad.Uint64()
		case unix.NFTA_TRACE_TYPE:
			e.Type = ad.Uint32()
		case unix.NFTA_TRACE_ID:
			e.ID = ad.Uint32()
		case unix.NFTA_TRACE_IIF:
			e.IIF = ad.Uint32()
		case unix.NFTA_TRACE_OIF:
			e.OIF = ad.Uint32()
		case unix.NFTA_TRACE_NFPROTO:
			e.NFProto = ad.Uint32()
		case unix.NFTA_TRACE_POLICY:
			e.Policy, e.HasPolicy = ad.Uint32(), true
		case unix.NFTA_TRACE_NETWORK_HEADER:
			nh = ad.Bytes()
		case unix.NFTA_TRACE_TRANSPORT_HEADER:
			th = ad.Bytes()
		case unix.NFTA_TRACE_VERDICT:
			ad.Nested(func(v *netlink.AttributeDecoder) error {
				for v.Next() {
					switch v.Type() {
					case unix.NFTA_VERDICT_CODE:
						e.Verdict, e.HasVerdict = int32(v.Uint32()), true
					case unix.NFTA_VERDICT_CHAIN:
						e.Target = v.String()
					}
				}
				return nil
			})
		}
	}
	if err := ad.Err(); err != nil {
		return e, fmt.Errorf("nftrace: %w", err)
	}
	if e.Table == "" || e.Chain == "" {
		return e, errors.New("nftrace: trace event without table or chain")
	}
	e.Packet = decodePacket(nh, th)
	if e.Packet.Valid() {
		e.fingerprint = fingerprint(nh, th)
	}
	return e, nil
}

// decodePacket reads addresses and ports from the headers the kernel copied
// (at most 40 bytes of network and 20 of transport header).
func decodePacket(nh, th []byte) Packet {
	var p Packet
	if len(nh) == 0 {
		return p
	}
	var proto byte
	switch nh[0] >> 4 {
	case 4:
		if len(nh) < 20 {
			return p
		}
		p.Src = netip.AddrFrom4([4]byte(nh[12:16]))
		p.Dst = netip.AddrFrom4([4]byte(nh[16:20]))
		proto = nh[9]
	case 6:
		if len(nh) < 40 {
			return p
		}
		p.Src = netip.AddrFrom16([16]byte(nh[8:24]))
		p.Dst = netip.AddrFrom16([16]byte(nh[24:40]))
		proto = nh[6] // the next header; extension headers are not followed
	default:
		return p
	}
	switch proto {
	case unix.IPPROTO_UDP:
		p.Proto = "udp"
	case unix.IPPROTO_TCP:
		p.Proto = "tcp"
	case unix.IPPROTO_ICMP:
		p.Proto = "icmp"
	case unix.IPPROTO_ICMPV6:
		p.Proto = "icmpv6"
	default:
		p.Proto = fmt.Sprint(proto)
	}
	if (p.Proto == "udp" || p.Proto == "tcp") && len(th) >= 4 {
		p.SrcPort = binary.BigEndian.Uint16(th[0:2])
		p.DstPort = binary.BigEndian.Uint16(th[2:4])
	}
	return p
}

// Netfilter's verdict codes (linux/netfilter.h), which x/sys/unix lacks.
const (
	nfDrop   = 0
	nfAccept = 1
	nfStolen = 2
	nfQueue  = 3
)

func fingerprint(nh, th []byte) string {
	var b []byte
	if nh[0]>>4 == 4 {
		b = append(b, nh[2:6]...) // total length, identification
	} else {
		b = append(b, nh[4:6]...) // payload length
	}
	if len(th) > 4 {
		b = append(b, th[4:min(len(th), 16)]...)
	}
	return string(b)
}

// VerdictName names an event's outcome as check/v1 does: accept, drop,
// jump, goto, return, continue, queue, stolen, or policy-accept and
// policy-drop for a base chain's policy.
func (e Event) VerdictName() string {
	if e.Type == unix.NFT_TRACETYPE_POLICY {
		if e.HasPolicy && e.Policy == nfDrop {
			return "policy-drop"
		}
		return "policy-accept"
	}
	if e.Type == unix.NFT_TRACETYPE_RETURN {
		return "return"
	}
	switch e.Verdict {
	case nfAccept:
		return "accept"
	case nfDrop:
		return "drop"
	case unix.NFT_JUMP:
		return "jump"
	case unix.NFT_GOTO:
		return "goto"
	case unix.NFT_RETURN:
		return "return"
	case nfQueue:
		return "queue"
	case nfStolen:
		return "stolen"
	}
	// NF_QUEUE carries its queue number in the upper bits.
	if e.Verdict > 0 && e.Verdict&0xff == nfQueue {
		return "queue"
	}
	return "continue"
}
