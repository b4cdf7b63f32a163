package i18n

// Remedy 4's strings (public DNS, package fixes).
var publicDNSCatalog = map[string]entry{
	"fix.4.title": {"Use public DNS instead of the VPC DNS", "改用公共 DNS，不再使用 VPC 内网 DNS"},
	"fix.4.changes": {"Points this host at public resolvers (the cloud's own, where its profile names them, or those given with --dns) through whatever manages its DNS (netplan and systemd-resolved, NetworkManager, dhclient, or resolv.conf itself), so DNS no longer depends on the private resolvers in 100.64.0.0/10. tailscaled's DROP stays.",
		"通过本机实际管理 DNS 的组件（netplan 与 systemd-resolved、NetworkManager、dhclient，或直接改 resolv.conf）把解析器换成公共 DNS（云配置中列出的该云自己的公共 DNS，或用 --dns 指定的），DNS 不再依赖 100.64.0.0/10 内的内网解析器。tailscaled 的 DROP 规则保持不变。"},
	"fix.4.security": {"DNS queries leave the VPC for a public resolver: it sees every name this host looks up, and the answers cross the internet.",
		"DNS 查询离开 VPC 发往公共解析器：它能看到本机查询的每个域名，应答也经公网返回。"},
	"fix.4.loses": {"Internal names, the ones only the private DNS resolves (the plan names those of this host's cloud), resolve to public addresses or not at all. The DROP also still blocks other services in 100.64.0.0/10, such as a metadata service.",
		"内网域名（只有内网 DNS 能解析的域名，计划中会列出本机所在云的这类域名）将解析为公网地址，或根本无法解析。DROP 规则仍会拦截 100.64.0.0/10 内的其他服务，例如元数据服务。"},
	"fix.4.cost": {"Traffic to the cloud's own services (object storage, mirrors) may go over the public network instead of the internal one: billed as public traffic, and slower.",
		"访问云上自有服务（对象存储、镜像源等）的流量可能改走公网而不是内网：按公网流量计费，且更慢。"},

	"fix.4.note.manager": {"DNS on this host is managed by %s.", "本机的 DNS 由 %s 管理。"},
	"fix.4.note.internal": {"Names only %s's private DNS resolves stop resolving: %s resolve publicly or not at all. Traffic to them may then go over the public network (billed, slower), and mirrors or NTP set to internal names may stop working: switch them to public names, or pick remedy 2 or 3 to keep the private DNS.",
		"只有%s内网 DNS 能解析的域名将无法解析：%s 会解析为公网地址或无法解析。访问它们的流量可能改走公网（按公网流量计费，且更慢），配置为内网域名的镜像源或 NTP 可能失效：请改用公网域名，或选择方案 2 或 3 以保留内网 DNS。"},
	"fix.4.note.internal.generic": {"Names only the private resolvers in 100.64.0.0/10 know stop resolving, publicly or at all: services reached by such names (mirrors, NTP, storage) may stop working. Pick remedy 2 or 3 to keep those resolvers.",
		"只有 100.64.0.0/10 内的内网解析器才知道的域名将无法解析（或解析为公网地址）：通过这类域名访问的服务（镜像源、NTP、存储等）可能失效。选择方案 2 或 3 可以保留这些解析器。"},
	"fix.4.note.cloudinit": {"%s is named 99- so netplan reads it after cloud-init's 50-cloud-init.yaml: when cloud-init regenerates its own file, this one still overrides it.",
		"%s 以 99- 开头，netplan 会在 cloud-init 的 50-cloud-init.yaml 之后读取它：即使 cloud-init 重新生成自己的文件，这个文件仍会覆盖它。"},
	"fix.4.note.netplanapply": {"`netplan apply` reloads systemd-networkd and reconfigures every interface it manages (%s): each takes its configuration again and renews its DHCP lease, so expect a short pause on each. Only %s change, and only in DNS: addresses and routes stay as they are.",
		"`netplan apply` 会重新加载 systemd-networkd，并重新配置它管理的每个网卡（%s）：每个网卡都会重新应用配置并续租 DHCP，各自可能短暂中断。只有 %s 有变化，且只改 DNS：地址和路由保持不变。"},
	"fix.4.note.netplannm": {"netplan hands %s to NetworkManager, which ignores netplan's use-dns: false (netplan writes no ignore-auto-dns), so the change is made in NetworkManager's connection instead.",
		"netplan 把 %s 交给 NetworkManager 管理，而 NetworkManager 不理会 netplan 的 use-dns: false（netplan 不会写出 ignore-auto-dns），因此改为直接修改 NetworkManager 的连接。"},
	"fix.4.note.netplannone": {"No definition in %s takes DNS from DHCP or lists a VPC resolver, so the netplan files are left alone (no interface is added or moved to DHCP) and systemd-resolved gets a drop-in instead.",
		"%s 中没有任何定义从 DHCP 获取 DNS 或列出 VPC 解析器，因此不改动 netplan 文件（不新增网卡，也不把任何网卡改成 DHCP），改为给 systemd-resolved 加一个 drop-in。"},
	"fix.4.note.nm": {"NetworkManager's connection %s (UUID %s) on %s gets the resolvers, and `nmcli device reapply` makes them live on the device as it is: no reconnect, addresses and lease kept.",
		"NetworkManager 连接 %s（UUID %s，网卡 %s）改用这些解析器，并用 `nmcli device reapply` 在网卡当前状态下生效：不重新连接，地址和租约保持不变。"},
	"fix.4.note.netplanstatic": {"%s already has static nameservers (%s) in %s: netplan adds this file's resolvers after them, so those are still asked first. Remove them there.",
		"%[1]s 已在 %[3]s 中配置了静态解析器（%[2]s）：netplan 会把本文件的解析器追加在它们之后，它们仍会被优先查询。请在那里删除它们。"},
	"fix.4.note.resolved": {"systemd-resolved sends every domain (~.) to these resolvers; the VPC resolvers DHCP gives each interface stay listed in `resolvectl dns` but are no longer asked.",
		"systemd-resolved 会把所有域名（~.）发往这些解析器；DHCP 为各网卡下发的 VPC 解析器仍会出现在 `resolvectl dns` 中，但不再被查询。"},
	"fix.4.note.resolvedorder": {"systemd-resolved adds up the DNS= lines of all its drop-ins in the order of their names; %s sorts after the ones here (%s), so its empty DNS= drops the servers they set.",
		"systemd-resolved 按文件名顺序累加所有 drop-in 中的 DNS= 行；%s 排在现有的（%s）之后，因此其中的空 DNS= 会清掉它们设置的服务器。"},
	"fix.4.note.dhclient": {"%s makes dhclient keep these resolvers at every lease renewal; resolv.conf is rewritten now, so nothing needs to be restarted.",
		"%s 让 dhclient 在每次续租时保留这些解析器；resolv.conf 会立即改写，无需重启任何服务。"},
	"fix.4.note.static": {"Nothing known manages %s, so it is edited directly. If DHCP or another tool does manage it after all, it may put the VPC resolvers back on the next lease renewal.",
		"未发现任何组件管理 %s，因此直接修改它。如果实际上有 DHCP 或其他工具在管理它，下次续租时可能会把 VPC 解析器写回去。"},
	"fix.4.note.symlink": {"/etc/resolv.conf is a link to %s: that file is edited, and whatever generates it may rewrite it.",
		"/etc/resolv.conf 是指向 %s 的链接：修改的是该文件，而生成它的程序可能会重写它。"},
	"fix.4.note.stillblocked": {"%s stay blocked: public DNS helps only with DNS, not with other services in 100.64.0.0/10 (metadata, NTP, mirrors).",
		"%s 仍被拦截：公共 DNS 只解决 DNS，对 100.64.0.0/10 内的其他服务（元数据、NTP、镜像源）无效。"},

	"verify.4.stub": {"What clients get: systemd-resolved's stub 127.0.0.53 answered in %s (%s).",
		"客户端实际得到的结果：systemd-resolved 的本地存根 127.0.0.53 在 %s 内应答（%s）。"},

	"fix.why.4.nodns":         {"%s names no public resolver of its own: run `tsdoctor fix --remedy 4 --dns ADDR,ADDR` with resolvers you trust", "%s没有列出自己的公共 DNS：请用你信任的解析器运行 `tsdoctor fix --remedy 4 --dns ADDR,ADDR`"},
	"fix.why.4.nodns.unknown": {"this host's cloud is not known, so there is no public resolver to offer: run `tsdoctor fix --remedy 4 --dns ADDR,ADDR` with resolvers you trust", "本机所在的云未知，无法推荐公共 DNS：请用你信任的解析器运行 `tsdoctor fix --remedy 4 --dns ADDR,ADDR`"},
	"fix.why.4.nomanager":     {"cannot tell how DNS is configured on this host: %s", "无法判断本机 DNS 的配置方式：%s"},
	"fix.why.4.already":       {"DNS already goes to %s", "DNS 已经在使用 %s"},
}

func init() { merge(publicDNSCatalog) }
