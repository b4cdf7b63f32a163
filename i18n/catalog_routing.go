package i18n

// The second form of the conflict: Tailscale routes that capture the VPC's
// services (checks/routing.go, fixes/policy_route.go, fixes/accept_routes.go).
var routingCatalog = map[string]entry{
	"dns.sum.captured": {"No resolver answers: the queries to %d of %d resolvers are sent into tailscale0 and never leave this host.",
		"没有任何 DNS 服务器应答：发往 %d/%d 个解析器的查询被送进了 tailscale0，根本没有离开本机。"},
	"probe.captured": {"%s: not sent: the route sends it into %s (%s, table %s), so it never reaches the VPC.",
		"%s：未发送：路由把它送进 %s（%s，路由表 %s），它到不了 VPC。"},
	"route.captured": {"Route to %s: %s in table %s, device %s: into Tailscale, not the VPC.",
		"到 %s 的路由：路由表 %[3]s 中的 %[2]s，设备 %[4]s：进了 Tailscale，而不是 VPC。"},
	"verdict.blocked.route": {"BLOCKED: Tailscale's routes send the packets for %s into %s; they never reach the VPC.",
		"已阻断：Tailscale 的路由把发往 %s 的包送进了 %s，它们到不了 VPC。"},
	"verdict.route": {"Culprit: route %s in table %s, device %s (%s, peer %q).", "元凶：路由表 %[2]s 中的路由 %[1]s，设备 %[3]s（%[4]s，节点 %[5]q）。"},
	"verdict.next.route": {"Fix it: `sudo tsdoctor` (the wizard) or `sudo tsdoctor fix --remedy N`: 7 a policy rule that routes the VPC services around table 52, 8 stop accepting subnet routes.",
		"修复：运行 `sudo tsdoctor`（向导）或 `sudo tsdoctor fix --remedy N`：7 用策略路由规则让 VPC 服务绕开 52 号表，8 不再接受子网路由。"},
	"tui.verdict.route": {"Blocked: Tailscale's routes send the VPC services into tailscale0", "被拦截：Tailscale 的路由把 VPC 服务送进了 tailscale0"},
	"tui.rec.route": {"Recommended: the VPC services are routed into tailscale0 by %s in table %s; a policy rule before tailscaled's sends just them to the main table and costs nothing else.",
		"推荐：VPC 服务被路由表 %[2]s 中的 %[1]s 送进了 tailscale0；在 tailscaled 的规则之前加一条策略规则，只把它们送回 main 表，别的都不影响。"},
	"route.ok": {"Route to %s: %s in table %s via %s.", "到 %s 的路由：路由表 %[3]s 中的 %[2]s，经 %[4]s。"},
	"route.why.exit": {"Why: this host uses %s as its exit node, so tailscaled routes everything that is not on-link into tailscale0; the VPC DNS is reached through the gateway, so it goes too.",
		"原因：本机把 %s 用作出口节点，tailscaled 会把所有非直连（on-link）的流量都路由进 tailscale0；VPC DNS 要经网关到达，所以也被带走了。"},
	"route.why.subnet": {"Why: this host accepts subnet routes (--accept-routes) and peer %[2]s advertises %[1]s, which covers the VPC service.",
		"原因：本机接受子网路由（--accept-routes），而节点 %[2]s 通告了 %[1]s，它覆盖了这个 VPC 服务。"},
	"route.why.peer": {"Why: peer %s has the Tailscale address %s, the same as the VPC service; tailscaled routes each peer's address into tailscale0.",
		"原因：节点 %s 的 Tailscale 地址是 %s，与这个 VPC 服务相同；tailscaled 会把每个节点的地址路由进 tailscale0。"},
	"route.why.other": {"Why: %s in table %s, device %s is not explained by Tailscale's status (no exit node, no peer advertises it): it was added by hand or by another tool.",
		"原因：路由表 %[2]s 中的 %[1]s（设备 %[3]s）无法用 Tailscale 的状态解释（没有出口节点，也没有节点通告它）：它是手工或其他工具添加的。"},

	"explain.routing": {
		"Before a packet leaves, the kernel picks a route. It first reads the policy rules (`ip rule`), in priority order. tailscaled adds four: at 5210–5250 its own packets (marked 0x80000) use the normal tables, and at 5270 everything else first looks in table 52, tailscaled's own table. Table 52 holds the routes Tailscale wants: each peer's address, the subnets you accepted with --accept-routes, and with an exit node a default route. All of them lead into tailscale0. So when table 52 has a route that covers the VPC DNS (100.100.2.0/24, 100.64.0.0/10, or the exit node's 0.0.0.0/0), the query goes into the tunnel instead of out of eth0, and no reply ever comes. No firewall rule is involved; a rule before 5270 that sends exactly the VPC services to the main table fixes it.",
		"数据包离开本机之前，内核要先选路由。它先按优先级读取策略路由规则（`ip rule`）。tailscaled 会加四条：5210–5250 让它自己的包（标记 0x80000）走普通路由表；5270 让其他所有包先查 52 号表，也就是 tailscaled 自己的路由表。52 号表里是 Tailscale 需要的路由：每个节点的地址、用 --accept-routes 接受的子网，以及使用出口节点时的默认路由。它们都指向 tailscale0。所以当 52 号表里有一条覆盖 VPC DNS 的路由（100.100.2.0/24、100.64.0.0/10，或出口节点的 0.0.0.0/0）时，查询就进了隧道，而不是从 eth0 发出，也就永远等不到应答。这里与防火墙规则无关；在 5270 之前加一条规则，只把 VPC 服务送回 main 表，就能解决。"},

	"fix.7.title": {"Route the VPC services around Tailscale", "让 VPC 服务绕开 Tailscale 的路由"},
	"fix.7.changes": {"Adds a policy rule per blocked VPC service, before tailscaled's (e.g. `ip rule add to 100.100.2.136/32 lookup main priority 5200`), over rtnetlink, and a oneshot unit that adds them again at boot.",
		"为每个被截走的 VPC 服务加一条优先于 tailscaled 的策略路由规则（如 `ip rule add to 100.100.2.136/32 lookup main priority 5200`，通过 rtnetlink），并安装一个开机时重新添加它们的 oneshot 单元。"},
	"fix.7.security": {"None: only packets to those addresses use the main table; everything else still follows Tailscale's routes.",
		"无：只有发往这些地址的包走 main 表；其他流量仍按 Tailscale 的路由走。"},
	"fix.7.loses": {"Those exact addresses are no longer reachable through the tailnet (the subnet router or exit node); the rest of its routes stay.",
		"这几个地址不再经 tailnet（子网路由器或出口节点）访问；其余路由不受影响。"},
	"fix.7.cost": {"A oneshot unit. tailscaled leaves rules it did not make alone, so a restart keeps them; the unit restores them after a reboot.",
		"一个 oneshot 单元。tailscaled 不会删除别人加的规则，重启 tailscaled 后规则仍在；重启机器后由该单元恢复。"},
	"fix.7.note.exit": {"--exit-node-allow-lan-access would not help: it only exempts the prefixes that are on-link on this host's interfaces (eth0's own subnet). The VPC DNS is reached through the gateway, so it is not on-link and still goes to the exit node; these rules are what exempts it.",
		"--exit-node-allow-lan-access 无济于事：它只放行本机网卡直连（on-link）的网段（eth0 自己的子网）。VPC DNS 要经网关到达，不算直连，仍会走出口节点；真正能放行它的是这些规则。"},
	"fix.7.note.main":   {"The rules send the services to the main table, whose route to them is %s.", "这些规则把服务送回 main 表，其中到它们的路由是 %s。"},
	"fix.why.nocapture": {"No VPC service is routed into tailscale0.", "没有 VPC 服务被路由进 tailscale0。"},
	"fix.why.nomain":    {"The main table has no route to %s that avoids tailscale0: a rule sending it there would not help.", "main 表中没有不经 tailscale0 到达 %s 的路由：把它送回 main 表也无济于事。"},
	"step.rule.add":     {"Add a policy rule (over rtnetlink):", "添加策略路由规则（通过 rtnetlink）："},
	"step.rule.del":     {"Delete a policy rule (over rtnetlink):", "删除策略路由规则（通过 rtnetlink）："},

	"fix.7.short": {"policy rule around table 52", "绕开 52 号表的策略路由规则"},
	"fix.8.short": {"stop accepting subnet routes", "不再接受子网路由"},

	"fix.8.title": {"Stop accepting subnet routes", "不再接受子网路由"},
	"fix.8.changes": {"Runs `tailscale set --accept-routes=false`: tailscaled removes every accepted subnet route from table 52.",
		"执行 `tailscale set --accept-routes=false`：tailscaled 从 52 号表删除所有已接受的子网路由。"},
	"fix.8.security": {"None.", "无。"},
	"fix.8.loses": {"Every subnet another node advertises (not only the VPC's): this host can no longer reach those networks through the tailnet. Peers' own Tailscale addresses and exit nodes are unaffected.",
		"其他节点通告的所有子网（不只是 VPC 的）：本机不能再经 tailnet 访问那些网络。节点自身的 Tailscale 地址和出口节点不受影响。"},
	"fix.8.cost":        {"None; it is a pref, kept across restarts and reboots.", "无；这是一个偏好设置，重启 tailscaled 或机器后都保留。"},
	"fix.8.note.peers":  {"Subnet routes this host will no longer use: %s.", "本机将不再使用的子网路由：%s。"},
	"fix.why.notsubnet": {"The VPC services are not captured by an accepted subnet route.", "VPC 服务并非被已接受的子网路由截走。"},
}

func init() { merge(routingCatalog) }
