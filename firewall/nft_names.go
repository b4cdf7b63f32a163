package firewall

import (
	"fmt"
	"strconv"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// nft ct state bits, in the order nft prints them.
var nftCtStates = []struct {
	bit  uint32
	name string
}{
	{expr.CtStateBitINVALID, "INVALID"},
	{expr.CtStateBitESTABLISHED, "ESTABLISHED"},
	{expr.CtStateBitRELATED, "RELATED"},
	{expr.CtStateBitNEW, "NEW"},
	{expr.CtStateBitUNTRACKED, "UNTRACKED"},
}

// nftCtStateNames splits a state bit set into model names and unknown bits.
func nftCtStateNames(states uint32) (names []string, rest uint32) {
	for _, s := range nftCtStates {
		if states&s.bit != 0 {
			names = append(names, s.name)
			states &^= s.bit
		}
	}
	return names, states
}

var nftLogLevels = []string{"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit"}

var nftAddrTypes = []string{"unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable", "prohibit"}

var nftProtos = map[byte]string{
	1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 33: "dccp", 41: "ipv6", 47: "gre",
	50: "esp", 51: "ah", 58: "ipv6-icmp", 132: "sctp", 136: "udplite",
}

func nftProtoName(n byte) string {
	if s, ok := nftProtos[n]; ok {
		return s
	}
	return strconv.Itoa(int(n))
}

func nftProtoNum(name string) (byte, bool) {
	for n, s := range nftProtos {
		if s == name {
			return n, true
		}
	}
	if n, err := strconv.ParseUint(name, 10, 8); err == nil {
		return byte(n), true
	}
	return 0, false
}

// nftPortProto reports whether nft prints ports as "<proto> sport".
func nftPortProto(p string) bool {
	switch p {
	case "tcp", "udp", "udplite", "sctp", "dccp":
		return true
	}
	return false
}

func nftNFProtoName(n byte) string {
	switch n {
	case unix.NFPROTO_IPV4:
		return "ipv4"
	case unix.NFPROTO_IPV6:
		return "ipv6"
	}
	return strconv.Itoa(int(n))
}

var nftMetaNames = map[expr.MetaKey]string{
	expr.MetaKeyLEN: "length", expr.MetaKeyPROTOCOL: "protocol", expr.MetaKeyPRIORITY: "priority",
	expr.MetaKeyMARK: "mark", expr.MetaKeyIIF: "iif", expr.MetaKeyOIF: "oif",
	expr.MetaKeyIIFNAME: "iifname", expr.MetaKeyOIFNAME: "oifname", expr.MetaKeyIIFTYPE: "iiftype",
	expr.MetaKeyOIFTYPE: "oiftype", expr.MetaKeySKUID: "skuid", expr.MetaKeySKGID: "skgid",
	expr.MetaKeyNFTRACE: "nftrace", expr.MetaKeyRTCLASSID: "rtclassid", expr.MetaKeySECMARK: "secmark",
	expr.MetaKeyNFPROTO: "nfproto", expr.MetaKeyL4PROTO: "l4proto", expr.MetaKeyBRIIIFNAME: "ibrname",
	expr.MetaKeyBRIOIFNAME: "obrname", expr.MetaKeyPKTTYPE: "pkttype", expr.MetaKeyCPU: "cpu",
	expr.MetaKeyIIFGROUP: "iifgroup", expr.MetaKeyOIFGROUP: "oifgroup", expr.MetaKeyCGROUP: "cgroup",
	expr.MetaKeyPRANDOM: "random",
}

func nftMetaName(k expr.MetaKey) string { return nftKeyName(nftMetaNames, k) }

var nftCtKeyNames = map[expr.CtKey]string{
	expr.CtKeySTATE: "state", expr.CtKeyDIRECTION: "direction", expr.CtKeySTATUS: "status",
	expr.CtKeyMARK: "mark", expr.CtKeySECMARK: "secmark", expr.CtKeyEXPIRATION: "expiration",
	expr.CtKeyHELPER: "helper", expr.CtKeyL3PROTOCOL: "l3proto", expr.CtKeySRC: "saddr",
	expr.CtKeyDST: "daddr", expr.CtKeyPROTOCOL: "protocol", expr.CtKeyPROTOSRC: "proto-src",
	expr.CtKeyPROTODST: "proto-dst", expr.CtKeyLABELS: "label", expr.CtKeyPKTS: "packets",
	expr.CtKeyBYTES: "bytes", expr.CtKeyAVGPKT: "avgpkt", expr.CtKeyZONE: "zone",
}

func nftCtKeyName(k expr.CtKey) string { return nftKeyName(nftCtKeyNames, k) }

// nftKeyName is a meta or ct key's name, or nft's "key<n>" for one it does
// not know.
func nftKeyName[K expr.MetaKey | expr.CtKey](names map[K]string, k K) string {
	if s, ok := names[k]; ok {
		return s
	}
	return fmt.Sprintf("key%d", k)
}
