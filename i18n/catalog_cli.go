package i18n

// The command line's own messages: usage errors, one line each, saying what
// to do (cmd/tsdoctor prints them, once, prefixed with the command).
var cliCatalog = map[string]entry{
	"cli.unknown":          {"unknown command %q: run `tsdoctor --help` for the commands", "未知命令 %q：运行 `tsdoctor --help` 查看命令列表"},
	"cli.badflag":          {"%s: run `%s` for the flags", "%s：运行 `%s` 查看参数"},
	"cli.stray":            {"unexpected argument %q: run `%s` for the usage", "多余的参数 %q：运行 `%s` 查看用法"},
	"cli.positive":         {"--%s %v: give a duration above zero, e.g. --%s %s", "--%s %v：请给出大于零的时长，例如 --%s %s"},
	"cli.nonneg":           {"--%s %v: give a duration of zero or more, e.g. --%s %s", "--%s %v：请给出不小于零的时长，例如 --%s %s"},
	"cli.probe.gt":         {"--probe-timeout %v is longer than --timeout %v: give a probe timeout within the whole check's", "--probe-timeout %v 比 --timeout %v 还长：探测超时必须在整个检查的时限之内"},
	"cli.lang":             {"unknown language %q: use --lang en or --lang zh", "未知语言 %q：请用 --lang en 或 --lang zh"},
	"cli.name":             {"--name %q is not a DNS name: give one, e.g. --name example.com", "--name %q 不是域名：请给出一个，例如 --name example.com"},
	"cli.internet":         {"--internet: %q is not ip:port: give e.g. --internet 223.5.5.5:53,223.6.6.6:53", "--internet：%q 不是 ip:端口 形式，例如 --internet 223.5.5.5:53,223.6.6.6:53"},
	"cli.only":             {"unknown check %q: see `tsdoctor check --list`", "未知检查项 %q：运行 `tsdoctor check --list` 查看"},
	"cli.root.rel":         {"--root %q is not an absolute path: give one, e.g. --root /", "--root %q 不是绝对路径：请给出绝对路径，例如 --root /"},
	"cli.root.missing":     {"root %q is not a directory: give an existing one with --root (or TSDOCTOR_ROOT)", "根目录 %q 不是目录：请用 --root（或 TSDOCTOR_ROOT）给出一个已存在的目录"},
	"cli.fix.noremedy":     {"choose a remedy with --remedy N: %s (`tsdoctor check` says which fits; `--dry-run` shows the plan)", "请用 --remedy N 选择修复方案：%s（`tsdoctor check` 会指出适合的方案；`--dry-run` 只显示计划）"},
	"cli.fix.badremedy":    {"there is no remedy %d: choose --remedy N: %s", "没有修复方案 %d：请用 --remedy N 选择：%s"},
	"cli.fix.dns":          {"--dns: %s: give public resolvers, e.g. --dns %s", "--dns：%s：请给出公共 DNS，例如 --dns %s"},
	"cli.fix.noroot":       {"reading and changing the firewall needs root: rerun with sudo", "读取和修改防火墙需要 root 权限：请用 sudo 重新运行"},
	"cli.undo.noroot":      {"changing the firewall and system files needs root: rerun with sudo", "修改防火墙和系统文件需要 root 权限：请用 sudo 重新运行"},
	"cli.guard.noroot":     {"changing the firewall needs root: rerun with sudo", "修改防火墙需要 root 权限：请用 sudo 重新运行"},
	"cli.guard.allow":      {"give the addresses to keep whitelisted: --allow 100.100.2.136,100.100.2.138", "请给出要保持在白名单中的地址：--allow 100.100.2.136,100.100.2.138"},
	"cli.debug":            {"give what to show: `tsdoctor debug firewall` prints the INPUT path of every backend", "请指明要显示的内容：`tsdoctor debug firewall` 输出每个后端的 INPUT 路径"},
	"cli.debug.noroot":     {"reading the firewall needs root: rerun with sudo", "读取防火墙需要 root 权限：请用 sudo 重新运行"},
	"cli.completion":       {"give the shell: tsdoctor completion bash|zsh|fish", "请指明 shell：tsdoctor completion bash|zsh|fish"},
	"cli.completion.shell": {"unknown shell %q: use bash, zsh or fish", "未知 shell %q：请用 bash、zsh 或 fish"},

	"fix.1.short": {"delete the DROP", "删除 DROP"},
	"fix.2.short": {"whitelist", "白名单"},
	"fix.3.short": {"guard", "守护"},
	"fix.4.short": {"public DNS", "公共 DNS"},
	"fix.5.short": {"netfilter off", "关闭 netfilter"},
	"fix.6.short": {"node attribute", "节点属性"},
}

func init() { merge(cliCatalog) }
