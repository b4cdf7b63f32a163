package i18n

// The remedies' lifecycle (fixes/remedy.go): the lines generated from
// fixes.All(), and the errors the remedies return (fixes.Error), which the
// wizard and the CLI show in the user's language.
var lifecycleCatalog = map[string]entry{
	"verdict.next.one": {"Fix it: `sudo tsdoctor` (the wizard) or `sudo tsdoctor fix --remedy %d`: %s.", "修复：运行 `sudo tsdoctor`（向导）或 `sudo tsdoctor fix --remedy %d`：%s。"},
	"verdict.next.exitlan": {"(--exit-node-allow-lan-access does not cover the VPC services: they are behind the gateway, not on-link.)",
		"（--exit-node-allow-lan-access 覆盖不到 VPC 服务：它们在网关之后，不是直连网段。）"},

	"fix.err.noremedy":         {"no remedy %d: choose %s", "没有修复方案 %d：请选择 %s"},
	"fix.err.notapplies":       {"remedy %d does not apply: %s", "修复方案 %d 不适用：%s"},
	"fix.err.notapplies.check": {"remedy %d does not apply: %s (run `tsdoctor check`)", "修复方案 %d 不适用：%s（请运行 `tsdoctor check`）"},
	"fix.err.1.nodrop":         {"no CGNAT DROP rule on this host: nothing to delete (run `tsdoctor check`)", "本机没有 CGNAT DROP 规则：没有可删除的（请运行 `tsdoctor check`）"},
	"fix.err.1.unmodelled": {"the DROP rule %q has matches tsdoctor does not model, so it cannot name it exactly for deletion: delete it by hand",
		"DROP 规则 %q 含有 tsdoctor 无法建模的匹配条件，无法精确指定并删除它：请手工删除"},
	"fix.err.2.nodrop":      {"no CGNAT DROP rule on this host: nothing to whitelist (run `tsdoctor check`)", "本机没有 CGNAT DROP 规则：无需白名单（请运行 `tsdoctor check`）"},
	"fix.err.3.nodrop":      {"no CGNAT DROP rule on this host: nothing to guard against (run `tsdoctor check`)", "本机没有 CGNAT DROP 规则：无需守护进程（请运行 `tsdoctor check`）"},
	"fix.err.6.notailscale": {"tailscale is not installed here: the node attribute needs a tailscaled %s or later", "本机没有安装 tailscale：节点属性需要 tailscaled %s 或更高版本"},
	"fix.err.noblocked": {"no blocked address to whitelist: the check found none; name them with --allow 100.100.2.136,100.100.2.138",
		"没有需要加入白名单的被拦截地址：检查没有发现；请用 --allow 100.100.2.136,100.100.2.138 指定"},
	"fix.err.outside": {"%s is outside 100.64.0.0/10: tailscaled's rule does not drop it, so it needs no whitelist",
		"%s 不在 100.64.0.0/10 内：tailscaled 的规则不会丢弃它，所以无需白名单"},
	"fix.err.allow.outside": {"%s is outside 100.64.0.0/10: tailscaled's rule does not drop it, so it needs no whitelist; give addresses inside it, e.g. 100.100.2.136,100.100.2.138",
		"%s 不在 100.64.0.0/10 内：tailscaled 的规则不会丢弃它，所以无需白名单；请给出该网段内的地址，如 100.100.2.136,100.100.2.138"},
	"fix.err.guard.noaddr":   {"tsdoctor guard: no addresses: give --allow 100.100.2.136,100.100.2.138", "tsdoctor guard：没有地址：请给出 --allow 100.100.2.136,100.100.2.138"},
	"fix.err.shape":          {"unknown whitelist shape %q: use narrow, conntrack or wide", "未知的白名单形式 %q：请用 narrow、conntrack 或 wide"},
	"fix.err.addr":           {"%q is not an IPv4 address: give addresses like 100.100.2.136,100.100.2.138", "%q 不是 IPv4 地址：请给出形如 100.100.2.136,100.100.2.138 的地址"},
	"fix.err.resolver":       {"%q is not an IPv4 address", "%q 不是 IPv4 地址"},
	"fix.err.resolver.cgnat": {"%s is inside 100.64.0.0/10, where tailscaled's rule drops the replies", "%s 在 100.64.0.0/10 内，tailscaled 的规则会丢弃它的回包"},
	"fix.err.resolver.none":  {"no resolver given", "没有给出解析器"},
	"fix.err.noroot.change":  {"the firewall cannot be changed without root: rerun with sudo", "没有 root 权限无法修改防火墙：请用 sudo 重新运行"},
	"fix.err.noroot.read":    {"the firewall cannot be read without root: rerun with sudo", "没有 root 权限无法读取防火墙：请用 sudo 重新运行"},
	"fix.err.nobackend":      {"no %s backend on this host", "本机没有 %s 后端"},
	"fix.err.locked": {"another tsdoctor is changing this host right now: wait for it to finish, then run this again",
		"另一个 tsdoctor 正在修改本机：请等它结束后再运行"},
	"fix.err.locked.pid": {"another tsdoctor is changing this host right now: wait for it to finish, then run this again (pid %s)",
		"另一个 tsdoctor 正在修改本机：请等它结束后再运行（pid %s）"},
	"fix.err.create":           {"create %s: %s", "创建 %s：%s"},
	"fix.err.journal.damaged":  {"journal entry %s is damaged (%s): move it aside to continue", "变更记录条目 %s 已损坏（%s）：请把它移走后继续"},
	"fix.err.journal.write":    {"write the journal in %s (nothing was changed): %s", "写入 %s 中的变更记录失败（没有做任何修改）：%s"},
	"fix.err.journal.update":   {"update the journal: %s", "更新变更记录失败：%s"},
	"fix.err.readrules":        {"read the policy rules: %s", "读取策略路由规则失败：%s"},
	"fix.err.readrules.before": {"read the policy rules before changing them: %s", "修改前读取策略路由规则失败：%s"},
	"fix.err.readfile.before":  {"read %s before changing it: %s", "修改前读取 %s 失败：%s"},
	"fix.err.rolledback":       {"%s (the changes made before it were rolled back)", "%s（之前做的修改已回滚）"},
	"fix.err.rollback.failed":  {"%s; rolling back also failed: %s (run `tsdoctor undo`)", "%s；回滚也失败了：%s（请运行 `tsdoctor undo`）"},
	"fix.err.undo":             {"undo %s: %s", "撤销 %s：%s"},
	"fix.err.undo.nostate":     {"journal has no earlier state of %s", "变更记录中没有 %s 之前的状态"},
}

func init() { merge(lifecycleCatalog) }
