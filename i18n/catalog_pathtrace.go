package i18n

// The packet trace's strings (nftables tracing: checks/pathtrace.go).
var pathTraceCatalog = map[string]entry{
	"path.noroot":  {"Packet trace skipped: it adds a temporary nftables table and needs root.", "已跳过数据包跟踪：它要添加一张临时 nftables 表，因此需要 root 权限。"},
	"path.legacy":  {"Packet trace skipped: tailscaled's rules are in iptables-legacy, which has no nftables tracing. The counters (and the LOG trace, where the kernel log works) are the evidence.", "已跳过数据包跟踪：tailscaled 的规则在 iptables-legacy 中，它不支持 nftables 跟踪。计数器（以及内核日志可用时的 LOG 跟踪）就是证据。"},
	"path.noprobe": {"Packet trace skipped: these probes cannot name their local ports in advance.", "已跳过数据包跟踪：这些探测无法预先确定本地端口。"},
	"path.nothing": {"Packet trace: no IPv4 DNS server to trace.", "数据包跟踪：没有可跟踪的 IPv4 DNS 服务器。"},
	"path.insert":  {"Packet trace: temporary table %s marks the replies of %d fresh DNS probes (nftrace).", "数据包跟踪：临时表 %s 为 %d 个新 DNS 探测的回包打上跟踪标记（nftrace）。"},
	"path.err":     {"Packet trace failed: %s.", "数据包跟踪失败：%s。"},
	"path.removed": {"Packet trace: the temporary table was removed.", "数据包跟踪：临时表已删除。"},
	"path.drop":    {"Path of the reply from %s: %s. Dropped by: %s", "来自 %s 的回包路径：%s。丢弃它的规则：%s"},
	"path.accept":  {"Path of the reply from %s: %s. Accepted.", "来自 %s 的回包路径：%s。已放行。"},
	"path.unknown": {"Path of the reply from %s: %s. No nftables rule decided its fate: something outside nftables (iptables-legacy?) took it.", "来自 %s 的回包路径：%s。没有 nftables 规则对它作出裁决：是 nftables 之外的机制（iptables-legacy？）处理了它。"},
	"path.none":    {"No reply from %s reached this host's firewall.", "来自 %s 的回包没有到达本机防火墙。"},
	"path.lost":    {"Packet trace: the kernel dropped some trace events; a path may be incomplete.", "数据包跟踪：内核丢弃了部分跟踪事件，路径可能不完整。"},

	"tui.trace.table":   {"Before it, the packet trace: a table tsdoctor-trace-… marks only the replies of fresh DNS probes, and the kernel reports every chain and rule they pass (nftables tracing; no kernel log needed).", "在此之前先做数据包跟踪：一张 tsdoctor-trace-… 表只给新发 DNS 探测的回包打标记，内核随即报告它们经过的每条链和每条规则（nftables 跟踪，不需要内核日志）。"},
	"tui.path.before":   {"The replies' path through the firewall (nftables trace)", "回包穿过防火墙的路径（nftables 跟踪）"},
	"tui.path.after":    {"The replies' path now (traced again after the remedy)", "回包现在的路径（执行修复方案后再次跟踪）"},
	"tui.path.tracing":  {"Tracing the replies again…", "正在再次跟踪回包…"},
	"tui.path.replies":  {"%s:", "%s："},
	"tui.path.dropped":  {"dropped here", "在此被丢弃"},
	"tui.path.accepted": {"let in here", "在此放行"},
	"tui.path.unknown":  {"No nftables rule decided: something outside nftables (iptables-legacy?) took the packet.", "没有 nftables 规则作出裁决：是 nftables 之外的机制（iptables-legacy？）处理了这个包。"},
	"tui.path.why": {"Each line is a place the reply passed, as the kernel reported it: a hook's chain (PREROUTING, INPUT), a rule that jumped to another chain (jump ts-input), and the rule that decided (DROP or ACCEPT, marked). #N is the rule's position in its chain, as iptables -L --line-numbers counts; the grey line under it is the rule as tsdoctor read it. A whitelist rule placed above tailscaled's DROP is why, after remedy 2, the path ends earlier with ACCEPT.",
		"每一行是回包经过的一处地方，由内核报告：某个钩子上的链（PREROUTING、INPUT）、跳转到另一条链的规则（jump ts-input），以及作出裁决的规则（DROP 或 ACCEPT，已标出）。#N 是规则在链中的位置，与 iptables -L --line-numbers 的编号一致；下方灰色的一行是 tsdoctor 读到的规则原文。应用方案 2 后，路径会提前以 ACCEPT 结束，原因正是白名单规则位于 tailscaled 的 DROP 之上。"},

	"rules.swepttable": {"Removed a packet trace table left by an earlier tsdoctor run: %s", "已删除之前 tsdoctor 运行遗留的数据包跟踪表：%s"},
}

func init() { merge(pathTraceCatalog) }
