package i18n

// Chinese glossary: one term per concept (中文 ← English). New strings follow
// it; TestChineseGlossary checks the ones an English word can find.
//
//	回包 ← reply (a reply packet; 应答 for a resolver's answer)
//	解析器 ← resolver (系统解析库 ← the resolver library; 公共解析器/公共 DNS ← public resolvers)
//	规则 ← rule; 链 ← chain; 表 ← table; 第 N 条规则 ← rule #N
//	策略路由规则 ← policy rule (ip rule); 路由表 N / N 号表 ← table N
//	放行 ← accept (a packet); 接受 ← accept (subnet routes, --accept-routes)
//	丢弃 ← drop; 被拦截 ← blocked (also the BLOCKED verdict); 豁免 ← exempt
//	裁决 ← the verdict of a rule (DROP/ACCEPT decides)
//	元凶 ← culprit
//	修复方案 ← remedy (方案 N in short); 持久方案 ← a lasting remedy
//	执行 ← apply (a plan); 应用 ← apply (the whitelist)
//	撤销 ← undo; 验证 ← verify; 试运行 ← dry run
//	变更记录 ← journal (never 日志, which is a log)
//	白名单 ← whitelist; 宽松写法 ← wide shape
//	守护进程 ← guard, daemon; 单元 ← systemd unit
//	节点属性 ← node attribute; 节点 ← node, peer; 出口节点 ← exit node; 子网路由 ← subnet route
//	防火墙后端 / 后端 ← firewall backend
//	计数器 ← counter; 内核日志 ← kernel log; LOG 跟踪 ← LOG trace; 数据包跟踪 ← packet trace
//	探测 ← probe; 网卡 ← interface; 设备 ← device (dev in ip route)
//	tailscaled 重启 ← (tailscaled) restart; 系统重启 ← reboot
//	防伪造 ← anti-spoofing; 原文 ← the article
//	选项 ← flag; 参数 ← argument; 主机级锁 ← host-wide lock; 模拟的 CLI ← fake CLI; 秒 ← s

