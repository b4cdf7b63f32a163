package i18n

// The remedies' strings (package fixes and `tsdoctor fix`).
var fixesCatalog = map[string]entry{
	"fix.1.title":        {"Delete the DROP rule", "删除 DROP 规则"},
	"fix.1.changes":      {"Deletes tailscaled's `-s 100.64.0.0/10 ! -i tailscale0 -j DROP` from ts-input, on the backend that holds it.", "从 ts-input 中删除 tailscaled 的 `-s 100.64.0.0/10 ! -i tailscale0 -j DROP`(在实际持有它的后端上)。"},
	"fix.1.security":     {"Packets claiming a Tailscale address from outside tailscale0 are no longer dropped (anti-spoofing off until the rule returns).", "来自 tailscale0 以外、冒充 Tailscale 地址的包不再被丢弃(规则恢复前防伪造失效)。"},
	"fix.1.loses":        {"Nothing else, until tailscaled rebuilds its chains and the DROP is back.", "不影响其他功能;但 tailscaled 重建链后 DROP 会回来。"},
	"fix.1.cost":         {"None.", "无。"},
	"fix.1.note.rebuild": {"The DROP comes back as soon as tailscaled rebuilds its chains: on restart, reboot, `tailscale down`/`up`, or a netfilter mode change. Use it to get DNS back now, then pick a lasting remedy.", "tailscaled 一旦重建链(重启、开机、`tailscale down`/`up`、切换 netfilter 模式),DROP 就会回来。可先用它立刻恢复 DNS,再选择持久方案。"},

	"fix.2.title":        {"Whitelist the blocked addresses", "将被拦截的地址加入白名单"},
	"fix.2.changes":      {"Inserts ACCEPT rules at the top of ts-input for exactly the addresses found blocked, and installs a systemd unit that re-inserts them after tailscaled starts.", "在 ts-input 顶部为检测到被拦截的地址插入 ACCEPT 规则,并安装一个在 tailscaled 启动后重新插入规则的 systemd 单元。"},
	"fix.2.security":     {"Narrow by default: only replies from those addresses (source /32 with the service's protocol and port, or conntrack ESTABLISHED,RELATED). The rest of 100.64.0.0/10 stays dropped.", "默认收窄:只放行这些地址的回包(源 /32 加服务的协议和端口,或 conntrack ESTABLISHED,RELATED)。100.64.0.0/10 的其余部分仍被丢弃。"},
	"fix.2.loses":        {"Nothing.", "无。"},
	"fix.2.cost":         {"A oneshot unit. Between a tailscaled restart and the unit's run (about a second) the VPC DNS is blocked; a chain rebuild without a restart (netfilter mode change, `tailscale up`) is not caught: use the guard for that.", "一个 oneshot 单元。tailscaled 重启后到单元运行前(约一秒)VPC DNS 仍被拦截;不重启的链重建(切换 netfilter 模式、`tailscale up`)无法覆盖,需要守护(方案 3)。"},
	"fix.2.note.wide":    {"Wide shape: everything from these addresses is accepted, not only their replies.", "宽松模式:接受这些地址的所有流量,而不仅是回包。"},
	"fix.2.note.rebuild": {"tailscaled deletes these rules whenever it rebuilds its chains; the unit puts them back after each tailscaled start. Running it \"early at boot\", as the article says, is too early: tailscaled would delete them.", "tailscaled 每次重建链都会删除这些规则;该单元在每次 tailscaled 启动后重新插入。按原文所说“开机尽早运行”太早了:tailscaled 会把它们删掉。"},

	"fix.3.title":       {"Guard: re-apply the whitelist automatically", "守护:自动重新应用白名单"},
	"fix.3.changes":     {"Applies the whitelist now and installs a service that re-applies it the moment tailscaled rebuilds ts-input (nftables change events; polling for iptables-legacy), or the article's polling shell script.", "立即应用白名单,并安装一个服务:tailscaled 一重建 ts-input 就重新应用(基于 nftables 变更事件;iptables-legacy 用轮询),或采用原文的轮询脚本。"},
	"fix.3.security":    {"As the whitelist; the guard runs as root.", "同白名单;守护进程以 root 运行。"},
	"fix.3.loses":       {"Nothing.", "无。"},
	"fix.3.cost":        {"A small daemon; the window after a rebuild is milliseconds (a polling script: up to its interval).", "一个小型常驻进程;重建后的空窗期为毫秒级(轮询脚本则最长为其间隔)。"},
	"fix.3.note.script": {"The polling script checks every %s s: after each rebuild the VPC DNS can stay blocked that long.", "轮询脚本每 %s 秒检查一次:每次重建后 VPC DNS 最长会被拦截这么久。"},
	"fix.3.note.binary": {"The unit runs %s: install tsdoctor at a lasting path (e.g. /usr/local/bin/tsdoctor) and rerun with --binary.", "单元将运行 %s:请把 tsdoctor 安装到固定路径(如 /usr/local/bin/tsdoctor)并用 --binary 重新执行。"},

	"fix.5.title":           {"Turn tailscaled's netfilter off", "关闭 tailscaled 的 netfilter"},
	"fix.5.changes":         {"Runs `tailscale set --netfilter-mode=off`: tailscaled removes all its ts-* chains and stops managing the firewall.", "执行 `tailscale set --netfilter-mode=off`:tailscaled 删除所有 ts-* 链,不再管理防火墙。"},
	"fix.5.security":        {"No anti-spoofing DROP, and nothing of tailscaled's protects or accepts Tailscale traffic: your own firewall must.", "没有防伪造 DROP,tailscaled 也不再放行或保护 Tailscale 流量:需由你自己的防火墙负责。"},
	"fix.5.loses":           {"Subnet routing and exit node forwarding (no MASQUERADE, no forward rules); tailscale0 traffic is not accepted if INPUT's policy is DROP.", "子网路由与出口节点转发(无 MASQUERADE、无转发规则);若 INPUT 默认策略为 DROP,tailscale0 的流量将不被接受。"},
	"fix.5.cost":            {"None.", "无。"},
	"fix.5.note.exitnode":   {"This node is an exit node: with netfilter off it stops masquerading and forwarding for its clients. Their internet access through it breaks.", "本节点是出口节点:关闭 netfilter 后将不再为客户端做 MASQUERADE 和转发,经由它上网的客户端会断网。"},
	"fix.5.note.routes":     {"This node advertises routes (%s): with netfilter off, subnet routing loses its forward and MASQUERADE rules.", "本节点通告了路由(%s):关闭 netfilter 后,子网路由将失去转发与 MASQUERADE 规则。"},
	"fix.5.note.policydrop": {"INPUT's policy is DROP here: with tailscaled's `-i tailscale0 -j ACCEPT` gone, Tailscale traffic (including SSH over Tailscale) is dropped unless you accept it yourself.", "此处 INPUT 默认策略为 DROP:tailscaled 的 `-i tailscale0 -j ACCEPT` 消失后,Tailscale 流量(包括经 Tailscale 的 SSH)会被丢弃,除非你自行放行。"},
	"fix.5.note.lost":       {"Undo sets the previous mode again; tailscaled then rebuilds its chains, DROP included.", "撤销会恢复之前的模式;tailscaled 随后重建链,包括 DROP。"},

	"fix.6.title":       {"Node attribute disable-linux-cgnat-drop-rule", "节点属性 disable-linux-cgnat-drop-rule"},
	"fix.6.changes":     {"Tailscale's own fix (1.98+): a tailnet admin grants this node the attribute in the policy file; tailscaled then writes RETURN instead of DROP. Nothing changes on this host.", "Tailscale 官方修复(1.98+):tailnet 管理员在策略文件中为本节点授予该属性;tailscaled 随后写入 RETURN 而非 DROP。本机不做任何改动。"},
	"fix.6.security":    {"As the upstream default minus the CGNAT anti-spoofing DROP on this node.", "与上游默认一致,仅去掉本节点上的 CGNAT 防伪造 DROP。"},
	"fix.6.loses":       {"Nothing.", "无。"},
	"fix.6.cost":        {"Needs a tailnet admin and tailscaled 1.98 or later.", "需要 tailnet 管理员,且 tailscaled 不低于 1.98。"},
	"fix.6.step.policy": {"Ask a tailnet admin to add this to the policy file (Access controls), then save:", "请 tailnet 管理员在策略文件(访问控制)中加入以下内容并保存:"},
	"fix.6.step.verify": {"Once saved, the attribute reaches this node within seconds; tsdoctor checks for it:", "保存后几秒内属性会下发到本节点;tsdoctor 会检查:"},
	"fix.6.note.notags": {"%s has no tags: the snippet targets its owner, so all of that user's nodes get the attribute. Tagging the node (e.g. tag:aliyun) is narrower.", "%s 没有标签:该片段以其所有者为目标,该用户的所有节点都会获得此属性。给节点打标签(如 tag:aliyun)范围更小。"},

	"fix.why.nodrop":      {"no CGNAT DROP rule on this host", "本机没有 CGNAT DROP 规则"},
	"fix.why.notailscale": {"Tailscale is not installed", "未安装 Tailscale"},
	"fix.why.notrunning":  {"tailscaled is not running", "tailscaled 未运行"},
	"fix.why.nfoff":       {"netfilter is already off", "netfilter 已经关闭"},
	"fix.why.oldversion":  {"tailscaled %s predates the attribute (needs %s or later): upgrade first", "tailscaled %s 早于该属性(需要 %s 或更高):请先升级"},
	"fix.why.attrlive":    {"the attribute is already live on this node", "该属性已在本节点生效"},
	"fix.unit.nosystemd":  {"systemd is not running here, so %s is installed but not enabled: run its script after each tailscaled start.", "此处未运行 systemd,%s 已安装但未启用:请在每次 tailscaled 启动后运行其脚本。"},

	"step.fw.insert":       {"Insert into %s %s/%s:", "插入到 %s %s/%s:"},
	"step.fw.delete":       {"Delete from %s %s/%s:", "从 %s %s/%s 删除:"},
	"step.file.write":      {"Write %s (mode %s):", "写入 %s(权限 %s):"},
	"step.file.remove":     {"Remove %s:", "删除 %s:"},
	"step.command":         {"Run:", "执行:"},
	"step.command.systemd": {"Check systemd is there (undo reloads it after restoring the files):", "确认 systemd 可用(撤销时会在恢复文件后重新加载它):"},

	"verify.restart.delete-drop":   {"On the next tailscaled restart the DROP comes back and the VPC DNS is blocked again.", "下次 tailscaled 重启时 DROP 会回来,VPC DNS 再次被拦截。"},
	"verify.reboot.delete-drop":    {"After a reboot the DROP is back.", "重启系统后 DROP 会回来。"},
	"verify.restart.whitelist":     {"On a tailscaled restart its chains are rebuilt without these rules; the unit puts them back right after (if systemd runs it).", "tailscaled 重启时会重建链并丢掉这些规则;该单元随后立即重新插入(前提是 systemd 运行它)。"},
	"verify.reboot.whitelist":      {"After a reboot the unit inserts them once tailscaled is up.", "系统重启后,单元会在 tailscaled 就绪后插入规则。"},
	"verify.restart.guard":         {"On a tailscaled restart the guard re-applies the whitelist within milliseconds of the chain being rebuilt.", "tailscaled 重启时,守护在链重建后数毫秒内重新应用白名单。"},
	"verify.reboot.guard":          {"After a reboot the guard service starts with tailscaled (if enabled).", "系统重启后,守护服务随 tailscaled 启动(如已启用)。"},
	"verify.restart.public-dns":    {"tailscaled restarts do not matter: DNS no longer goes to 100.100.2.x.", "tailscaled 重启没有影响:DNS 已不再发往 100.100.2.x。"},
	"verify.reboot.public-dns":     {"The resolver setting is persistent and survives a reboot.", "解析器设置是持久的,重启后依然有效。"},
	"verify.restart.netfilter-off": {"The netfilter mode is a saved preference: it stays off across restarts.", "netfilter 模式是已保存的偏好设置:重启后保持关闭。"},
	"verify.reboot.netfilter-off":  {"It stays off after a reboot.", "系统重启后保持关闭。"},
	"verify.restart.node-attr":     {"The attribute comes from the control server: it stays across restarts.", "该属性来自控制服务器:重启后依然有效。"},
	"verify.reboot.node-attr":      {"It stays after a reboot.", "系统重启后依然有效。"},
	"verify.notallowed":            {"%s (%s) is still blocked: it was not in the whitelist; add it with --allow.", "%s(%s)仍被拦截:它不在白名单中;可用 --allow 添加。"},
	"verify.nosystemd":             {"systemd is not running here: nothing re-applies the rules after a tailscaled restart unless you run the script or `tsdoctor guard`.", "此处未运行 systemd:除非你运行脚本或 `tsdoctor guard`,tailscaled 重启后没有任何东西会重新应用规则。"},
	"verify.4.stillblocked":        {"%d address(es) in 100.64.0.0/10 are still blocked (metadata, mirrors): public DNS does not help those.", "100.64.0.0/10 中仍有 %d 个地址被拦截(元数据、镜像等):公共 DNS 对它们无效。"},
	"verify.5.chainleft":           {"%s %s/%s is still there.", "%s %s/%s 仍然存在。"},
	"verify.6.pending":             {"The attribute is not in this node's CapMap yet: the policy change has not reached it.", "该属性尚未出现在本节点的 CapMap 中:策略修改还未下发。"},
	"verify.dns.ok":                {"DNS: the resolvers in resolv.conf answer.", "DNS:resolv.conf 中的解析器有应答。"},
	"verify.dns.fail":              {"DNS: the resolvers in resolv.conf still do not answer.", "DNS:resolv.conf 中的解析器仍无应答。"},
}

