package i18n

// The packet trace's strings (nftables tracing: checks/pathtrace.go).
var pathTraceCatalog = map[string]entry{
	"path.noroot":  {"Packet trace skipped: it adds a temporary nftables table and needs root.", "已跳过数据包跟踪：它需要添加一张临时 nftables 表，需要 root 权限。"},
	"path.legacy":  {"Packet trace skipped: tailscaled's rules are in iptables-legacy, which has no nftables tracing. The counters (and the LOG trace, where the kernel log works) are the evidence.", "已跳过数据包跟踪：tailscaled 的规则在 iptables-legacy 中，它不支持 nftables 跟踪。计数器（以及内核日志可用时的 LOG 跟踪）就是证据。"},
	"path.noprobe": {"Packet trace skipped: these probes cannot name their local ports in advance.", "已跳过数据包跟踪：这些探测无法预先确定本地端口。"},
	"path.nothing": {"Packet trace: no IPv4 DNS server to trace.", "数据包跟踪：没有可跟踪的 IPv4 DNS 服务器。"},
	"path.insert":  {"Packet trace: temporary table %s marks the replies of %d fresh DNS probes (nftrace).", "数据包跟踪：临时表 %s 为 %d 个新 DNS 探测的回包打上跟踪标记（nftrace）。"},
	"path.err":     {"Packet trace failed: %s.", "数据包跟踪失败：%s。"},
	"path.removed": {"Packet trace: the temporary table was removed.", "数据包跟踪：临时表已删除。"},
	"path.drop":    {"Path of the reply from %s: %s. Dropped by: %s", "来自 %s 的回包路径：%s。丢弃它的规则：%s"},
	"path.accept":  {"Path of the reply from %s: %s. Accepted.", "来自 %s 的回包路径：%s。已放行。"},
	"path.unknown": {"Path of the reply from %s: %s. No nftables rule decided its fate: something outside nftables (iptables-legacy?) took it.", "来自 %s 的回包路径：%s。没有 nftables 规则决定它的去向：是 nftables 之外的东西（iptables-legacy？）处理了它。"},
	"path.none":    {"No reply from %s reached this host's firewall.", "来自 %s 的回包没有到达本机防火墙。"},
	"path.lost":    {"Packet trace: the kernel dropped some trace events; a path may be incomplete.", "数据包跟踪：内核丢弃了部分跟踪事件，路径可能不完整。"},

	"rules.swepttable": {"Removed a packet trace table left by an earlier tsdoctor run: %s", "已删除之前 tsdoctor 运行遗留的数据包跟踪表：%s"},
}

func init() { merge(pathTraceCatalog) }
