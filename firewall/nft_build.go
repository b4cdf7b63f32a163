package firewall

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

const (
	nftIfNameSize     = 16  // IFNAMSIZ
	nftCommentMaxLen  = 128 // nft refuses longer comments
	nftLogPrefixMax   = 127 // NF_LOG_PREFIXLEN minus the NUL
	nftDefaultBurst   = 5   // nft's and iptables' default limit burst
	nftRejectPortUnre = 3   // ICMP port unreachable, nft's default reject
)

// nftSpecExprs builds spec as the expressions and userdata `nft add rule`
// would produce for its nft equivalent, e.g.
//
//	iifname != "tailscale0*" ip saddr 100.64.0.0/10 meta l4proto udp udp sport 53
//	ct state established,related limit rate 20/second counter log prefix "x" comment "y"
//
// Insert writes it; Delete decodes it to know what to look for.
func nftSpecExprs(fam nftables.TableFamily, spec Spec) ([]expr.Any, []byte, error) {
	if fam != nftables.TableFamilyIPv4 && fam != nftables.TableFamilyINet {
		return nil, nil, fmt.Errorf("nftables: writing to family %d not supported", fam)
	}
	var ex []expr.Any
	if spec.InIface != "" {
		name, prefix := strings.CutSuffix(spec.InIface, "+")
		if name == "" || len(name) >= nftIfNameSize {
			return nil, nil, fmt.Errorf("nftables: bad interface %q", spec.InIface)
		}
		data := []byte(name)
		if !prefix {
			// Exact: compare the whole NUL-padded name, as nft does.
			data = make([]byte, nftIfNameSize)
			copy(data, name)
		}
		op := expr.CmpOpEq
		if spec.InIfaceNegated {
			op = expr.CmpOpNeq
		}
		ex = append(ex,
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: op, Register: 1, Data: data})
	}
	if spec.Source.IsValid() {
		if !spec.Source.Addr().Is4() {
			return nil, nil, fmt.Errorf("nftables: source %s is not IPv4", spec.Source)
		}
		if p := spec.Source.Masked(); p.Bits() > 0 {
			if fam == nftables.TableFamilyINet {
				ex = append(ex,
					&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}})
			}
			ex = append(ex, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4})
			if p.Bits() < 32 {
				mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-p.Bits()))
				ex = append(ex, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)})
			}
			ex = append(ex, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()})
		}
	}
	if spec.Protocol != "" {
		num, ok := nftProtoNum(spec.Protocol)
		if !ok {
			return nil, nil, fmt.Errorf("nftables: unknown protocol %q", spec.Protocol)
		}
		ex = append(ex,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{num}})
	}
	if spec.SrcPort != 0 {
		if !nftPortProto(spec.Protocol) {
			return nil, nil, fmt.Errorf("nftables: source port needs protocol tcp or udp, not %q", spec.Protocol)
		}
		ex = append(ex,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, spec.SrcPort)})
	}
	if len(spec.CtStates) > 0 {
		var mask uint32
	states:
		for _, s := range spec.CtStates {
			for _, cs := range nftCtStates {
				if strings.EqualFold(s, cs.name) {
					mask |= cs.bit
					continue states
				}
			}
			return nil, nil, fmt.Errorf("nftables: unknown ct state %q", s)
		}
		ex = append(ex,
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, mask), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)})
	}
	if spec.LimitPerSecond < 0 {
		return nil, nil, fmt.Errorf("nftables: negative limit %d", spec.LimitPerSecond)
	}
	if spec.LimitPerSecond > 0 {
		ex = append(ex, &expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(spec.LimitPerSecond),
			Unit: expr.LimitTimeSecond, Burst: nftDefaultBurst})
	}
	ex = append(ex, &expr.Counter{})
	switch spec.Verdict {
	case Continue:
		// Like IptablesArgs: a log prefix only makes a LOG rule.
		if spec.LogPrefix != "" {
			if len(spec.LogPrefix) > nftLogPrefixMax || strings.IndexByte(spec.LogPrefix, 0) >= 0 {
				return nil, nil, fmt.Errorf("nftables: bad log prefix %q", spec.LogPrefix)
			}
			ex = append(ex, &expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(spec.LogPrefix)})
		}
	case Accept:
		ex = append(ex, &expr.Verdict{Kind: expr.VerdictAccept})
	case Drop:
		ex = append(ex, &expr.Verdict{Kind: expr.VerdictDrop})
	case Return:
		ex = append(ex, &expr.Verdict{Kind: expr.VerdictReturn})
	case Reject:
		r := &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: nftRejectPortUnre}
		if fam == nftables.TableFamilyINet {
			r = &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}
		}
		ex = append(ex, r)
	default:
		return nil, nil, fmt.Errorf("nftables: cannot write verdict %q", spec.Verdict)
	}
	var udata []byte
	if spec.Comment != "" {
		if len(spec.Comment) > nftCommentMaxLen || strings.IndexByte(spec.Comment, 0) >= 0 {
			return nil, nil, fmt.Errorf("nftables: bad comment %q", spec.Comment)
		}
		udata = userdata.AppendString(nil, userdata.TypeComment, spec.Comment)
	}
	return ex, udata, nil
}