func init() {
	for k, v := range fixesCatalog {
		if _, dup := catalog[k]; dup {
			panic("i18n: duplicate key " + k)
		}
		catalog[k] = v
	}
}

var fixCLICatalog = map[string]entry{
	"fixcli.remedy":        {"Remedy", "修复方案"},
	"fixcli.notapplies":    {"Does not apply here: %s.", "此处不适用:%s。"},
	"fixcli.plan":          {"Plan (nothing has changed yet):", "计划(尚未做任何改动):"},
	"fixcli.plan.empty":    {"Plan: nothing to change.", "计划:无需改动。"},
	"fixcli.dryrun":        {"Dry run: nothing was changed.", "演练模式:未做任何改动。"},
	"fixcli.noconfirm":     {"no terminal to confirm on: review the plan with --dry-run, then rerun with --yes", "没有可确认的终端:请先用 --dry-run 查看计划,再加 --yes 重新执行"},
	"fixcli.confirm":       {"Apply this plan? [y/N] ", "执行该计划?[y/N] "},
	"fixcli.cancelled":     {"Cancelled: nothing was changed.", "已取消:未做任何改动。"},
	"fixcli.nothing":       {"Already in place: nothing to change.", "已经生效:无需改动。"},
	"fixcli.applied":       {"Applied; recorded as %s. `tsdoctor undo` reverts it.", "已执行;记录为 %s。`tsdoctor undo` 可撤销。"},
	"fixcli.verified":      {"Verified.", "验证通过。"},
	"fixcli.notverified":   {"Not verified.", "验证未通过。"},
	"fixcli.blocked":       {"still blocked: %s:%s (%s)", "仍被拦截:%s:%s(%s)"},
	"fixcli.onrestart":     {"tailscaled restart:", "tailscaled 重启:"},
	"fixcli.onreboot":      {"reboot:", "系统重启:"},
	"fixcli.undone":        {"Undone: %s", "已撤销:%s"},
	"fixcli.same":          {"Everything it touched is as it was before.", "所涉及的一切都已恢复原状。"},
	"fixcli.nothingtoundo": {"Nothing to undo.", "没有可撤销的改动。"},
}

func init() {
	for k, v := range fixCLICatalog {
		if _, dup := catalog[k]; dup {
			panic("i18n: duplicate key " + k)
		}
		catalog[k] = v
	}
}
