package i18n

// The command line's own messages: usage errors, one line each, saying what
// to do (cmd/tsdoctor prints them, once, prefixed with the command).
var cliCatalog = map[string]entry{
	"cli.unknown":           {"unknown command %q: run `tsdoctor --help` for the commands", "未知命令 %q：运行 `tsdoctor --help` 查看命令列表"},
	"cli.badflag":           {"%s: run `%s` for the flags", "%s：运行 `%s` 查看可用选项"},
	"cli.stray":             {"unexpected argument %q: run `%s` for the usage", "多余的参数 %q：运行 `%s` 查看用法"},
	"cli.positive":          {"--%s %v: give a duration above zero, e.g. --%s %s", "--%s %v：请给出大于零的时长，例如 --%s %s"},
	"cli.nonneg":            {"--%s %v: give a duration of zero or more, e.g. --%s %s", "--%s %v：请给出不小于零的时长，例如 --%s %s"},
	"cli.probe.gt":          {"--probe-timeout %v is longer than --timeout %v: give a probe timeout within the whole check's", "--probe-timeout %v 比 --timeout %v 还长：请给出不超过整个检查时限的探测超时"},
	"cli.lang":              {"unknown language %q: use --lang en or --lang zh", "未知语言 %q：请用 --lang en 或 --lang zh"},
	"cli.name":              {"--name %q is not a DNS name: give one, e.g. --name example.com", "--name %q 不是域名：请给出一个域名，例如 --name example.com"},
	"cli.internet":          {"--internet: %q is not ip:port: give e.g. --internet 223.5.5.5:53,223.6.6.6:53", "--internet：%q 不是 ip:port 格式：请按此格式给出，例如 --internet 223.5.5.5:53,223.6.6.6:53"},
	"cli.prometheus.isdir":  {"--prometheus %s is a directory: give a file in it, e.g. --prometheus %s", "--prometheus %s 是目录：请给出其中的文件，例如 --prometheus %s"},
	"cli.prometheus.nodir":  {"--prometheus %s: directory %s does not exist: create it, or give a file in node_exporter's textfile directory", "--prometheus %s：目录 %s 不存在：请先创建，或给出 node_exporter 文本文件目录中的文件"},
	"cli.only":              {"unknown check %q: see `tsdoctor check --list`", "未知检查项 %q：运行 `tsdoctor check --list` 查看"},
	"cli.root.rel":          {"--root %q is not an absolute path: give one, e.g. --root /", "--root %q 不是绝对路径：请给出绝对路径，例如 --root /"},
	"cli.root.missing":      {"root %q is not a directory: give an existing one with --root (or TSDOCTOR_ROOT)", "根路径 %q 不是目录：请用 --root（或 TSDOCTOR_ROOT）给出一个已存在的目录"},
	"cli.fix.noremedy":      {"choose a remedy with --remedy N: %s (`tsdoctor check` says which fits; `--dry-run` shows the plan)", "请用 --remedy N 选择修复方案：%s（`tsdoctor check` 会指出适合的方案；`--dry-run` 只显示计划）"},
	"cli.fix.badremedy":     {"there is no remedy %d: choose --remedy N: %s", "没有修复方案 %d：请用 --remedy N 选择：%s"},
	"cli.fix.dns":           {"--dns: %s: give public resolvers, e.g. --dns %s", "--dns：%s：请给出公共解析器，例如 --dns %s"},
	"cli.fix.tworemedies":   {"two remedies given (--remedy %d and %s): give one, as `tsdoctor fix 3` or `tsdoctor fix --remedy 3`", "给出了两个修复方案（--remedy %d 和 %s）：只能指定一个，例如 `tsdoctor fix 3` 或 `tsdoctor fix --remedy 3`"},
	"fixcli.dryrun.noroot":  {"A dry run without root: the firewall cannot be read (that needs root), so the plan below is what can be known without it.", "非 root 下的试运行：无法读取防火墙（需要 root），因此下面是不读防火墙所能得出的计划。"},
	"fixcli.dryrun.needsfw": {"Remedy %d is planned from tailscaled's rules in the firewall, which only root can read: rerun with sudo to see the exact plan (still with --dry-run, nothing changes).", "方案 %d 要根据防火墙中 tailscaled 的规则来制定，而只有 root 能读取：请用 sudo 重新运行以查看确切的计划（仍加 --dry-run，不会做任何改动）。"},
	"cli.fix.noroot":        {"reading and changing the firewall needs root: rerun with sudo", "读取和修改防火墙需要 root 权限：请用 sudo 重新运行"},
	"cli.undo.noroot":       {"changing the firewall and system files needs root: rerun with sudo", "修改防火墙和系统文件需要 root 权限：请用 sudo 重新运行"},
	"cli.guard.noroot":      {"changing the firewall needs root: rerun with sudo", "修改防火墙需要 root 权限：请用 sudo 重新运行"},
	"cli.guard.allow":       {"give the addresses to keep whitelisted: --allow 100.100.2.136,100.100.2.138", "请给出要保持在白名单中的地址：--allow 100.100.2.136,100.100.2.138"},
	"cli.debug":             {"give what to show: `tsdoctor debug firewall` prints the INPUT path of every backend", "请指明要显示的内容：`tsdoctor debug firewall` 输出每个后端的 INPUT 路径"},
	"cli.debug.noroot":      {"reading the firewall needs root: rerun with sudo", "读取防火墙需要 root 权限：请用 sudo 重新运行"},
	"cli.completion":        {"give the shell: tsdoctor completion bash|zsh|fish", "请指明 shell：tsdoctor completion bash|zsh|fish"},
	"cli.completion.shell":  {"unknown shell %q: use bash, zsh or fish", "未知 shell %q：请用 bash、zsh 或 fish"},

	"rules.orphaned":           {"Orphaned: tailscaled is not running, yet its rules are still here. It was killed or crashed before it could remove them, and nothing updates or removes them until tailscaled starts again.", "孤儿规则：tailscaled 未在运行，但它的规则仍然存在。它在清理规则之前被杀死或崩溃了；在 tailscaled 再次启动之前，没有任何东西会更新或删除这些规则。"},
	"verdict.orphaned":         {"Orphaned: tailscaled is not running (its socket: %s), but its rules are still in the firewall. `sudo tsdoctor fix --remedy 1` removes them (`tailscaled --cleanup`); starting tailscaled again rebuilds them, DROP included.", "孤儿规则：tailscaled 未在运行（其套接字：%s），但它的规则仍在防火墙中。`sudo tsdoctor fix --remedy 1` 会删除它们（`tailscaled --cleanup`）；重新启动 tailscaled 则会重建它们，包括 DROP。"},
	"fix.why.orphaned":         {"tailscaled is not running and its rules are orphaned: remedy 1 removes them (`tailscaled --cleanup`), or start tailscaled again", "tailscaled 未在运行，其规则已成孤儿：方案 1 会删除它们（`tailscaled --cleanup`），或者重新启动 tailscaled"},
	"fix.1.orphaned.step":      {"Remove every rule the dead tailscaled left behind (%s), as tailscaled does itself when it stops:", "删除已退出的 tailscaled 留下的全部规则（%s），与 tailscaled 正常停止时自己做的一样："},
	"fix.1.orphaned.undo":      {"Undo does not put these rules back: they belong to a tailscaled that is no longer running, and the DROP among them is what blocks DNS. tailscaled rebuilds its own rules, DROP included, the next time it starts.", "撤销不会恢复这些规则：它们属于一个已不在运行的 tailscaled，而其中的 DROP 正是拦截 DNS 的那条规则。tailscaled 下次启动时会重建自己的规则，包括 DROP。"},
	"fix.1.orphaned.start":     {"The other way out: start tailscaled again (`systemctl start tailscaled`). It removes what is left and builds its rules anew, DROP included; then pick remedy 2, 3 or 6 for DNS.", "另一种办法：重新启动 tailscaled（`systemctl start tailscaled`）。它会清除残留并重新建立规则，包括 DROP；之后再为 DNS 选择方案 2、3 或 6。"},
	"fix.1.orphaned.notundone": {"`tailscaled --cleanup` is not undone: tsdoctor does not re-create the rules of a tailscaled that is gone; starting tailscaled (systemctl start tailscaled) rebuilds them, DROP included", "`tailscaled --cleanup` 不会被撤销：tsdoctor 不会重建已退出的 tailscaled 的规则；启动 tailscaled（systemctl start tailscaled）会重建它们，包括 DROP"},

	"tui.rec.orphaned": {"tailscaled is not running and its rules are orphaned: remedy 1 removes them with `tailscaled --cleanup`. Starting tailscaled again rebuilds them, DROP included; then pick 2, 3 or 6.", "tailscaled 未在运行，其规则已成孤儿：方案 1 用 `tailscaled --cleanup` 删除它们。重新启动 tailscaled 会重建规则（包括 DROP），之后再选择方案 2、3 或 6。"},

	"fix.1.short": {"delete the DROP", "删除 DROP"},
	"fix.2.short": {"whitelist", "白名单"},
	"fix.3.short": {"guard", "守护进程"},
	"fix.4.short": {"public DNS", "公共 DNS"},
	"fix.5.short": {"netfilter off", "关闭 netfilter"},
	"fix.6.short": {"node attribute", "节点属性"},
}

func init() { merge(cliCatalog) }