// catalog holds every string: English first, then Simplified Chinese.
var catalog = map[string]entry{
	// Verdicts and the CLI.
	"verdict.healthy":  {"HEALTHY: nothing in 100.64.0.0/10 that this host uses is being dropped.", "健康：本机用到的 100.64.0.0/10 地址，没有任何流量被丢弃。"},
	"verdict.blocked":  {"BLOCKED: tailscaled's CGNAT rule drops the replies of %s.", "被拦截：tailscaled 的 CGNAT 规则丢弃了 %s 的回包。"},
	"verdict.degraded": {"DEGRADED: something other than Tailscale's CGNAT rule is wrong (see the ✗ steps).", "异常：问题不在 Tailscale 的 CGNAT 规则（见标 ✗ 的步骤）。"},
	"verdict.error":    {"COULD NOT CHECK: %s", "无法完成检查：%s"},
	"verdict.culprit":  {"Culprit: %s %s/%s rule #%d, %d packets dropped so far:\n    %s", "元凶：%s %s/%s 第 %d 条规则，迄今已丢弃 %d 个包：\n    %s"},
	"verdict.next":     {"Fix it: `sudo tsdoctor` (the wizard) or `sudo tsdoctor fix --remedy N`: %s.", "修复：运行 `sudo tsdoctor`（向导）或 `sudo tsdoctor fix --remedy N`：%s。"},
	"verdict.elapsed":  {"Checked in %s.", "检查耗时 %s。"},
	"hint.root":        {"a service in 100.64.0.0/10 does not answer, and reading the firewall needs root: rerun with sudo.", "100.64.0.0/10 内的服务没有响应，而读取防火墙需要 root：请用 sudo 重新运行。"},
	"hint.backend":     {"a service in 100.64.0.0/10 does not answer, and a firewall backend could not be read (%s): fix that and rerun.", "100.64.0.0/10 内的服务没有响应，且有一个防火墙后端无法读取（%s）：请先解决这个问题再重新运行。"},
	"fw.noroot":        {"Skipped: reading the firewall needs root (rerun with sudo).", "已跳过：读取防火墙需要 root 权限（请用 sudo 重新运行）。"},

	// connectivity
	"conn.route":          {"Default route via %v on %s.", "默认路由经 %v，网卡 %s。"},
	"conn.noroute":        {"No default route in the main table.", "主路由表中没有默认路由。"},
	"conn.reach.ok":       {"%v reached by IP in %s.", "按 IP 连通 %v，耗时 %s。"},
	"conn.reach.fail":     {"%v not reachable by IP: %s.", "按 IP 无法连通 %v：%s。"},
	"conn.ts.none":        {"Tailscale is not installed (no tailscale CLI on PATH).", "未安装 Tailscale（PATH 中没有 tailscale 命令）。"},
	"conn.ts":             {"Tailscale %s, state %s, netfilter mode %s, accept-dns %s, node attribute disable-linux-cgnat-drop-rule: %v.", "Tailscale %s，状态 %s，netfilter 模式 %s，accept-dns %s，节点属性 disable-linux-cgnat-drop-rule：%v。"},
	"conn.tun.up":         {"Interface tailscale0 exists.", "网卡 tailscale0 存在。"},
	"conn.tun.missing":    {"Interface tailscale0 does not exist.", "网卡 tailscale0 不存在。"},
	"conn.sum.noroute":    {"No default route: this host cannot reach anything outside its subnet.", "没有默认路由：本机无法访问子网以外的任何地址。"},
	"conn.sum.nointernet": {"The internet is unreachable by IP via %s: the problem is below DNS.", "经 %s 按 IP 无法访问公网：问题出在 DNS 之下的网络层。"},
	"conn.sum.tsdown":     {"Tailscale is %s; the internet answers by IP (%d/%d).", "Tailscale 状态为 %s；按 IP 访问公网正常（%d/%d）。"},
	"conn.sum.ok":         {"IP connectivity is fine: %d/%d internet targets answer via %s.", "IP 连通性正常：%d/%d 个公网目标经 %s 可达。"},

	// dns
	"dns.sum.noconf":  {"Cannot read %s: %s.", "无法读取 %s：%s。"},
	"dns.sum.none":    {"%s names no nameserver.", "%s 中没有 nameserver。"},
	"dns.confproblem": {"%s: %s (ignored, as the resolver library does).", "%s：%s（已忽略，与系统解析库的做法一致）。"},
	"dns.options":     {"options timeout:%d attempts:%d: a failing lookup hangs up to %s before it gives up, which is why apt and curl seem to freeze.", "options timeout:%d attempts:%d：一次失败的解析最长会卡住 %s 才放弃，所以 apt 和 curl 看起来像卡死了。"},
	"dns.v6":          {"%v is an IPv6 resolver: tailscaled's CGNAT rule is IPv4 only and cannot drop its replies.", "%v 是 IPv6 解析器：tailscaled 的 CGNAT 规则只作用于 IPv4，不会丢弃它的回包。"},
	"dns.cgnat":       {"%v is inside 100.64.0.0/10 (RFC 6598 shared address space), where tailscaled expects only Tailscale peers.", "%v 位于 100.64.0.0/10（RFC 6598 共享地址段）内，而 tailscaled 认为这个网段里只有 Tailscale 节点。"},
	"dns.magic":       {"%v is Tailscale's MagicDNS resolver.", "%v 是 Tailscale 的 MagicDNS 解析器。"},
	"dns.sum.ok":      {"All %d resolvers answer.", "全部 %d 个解析器均有应答。"},
	"dns.sum.cgnat":   {"No resolver answers: %d of %d are in 100.64.0.0/10 and their replies never arrive.", "没有任何解析器应答：%d/%d 个位于 100.64.0.0/10，它们的回包始终没有到达。"},
	"dns.sum.dead":    {"No resolver answers (%d silent), and not because of 100.64.0.0/10.", "没有任何解析器应答（%d 个无响应），原因与 100.64.0.0/10 无关。"},
	"dns.sum.some":    {"%d of %d resolvers do not answer; lookups slow down while the resolver library tries them.", "%d/%d 个解析器无应答；系统解析库依次尝试它们时，解析会变慢。"},
	"probe.ok":        {"%s: answered in %s (%s).", "%s：%s 内应答（%s）。"},
	"probe.dropped":   {"%s: no answer; the reply was dropped by %s (its counter rose by %d while we waited).", "%s：无应答；回包被 %s 丢弃（等待期间其计数器增加了 %d）。"},
	"probe.predicted": {"%s: no answer; the rules say %s drops the reply (counters unavailable to confirm).", "%s：无应答；按规则推断，回包被 %s 丢弃（无法读取计数器加以确认）。"},
	"probe.fail":      {"%s: %s.", "%s：%s。"},
	"probe.stub":      {"%s: no answer, and none can come: it forwards to %s, whose replies %s drops (their own probes show its counter rise); not waited for.", "%s：无应答，也不可能有应答：它转发给 %s，而这些解析器的回包被 %s 丢弃（它们各自的探测显示了计数器的增长）；因此不再等待。"},

	// magicdns
	"magic.sum.nots":  {"Tailscale is not installed, so MagicDNS plays no part.", "未安装 Tailscale，因此与 MagicDNS 无关。"},
	"magic.acceptdns": {"accept-dns (MagicDNS) is %s.", "accept-dns（MagicDNS）为 %s。"},
	"magic.sum.out":   {"MagicDNS is ruled out: resolv.conf does not use 100.100.100.100, so turning it off (as the article tried) changes nothing.", "已排除 MagicDNS：resolv.conf 没有使用 100.100.100.100，所以像原文那样关闭它不会有任何效果。"},
	"magic.upstreams": {"MagicDNS forwards to the resolvers saved in %s: %s.", "MagicDNS 转发到 %s 中保存的解析器：%s。"},
	"magic.sum.ok":    {"MagicDNS is in the path and answers.", "MagicDNS 在解析路径上，且应答正常。"},
	"magic.sum.fail":  {"MagicDNS is in the path and fails: its upstream replies are dropped by the same rule, so turning it off alone will not help.", "MagicDNS 在解析路径上且失败：它的上游回包被同一条规则丢弃，仅关闭 MagicDNS 无济于事。"},

	// trace
	"trace.moved":         {"Counter of %s went %d → %d while the probes waited.", "探测期间 %s 的计数器从 %d 变为 %d。"},
	"trace.still":         {"Counter of %s stayed at %d.", "%s 的计数器保持为 %d。"},
	"trace.dropped":       {"%s: reply dropped by %s.", "%s：回包被 %s 丢弃。"},
	"trace.sum.culprit":   {"The replies die at rule #%d of %s (%s): its counter moved exactly when ours went unanswered.", "回包被 %[2]s（%[3]s）的第 %[1]d 条规则丢弃：我们的查询无应答时，正是它的计数器在增长。"},
	"trace.sum.nodrop":    {"No DROP rule on the INPUT path matches the replies.", "INPUT 路径上没有匹配这些回包的 DROP 规则。"},
	"trace.sum.still":     {"No DROP rule's counter moved during the probes.", "探测期间没有任何 DROP 规则的计数器变化。"},
	"trace.log.noroot":    {"LOG trace skipped: it inserts a firewall rule and needs root.", "已跳过 LOG 跟踪：它要插入一条防火墙规则，因此需要 root 权限。"},
	"trace.log.nothing":   {"LOG trace not needed: every resolver in 100.64.0.0/10 answered.", "无需 LOG 跟踪：100.64.0.0/10 内的解析器都有应答。"},
	"trace.log.nobackend": {"LOG trace: cannot write to the %s backend.", "LOG 跟踪：无法写入 %s 后端。"},
	"trace.log.nokmsg":    {"LOG trace: cannot read the kernel log: %s.", "LOG 跟踪：无法读取内核日志：%s。"},
	"trace.log.insert":    {"LOG trace: inserted at the top of %v: %s", "LOG 跟踪：已插入到 %v 顶部：%s"},
	"trace.log.inserterr": {"LOG trace: could not insert the LOG rule: %s.", "LOG 跟踪：无法插入 LOG 规则：%s。"},
	"trace.log.deleteerr": {"LOG trace: could NOT remove the LOG rule: %s. Run tsdoctor check again to sweep it.", "LOG 跟踪：未能删除 LOG 规则：%s。请再次运行 tsdoctor check 以清理。"},
	"trace.log.removed":   {"LOG trace: the temporary LOG rule was removed.", "LOG 跟踪：临时 LOG 规则已删除。"},
	"trace.log.line":      {"Kernel log: a packet from %s port %s arrived on %s and entered INPUT: %s", "内核日志：来自 %s 端口 %s 的包经 %s 到达并进入 INPUT：%s"},
	"trace.log.none":      {"LOG trace: the LOG rule matched no packet (its counter stayed at 0) and no kernel log line arrived: the replies did not reach INPUT.", "LOG 跟踪：LOG 规则没有匹配到任何包（计数器仍为 0），也没有内核日志：回包没有到达 INPUT。"},

	// The LOG trace that printed nothing, judged from the LOG rule's counter.
	"trace.log.silent":        {"LOG trace: the LOG rule matched %d packet(s) but no kernel log line arrived: the packets reached INPUT, and the kernel log is silenced here (see why below). The counters above are the evidence.", "LOG 跟踪：LOG 规则匹配到了 %d 个包，但没有任何内核日志：包已到达 INPUT，只是本机的内核日志被抑制了（原因见下）。上面的计数器就是证据。"},
	"trace.log.nocount":       {"LOG trace: no kernel log line arrived, and the LOG rule's own counter could not be read (%s): the silence proves nothing; the counters above are the evidence.", "LOG 跟踪：没有内核日志，且无法读取 LOG 规则自身的计数器（%s）：没有日志不能说明任何问题；上面的计数器就是证据。"},
	"trace.log.why.netns":     {"Why: this is not the host's initial network namespace (a container; net.netfilter.nf_log_all_netns is visible only in the initial one), and the kernel prints LOG lines from other namespaces only when it is 1. To see them: on the host run `sysctl -w net.netfilter.nf_log_all_netns=1`, rerun the trace, then set it back to 0; or rely on the counters (or `nft monitor trace`).", "原因：这里不是宿主机的初始网络命名空间（容器；net.netfilter.nf_log_all_netns 只在初始命名空间可见），而只有它为 1 时，内核才会打印其他命名空间中 LOG 规则产生的日志。若要看到日志：在宿主机上运行 `sysctl -w net.netfilter.nf_log_all_netns=1`，重新跟踪，然后改回 0；或者以计数器（或 `nft monitor trace`）为准。"},
	"trace.log.why.nobackend": {"Why: no kernel-log backend is registered for IPv4 (/proc/net/netfilter/nf_log: %s). To see the lines: `modprobe nf_log_syslog` (nf_log_ipv4 on kernels before 5.12), then rerun the trace.", "原因：没有为 IPv4 注册写入内核日志的后端（/proc/net/netfilter/nf_log：%s）。若要看到日志：运行 `modprobe nf_log_syslog`（5.12 之前的内核为 nf_log_ipv4），然后重新跟踪。"},
	"trace.log.why.unknown":   {"Why: not visible from here (no sign of a non-initial network namespace, a container's, or of a missing IPv4 kernel-log backend). The LOG rule's 20/s limit is not it: its counter counts only the packets it let through. If this is a container, the host's net.netfilter.nf_log_all_netns=0 is the likely cause; else check who reads /dev/kmsg (dmesg, journalctl -k). Or rely on the counters (or `nft monitor trace`).", "原因：从这里看不出来：既没有发现处于非初始网络命名空间（如容器）的迹象，也没有发现缺少 IPv4 内核日志后端。LOG 规则的 20/秒 限速不是原因：它的计数器只统计通过了限速的包。如果这是容器，最可能的原因是宿主机的 net.netfilter.nf_log_all_netns=0；否则请检查 /dev/kmsg 的读取方（dmesg、journalctl -k）。或者以计数器（或 `nft monitor trace`）为准。"},

	// rules
	"rules.swept":       {"Removed a LOG rule left by an earlier tsdoctor run: %s", "已删除之前 tsdoctor 运行遗留的 LOG 规则：%s"},
	"rules.backenderr":  {"%s: %s", "%s：%s"},
	"rules.chain":       {"%s table %s chain %s (%d rules):", "%s：%s 表，%s 链（%d 条规则）："},
	"rules.multi":       {"Tailscale chains exist in more than one backend (%s); a DROP in any of them is final.", "多个后端中都有 Tailscale 的链（%s）；其中任何一个后端的 DROP 都是最终裁决。"},
	"rules.nfoff":       {"tailscaled runs with --netfilter-mode=off: it installs no rules.", "tailscaled 以 --netfilter-mode=off 运行：它不安装任何规则。"},
	"rules.notrunning":  {"tailscaled is not running, so its rules are not installed now; they come back when it starts.", "tailscaled 未运行，因此当前没有它的规则；它启动后规则会重新出现。"},
	"rules.sum.none":    {"No Tailscale chains on the INPUT path.", "INPUT 路径上没有 Tailscale 的链。"},
	"rules.attr.old":    {"The tailnet grants disable-linux-cgnat-drop-rule, but tailscaled %s predates it (it arrived in %s) and still drops: upgrade tailscaled and the DROP becomes RETURN by itself.", "tailnet 已授予 disable-linux-cgnat-drop-rule，但 tailscaled %s 早于该属性（%s 起支持），仍会丢弃：升级 tailscaled 后，这条 DROP 会自动变为 RETURN。"},
	"rules.return":      {"The CGNAT rule returns instead of dropping (node attribute disable-linux-cgnat-drop-rule): %s", "CGNAT 规则为 RETURN 而非 DROP（节点属性 disable-linux-cgnat-drop-rule）：%s"},
	"rules.sum.return":  {"Tailscale's chains are present but do not drop 100.64.0.0/10.", "Tailscale 的链存在，但不会丢弃 100.64.0.0/10。"},
	"rules.order.old":   {"Old rule order (tailscaled before 1.98): the CGNAT DROP comes before the ACCEPT for tailscale0.", "旧规则顺序（tailscaled 1.98 之前）：CGNAT DROP 位于 tailscale0 的 ACCEPT 之前。"},
	"rules.order.new":   {"New rule order: ACCEPT for tailscale0 and the magicsock port first, then the CGNAT DROP.", "新规则顺序：先放行（ACCEPT）tailscale0 和 magicsock 端口，再执行 CGNAT DROP。"},
	"rules.sum.culprit": {"Rule #%d of %s (%s) drops 100.64.0.0/10 not arriving on tailscale0 (%d packets so far).", "%[2]s（%[3]s）第 %[1]d 条规则丢弃不是从 tailscale0 进入的 100.64.0.0/10 流量（迄今已丢弃 %[4]d 个包）。"},
	"rules.sum.latent":  {"Rule #%d of %s (%s) drops 100.64.0.0/10 not arriving on tailscale0, but nothing this host uses was hit.", "%[2]s（%[3]s）第 %[1]d 条规则丢弃不是从 tailscale0 进入的 100.64.0.0/10 流量，但本机用到的服务目前都没有受到影响。"},

	// services
	"svc.cloud":          {"This host is an instance of %s (%s): its services in 100.64.0.0/10 (%s) depend on the same replies getting through.", "本机是%s的实例（%s）：它在 100.64.0.0/10 内的服务（%s）同样依赖回包能够进入。"},
	"svc.cloud.dnsonly":  {"This host is an instance of %s (%s); of its services in 100.64.0.0/10, its profile names only the private DNS.", "本机是%s的实例（%s）；在 100.64.0.0/10 内的服务中，它的云配置只列出了内网 DNS。"},
	"svc.cloud.resolver": {"The resolvers are %s's private DNS (%s); DMI does not say this is one of its instances, so its other services are not probed.", "解析器是%s的内网 DNS（%s）；DMI 未表明本机是它的实例，因此不探测它的其他服务。"},
	"svc.cgnat.resolver": {"No cloud profile matches this host, but its resolver %s is in 100.64.0.0/10: a cloud tsdoctor has no profile for, or an ISP's carrier-grade NAT (at home, on Starlink). tailscaled's rule drops its replies like those of any address in that range.", "没有与本机匹配的云配置，但它的解析器 %s 位于 100.64.0.0/10：可能是 tsdoctor 尚无配置的云，也可能是运营商级 NAT（家庭宽带、Starlink）。tailscaled 的规则会像对待该网段内任何地址一样丢弃它的回包。"},
	"svc.cgnat.gateway":  {"No cloud profile matches this host, but its default gateway %s is in 100.64.0.0/10: an ISP's carrier-grade NAT (at home, on Starlink) or a cloud tsdoctor has no profile for.", "没有与本机匹配的云配置，但它的默认网关 %s 位于 100.64.0.0/10：可能是运营商级 NAT（家庭宽带、Starlink），也可能是 tsdoctor 尚无配置的云。"},
	"svc.names":          {"Names only %s's private DNS resolves: %s.", "只有%s内网 DNS 能解析的域名：%s。"},
	"svc.blocked":        {"%s %s via %s: replies would be dropped by %s.", "%s %s（经 %s）：回包会被 %s 丢弃。"},
	"svc.ok":             {"%s %s via %s: replies pass.", "%s %s（经 %s）：回包可以通过。"},
	"svc.sum.none":       {"No other service in 100.64.0.0/10 found (nothing to probe; no such routes or neighbours).", "未发现 100.64.0.0/10 内的其他服务（没有需要探测的服务；也没有相关的路由或邻居表项）。"},
	"svc.sum.blocked":    {"%d other service(s) in 100.64.0.0/10 are cut off.", "100.64.0.0/10 内另有 %d 个服务被拦截。"},
	"svc.sum.ok":         {"Other services in 100.64.0.0/10 are reachable.", "100.64.0.0/10 内的其他服务可达。"},

	// Step titles.
	"step.connectivity": {"Connectivity", "网络连通性"},
	"step.dns":          {"DNS", "DNS 解析"},
	"step.magicdns":     {"MagicDNS", "MagicDNS"},
	"step.trace":        {"Trace", "丢包跟踪"},
	"step.rules":        {"Rules", "规则排查"},
	"step.services":     {"Services", "其他服务"},

	// Explanations.
	"explain.connectivity": {
		"First rule out the network itself. If the internet answers by IP but names do not resolve, the fault is in DNS, not the link. SSH over Tailscale working proves nothing here: it arrives on tailscale0, which tailscaled accepts.",
		"先排除网络本身。如果按 IP 能访问公网而域名解析失败，问题在 DNS 而不在链路。能经 Tailscale 用 SSH 登录，在这里说明不了什么：这些流量从 tailscale0 进入，tailscaled 会放行。"},
	"explain.dns": {
		"Each resolver is asked separately, over UDP and TCP, with a tight deadline. On Alibaba Cloud the VPC resolvers are 100.100.2.136 and 100.100.2.138, pushed by DHCP; on Huawei Cloud they are in 100.125.0.0/16 (100.125.1.250, say); behind an ISP's carrier-grade NAT the router's resolver may be too. They sit in 100.64.0.0/10, the range RFC 6598 reserves for carrier-grade NAT and that Tailscale uses for its own addresses. Their replies arrive on eth0, not tailscale0.",
		"逐个查询每个解析器，UDP 和 TCP 各一次，超时设得很短。阿里云 VPC 的解析器是 DHCP 下发的 100.100.2.136 和 100.100.2.138；华为云的位于 100.125.0.0/16（例如 100.125.1.250）；在运营商级 NAT 之后，路由器提供的解析器也可能如此。它们位于 100.64.0.0/10：RFC 6598 为运营商级 NAT 保留的网段，Tailscale 也用它分配自己的地址。它们的回包从 eth0 而不是 tailscale0 进入。"},
	"explain.magicdns": {
		"MagicDNS (100.100.100.100) is the first suspect because it rewrites resolv.conf. It matters only if resolv.conf points at it. The article turned it off and nothing changed: the resolver in use was the VPC's own.",
		"MagicDNS（100.100.100.100）会改写 resolv.conf，因此最先被怀疑。只有 resolv.conf 指向它时才相关。原文关闭了它，问题依旧：实际使用的是 VPC 自己的解析器。"},
	"explain.trace": {
		"Every rule counts the packets it matches. Read the DROP rules' counters, send a query, read them again: the rule whose count moved while the query went unanswered is the one that ate the reply, and nothing had to be inserted. The article's LOG rule shows the same in the kernel log (SRC=100.100.2.136 SPT=53); tsdoctor inserts it only when asked and always removes it.",
		"每条规则都会统计匹配的包数。读取 DROP 规则的计数器，发一次查询，再读一次：查询无应答时计数器增长的那条规则就是吞掉回包的规则，整个过程无需插入任何规则。原文的 LOG 规则能在内核日志中看到同样的结果（SRC=100.100.2.136 SPT=53）；tsdoctor 只在你要求时才插入它，并且一定会删除。"},
	"explain.rules": {
		"tailscaled installs `-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP`: anything claiming a Tailscale address that did not come through tailscale0 is treated as spoofed. That is right by RFC 6598, but clouds put their own services in the same range (Alibaba Cloud its VPC DNS, metadata, mirrors and load-balancer health checks; Huawei Cloud its private DNS), and so do ISPs' carrier-grade NATs, so their replies are dropped too. Before 1.98 the DROP came before the ACCEPT rules; since 1.98 a node attribute (disable-linux-cgnat-drop-rule) turns it into RETURN. The rules may live in iptables-nft, iptables-legacy or native nftables; tsdoctor reads all three.",
		"tailscaled 会安装 `-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP`：源地址是 Tailscale 地址、却不是从 tailscale0 进入的包，都被视为伪造。按 RFC 6598 这没错，但云厂商把自己的服务也放在这个网段（阿里云的 VPC DNS、元数据、镜像源和负载均衡健康检查；华为云的内网 DNS），运营商级 NAT 也是如此，它们的回包也被丢弃。1.98 之前 DROP 位于 ACCEPT 规则之前；1.98 起，节点属性 disable-linux-cgnat-drop-rule 可以把这条 DROP 变成 RETURN。规则可能在 iptables-nft、iptables-legacy 或原生 nftables 中；tsdoctor 三者都会读取。"},
	"explain.services": {
		"DNS is only the first casualty. Which other services a cloud keeps in 100.64.0.0/10 comes from its profile (cloud/profiles.yaml): on Alibaba Cloud ECS the metadata service (100.100.100.200), the internal mirrors (mirrors.cloud.aliyuncs.com), NTP and SLB/CLB health checks; elsewhere Tencent CLB and Huawei ELB health checks, AWS EKS custom pod networks and ISP CGNAT gateways live there too.",
		"DNS 只是第一个受害者。一朵云还有哪些服务位于 100.64.0.0/10，取自它的云配置（cloud/profiles.yaml）：在阿里云 ECS 上，有元数据服务（100.100.100.200）、内网镜像源（mirrors.cloud.aliyuncs.com）、NTP 以及 SLB/CLB 健康检查；此外，腾讯云 CLB、华为云 ELB 的健康检查、AWS EKS 自定义 Pod 网络和运营商 CGNAT 网关也在这里。"},
}
