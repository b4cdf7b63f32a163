package firewall

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

// xt_conntrack state bits equal nft's for the five states the model knows.
const nftXtCtStateOnly = xt.ConntrackState | xt.ConntrackStateAlias

func (d *nftDecoder) xtMatch(e *expr.Match) {
	switch info := e.Info.(type) {
	case *xt.Comment:
		d.xtComment = string(*info)
		return
	case *xt.ConntrackMtinfo1:
		if d.xtCtState(uint32(info.StateMask), info.ConntrackMtinfoBase) {
			return
		}
	case *xt.ConntrackMtinfo2:
		if d.xtCtState(uint32(info.StateMask), info.ConntrackMtinfoBase) {
			return
		}
	case *xt.ConntrackMtinfo3:
		if d.xtCtState(uint32(info.StateMask), info.ConntrackMtinfoBase) {
			return
		}
	case *xt.Udp:
		if d.xtPorts("udp", info.SrcPorts, info.DstPorts, info.InvFlags != 0) {
			return
		}
	case *xt.Tcp:
		// Flag or option tests make it more than a port match.
		if info.FlagsMask == 0 && info.Option == 0 &&
			d.xtPorts("tcp", info.SrcPorts, info.DstPorts, info.InvFlags != 0) {
			return
		}
	}
	d.add(`xt match "` + e.Name + `"`)
	d.unmodeled("xt:" + e.Name)
}

func (d *nftDecoder) xtCtState(mask uint32, b xt.ConntrackMtinfoBase) bool {
	flags := xt.ConntrackFlags(b.MatchFlags)
	if flags&xt.ConntrackState == 0 || flags&^nftXtCtStateOnly != 0 || b.InvertFlags != 0 || d.r.CtStates != nil {
		return false
	}
	names, rest := nftCtStateNames(mask)
	if rest != 0 || len(names) == 0 {
		return false
	}
	d.r.CtStates = names
	d.add("ct state " + strings.ToLower(strings.Join(names, ",")))
	return true
}

// xtPorts decodes iptables' -m udp/-m tcp when it tests at most one exact
// port each way.
func (d *nftDecoder) xtPorts(proto string, sp, dp [2]uint16, inv bool) bool {
	single := func(r [2]uint16) bool { return r[0] == r[1] || (r[0] == 0 && r[1] == 0xffff) }
	if inv || !single(sp) || !single(dp) || d.r.SrcPort != 0 || d.r.DstPort != 0 {
		return false
	}
	if d.r.Protocol == proto {
		d.elide(&d.l4Part)
	}
	if sp[0] == sp[1] {
		d.r.SrcPort = sp[0]
		d.add(proto + " sport " + strconv.Itoa(int(sp[0])))
	}
	if dp[0] == dp[1] {
		d.r.DstPort = dp[0]
		d.add(proto + " dport " + strconv.Itoa(int(dp[0])))
	}
	return true
}

func (d *nftDecoder) xtTarget(e *expr.Target) {
	switch e.Name {
	case "LOG":
		// struct ipt_log_info { u8 level; u8 logflags; char prefix[30]; }
		if u, ok := e.Info.(*xt.Unknown); ok && len(*u) >= 2 {
			raw := []byte(*u)
			prefix := string(bytes.TrimRight(raw[2:min(len(raw), 32)], "\x00"))
			if i := strings.IndexByte(prefix, 0); i >= 0 {
				prefix = prefix[:i]
			}
			d.r.Target, d.r.LogPrefix = "LOG", prefix
			t := `log prefix "` + prefix + `"`
			if lvl := raw[0]; lvl != 4 && int(lvl) < len(nftLogLevels) {
				t += " level " + nftLogLevels[lvl]
			}
			d.add(t)
			return
		}
	case "REJECT":
		d.r.Verdict = Reject
		d.add("reject")
		return
	}
	d.r.Target = e.Name
	d.add(`xt target "` + e.Name + `"`)
	d.unmodeled("xt:" + e.Name)
}
