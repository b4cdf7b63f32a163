package fixes

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// Whitelist is remedy 2: ACCEPT rules at the top of ts-input for exactly
// the addresses the check found blocked, kept by a systemd unit that runs
// after tailscaled has built its chains.
type Whitelist struct{}

// WhitelistComment marks every rule the whitelist, the guard and their
// scripts write, so they can find (and remove) their own rules.
const WhitelistComment = "tsdoctor-whitelist"

// Files of the whitelist unit.
const (
	WhitelistScript = "/usr/local/lib/tsdoctor/whitelist.sh"
	WhitelistUnit   = "/etc/systemd/system/tsdoctor-whitelist.service"
)

func (Whitelist) Info() Info {
	return Info{ID: WhitelistID, Name: "whitelist", Title: i18n.M("fix.2.title"), Short: i18n.M("fix.2.short"), Changes: i18n.M("fix.2.changes"),
		Promise: Promise{Restart: i18n.M("verify.restart.whitelist"), Reboot: i18n.M("verify.reboot.whitelist")},
		Tradeoffs: Tradeoffs{Invasive: Low, SurvivesRestart: LastsUnit, SurvivesReboot: LastsUnit,
			Security: i18n.M("fix.2.security"), Loses: i18n.M("fix.2.loses"), Cost: i18n.M("fix.2.cost")}}
}

func (Whitelist) Applies(h *Host, rep checks.Report) Applicability {
	return whitelistApplies(rep)
}

// whitelistApplies: remedies 1 to 3 need a CGNAT DROP to work around.
func whitelistApplies(rep checks.Report) Applicability {
	if len(tsrules.CGNATDrops(rep.Firewall)) == 0 {
		return nothingToFix(rep, i18n.M("fix.why.nodrop"))
	}
	return fits()
}

func (Whitelist) Recommend(rep checks.Report) Recommendation { return forTheDrop(WhitelistID, rep) }

// Verify: the whitelisted addresses answer, and the unit that puts the
// whitelist back is enabled and its script ran to success.
func (Whitelist) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	verifyWhitelisted(h, p, v)
	verifyKeeper(ctx, h, unitName(WhitelistUnit), keeperJob, v)
}

// verifyWhitelisted (remedies 2 and 3): none of the whitelisted addresses
// is still blocked. Others still blocked are named: the plan did not cover
// them.
func verifyWhitelisted(h *Host, p *Plan, v *Verification) {
	v.Passed = p != nil && len(p.Allow) > 0
	for _, b := range v.Report.Blocked {
		switch {
		case p == nil:
		case slices.Contains(p.Allow, b.Address):
			v.Passed = false
		default:
			v.Details = append(v.Details, i18n.M("verify.notallowed", b.Address.String(), b.Service))
		}
	}
	if !h.Systemd {
		v.Details = append(v.Details, i18n.M("verify.nosystemd"))
	}
}

func (Whitelist) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	p := &Plan{Remedy: WhitelistID}
	allow, specs, err := whitelistSpecs(rep, o)
	if err != nil {
		return nil, err
	}
	p.Allow = allow
	drops := tsrules.CGNATDrops(rep.Firewall)
	if len(drops) == 0 {
		return nil, failure(i18n.M("fix.err.2.nodrop"))
	}
	for _, batch := range whitelistBatches(rep.Firewall, specs, chainsOf(drops)) {
		p.addFirewall(batch)
	}
	if err := needScriptTools(drops[0].Backend); err != nil {
		return nil, err
	}
	script, unit := whitelistFiles(drops[0].Backend, specs, o)
	p.addUnit(h, WhitelistScript, script, WhitelistUnit, unit)
	if o.Shape == Wide {
		p.note("fix.2.note.wide")
	}
	p.note("fix.2.note.rebuild")
	return p, nil
}

// addUnit installs a script and a unit, and enables the unit where systemd
// runs. Files already as wanted are left alone, so a second apply changes
// nothing. Undo runs the actions backwards: disable, restore the files, and
// only then reload systemd (the undo of a first, read-only step), so
// systemd ends up reading the restored files.
func (p *Plan) addUnit(h *Host, scriptPath, script, unitPath, unit string) {
	p.addUnitWith(h, scriptPath, script, unitPath, unit, false)
}

// addDaemonUnit is addUnit for a unit whose process holds its settings
// (the guard's addresses): a running one whose files change is restarted
// (and restarted again by undo, once the old files are back), and an
// enabled one that is not running is started.
func (p *Plan) addDaemonUnit(h *Host, scriptPath, script, unitPath, unit string) {
	p.addUnitWith(h, scriptPath, script, unitPath, unit, true)
}

func (p *Plan) addUnitWith(h *Host, scriptPath, script, unitPath, unit string, daemon bool) {
	var files []FileWrite
	if scriptPath != "" {
		files = append(files, FileWrite{Path: scriptPath, Content: script, Mode: 0o755})
	}
	files = append(files, FileWrite{Path: unitPath, Content: unit, Mode: 0o644})
	var changed []FileWrite
	for _, f := range files {
		if b, mode, ok, err := h.readFile(f.Path); err == nil && ok && string(b) == f.Content && uint32(mode) == f.Mode {
			continue
		}
		changed = append(changed, f)
	}
	name := unitName(unitPath)
	if !h.Systemd {
		for _, f := range changed {
			p.addFile(f)
		}
		p.note("fix.unit.nosystemd", name)
		return
	}
	active := false
	if daemon {
		_, err := h.run(context.Background(), []string{"systemctl", "is-active", "--quiet", name})
		active = err == nil
	}
	if len(changed) > 0 {
		if active {
			// Its undo runs last, after systemd has read the restored
			// files: the old settings run again.
			p.addCommand([]string{"systemctl", "is-active", name}, []string{"systemctl", "try-restart", name})
			p.Steps[len(p.Steps)-1].Text = i18n.M("step.command.running", name)
		}
		p.addCommand([]string{"systemctl", "--version"}, []string{"systemctl", "daemon-reload"})
		p.Steps[len(p.Steps)-1].Text = i18n.M("step.command.systemd")
		for _, f := range changed {
			p.addFile(f)
		}
		p.addCommand([]string{"systemctl", "daemon-reload"}, nil)
		if active {
			p.addCommand([]string{"systemctl", "restart", name}, nil)
			p.Steps[len(p.Steps)-1].Text = i18n.M("step.command.restart", name)
		}
	}
	if out, err := h.run(context.Background(), []string{"systemctl", "is-enabled", name}); err != nil || strings.TrimSpace(string(out)) != "enabled" {
		// Two steps, not `enable --now`: when the start fails (a guard
		// that never gets ready), the enable is done and rolled back
		// with the rest, leaving no .wants link behind.
		p.addCommand([]string{"systemctl", "enable", name}, []string{"systemctl", "disable", name})
		p.addCommand([]string{"systemctl", "start", name}, []string{"systemctl", "stop", name})
	} else if daemon && !active {
		p.addCommand([]string{"systemctl", "start", name}, []string{"systemctl", "stop", name})
	}
}

func unitName(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

// whitelistSpecs picks the addresses (--allow, else those found blocked)
// and builds the rules for them in the chosen shape.
func whitelistSpecs(rep checks.Report, o Options) ([]netip.Addr, []firewall.Spec, error) {
	allow := o.Allow
	if len(allow) == 0 {
		for _, b := range rep.Blocked {
			if !slices.Contains(allow, b.Address) {
				allow = append(allow, b.Address)
			}
		}
	}
	if len(allow) == 0 {
		// Nothing is blocked: maybe because our rules are in place. Then
		// the plan is those rules, exactly, and applying again changes
		// nothing.
		if specs := existingWhitelist(rep.Firewall); len(specs) > 0 {
			for _, s := range specs {
				if !slices.Contains(allow, s.Source.Addr()) {
					allow = append(allow, s.Source.Addr())
				}
			}
			return allow, specs, nil
		}
		return nil, nil, failure(i18n.M("fix.err.noblocked"))
	}
	var specs []firewall.Spec
	for _, a := range allow {
		if !tsrules.CGNAT.Contains(a) {
			return nil, nil, failure(i18n.M("fix.err.outside", a.String()))
		}
		for _, s := range SpecsFor(a, rep.Blocked, o.Shape) {
			if !slices.ContainsFunc(specs, func(x firewall.Spec) bool { return specEqual(x, s) }) {
				specs = append(specs, s)
			}
		}
	}
	return allow, specs, nil
}

// existingWhitelist are the rules tsdoctor's whitelist wrote, as specs.
func existingWhitelist(snap *firewall.Snapshot) []firewall.Spec {
	if snap == nil {
		return nil
	}
	var out []firewall.Spec
	for _, r := range snap.Rules() {
		if r.Comment != WhitelistComment {
			continue
		}
		if s, ok := firewall.SpecOf(r); ok && !slices.ContainsFunc(out, func(x firewall.Spec) bool { return specEqual(x, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// SpecsFor builds the whitelist rules for one address. Narrow rules match
// the reply of the service the check found there (its protocol and source
// port); an address with no known service gets replies only (conntrack).
func SpecsFor(a netip.Addr, blocked []checks.BlockedService, shape Shape) []firewall.Spec {
	base := firewall.Spec{Source: netip.PrefixFrom(a, 32), Comment: WhitelistComment, Verdict: firewall.Accept}
	reply := base
	reply.CtStates = []string{"ESTABLISHED", "RELATED"}
	switch shape {
	case Wide:
		return []firewall.Spec{base}
	case Conntrack:
		return []firewall.Spec{reply}
	}
	var out []firewall.Spec
	for _, b := range blocked {
		if b.Address != a || b.Port == 0 {
			continue
		}
		protos := []string{"tcp"}
		if b.Service == checks.ServiceDNS {
			protos = []string{"udp", "tcp"} // DNS falls back to TCP for long answers
		}
		for _, p := range protos {
			s := base
			s.Protocol, s.SrcPort = p, b.Port
			if !slices.ContainsFunc(out, func(x firewall.Spec) bool { return specEqual(x, s) }) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		return []firewall.Spec{reply}
	}
	return out
}

func specEqual(a, b firewall.Spec) bool {
	return a.Source == b.Source && a.Protocol == b.Protocol && a.SrcPort == b.SrcPort &&
		slices.Equal(a.CtStates, b.CtStates) && a.Comment == b.Comment && a.Verdict == b.Verdict &&
		a.InIface == b.InIface && a.InIfaceNegated == b.InIfaceNegated
}

// ruleIsSpec reports whether an existing rule is the one spec writes.
func ruleIsSpec(r firewall.Rule, s firewall.Spec) bool {
	rs := slices.Sorted(slices.Values(r.CtStates))
	ss := slices.Sorted(slices.Values(s.CtStates))
	return len(r.Unmodeled) == 0 && r.Source == s.Source && !r.SourceNegated && r.Protocol == s.Protocol &&
		r.SrcPort == s.SrcPort && r.DstPort == 0 && slices.Equal(rs, ss) && r.Comment == s.Comment &&
		r.Verdict == s.Verdict && r.InIface == s.InIface && r.InIfaceNegated == s.InIfaceNegated &&
		r.LogPrefix == "" && !r.Dest.IsValid()
}

func chainsOf(rules []firewall.Rule) []firewall.ChainRef {
	var out []firewall.ChainRef
	for _, r := range rules {
		if !slices.Contains(out, r.ChainRef) {
			out = append(out, r.ChainRef)
		}
	}
	return out
}

// whitelistBatches returns, per chain, the changes that put every spec at
// the top of the chain, above its CGNAT DROP if it has one yet. Rules
// already above the DROP are left alone; ours below it (tailscaled
// inserted above them) are moved up. Nothing to do gives no batch.
func whitelistBatches(snap *firewall.Snapshot, specs []firewall.Spec, refs []firewall.ChainRef) [][]firewall.Change {
	var out [][]firewall.Change
	for _, ref := range refs {
		if !snap.Writable(ref) {
			continue // a chain being built, whose backend is not yet sure: the next pass
		}
		var batch []firewall.Change
		var chain []firewall.Rule
		if c := snap.Chain(ref); c != nil {
			chain = c.Rules
		}
		firstDrop := len(chain) + 1
		for _, r := range chain {
			if tsrules.IsCGNATDrop(&r) {
				firstDrop = r.Position
				break
			}
		}
		var inserts []firewall.Change
		for _, s := range specs {
			above, below := false, false
			for _, r := range chain {
				if ruleIsSpec(r, s) {
					if r.Position < firstDrop {
						above = true
					} else {
						below = true
					}
				}
			}
			if above {
				continue
			}
			if below {
				batch = append(batch, firewall.Change{Delete: true, Ref: ref, Spec: s})
			}
			inserts = append(inserts, firewall.Change{Ref: ref, Pos: 1, Spec: s, IfMissing: !below})
		}
		// Inserting at 1 in reverse keeps the specs' order at the top.
		for i := len(inserts) - 1; i >= 0; i-- {
			batch = append(batch, inserts[i])
		}
		if len(batch) > 0 {
			out = append(out, batch)
		}
	}
	return out
}

// whitelistFiles renders the unit's script and the unit.
func whitelistFiles(b firewall.Backend, specs []firewall.Spec, o Options) (script, unit string) {
	script = WhitelistShell(b, specs, "whitelist (remedy 2)")
	unit = `[Unit]
Description=tsdoctor whitelist: let the VPC's services in 100.64.0.0/10 through tailscaled's CGNAT DROP
Documentation=https://github.com/tsdoctor/tsdoctor
# tailscaled removes and rebuilds its chains when it starts: insert after it,
# and again whenever it restarts (PartOf).
After=tailscaled.service
PartOf=tailscaled.service

[Service]
# The script waits for tailscaled's chain however long tailscaled takes to
# reach Running: a simple service, whose start holds up nothing (a oneshot
# would keep the boot "starting"). Active (exited) once it inserted the
# rules; failed, with the reason in the journal, when it cannot.
Type=simple
RemainAfterExit=yes
ExecStart=` + WhitelistScript + ` apply
ExecStop=` + WhitelistScript + ` remove

[Install]
WantedBy=tailscaled.service
`
	return script, unit
}

// WhitelistShell is a POSIX shell script with the whitelist rules for one
// backend. `apply` waits (for as long as it takes) for tailscaled's CGNAT
// rule, then inserts each missing rule at the top of ts-input; `once`
// inserts without waiting; `loop SECONDS` re-applies forever (the article's
// guard); `remove` deletes them. It needs no tsdoctor binary. A missing
// tool or a failing firewall command ends it with status 1 and the reason
// on stderr, never a silent success.
func WhitelistShell(b firewall.Backend, specs []firewall.Spec, what string) string {
	var s strings.Builder
	s.WriteString("#!/bin/sh\n# tsdoctor " + what + ": let replies from the VPC's services in 100.64.0.0/10\n" +
		"# through tailscaled's CGNAT DROP. Generated by tsdoctor; `tsdoctor undo` removes it.\n" +
		"set -u\nCHAIN=ts-input\n")
	if b == firewall.NFTables {
		// Each rule is inserted at the top: list them last first.
		s.WriteString("RULES='\n")
		for i := len(specs) - 1; i >= 0; i-- {
			s.WriteString(specs[i].NFT() + "\n")
		}
		s.WriteString(`'
FW=nft
list() { nft list chain ip filter "$CHAIN" | sed -e 's/^[[:space:]]*//' -e 's/ packets [0-9]* bytes [0-9]*//'; }
# ready: 0 tailscaled's CGNAT rule is there, 1 not yet (no chain), 2 an
# error, said on stderr (the journal).
ready() {
	out=$(nft list chain ip filter "$CHAIN" 2>&1) && { printf '%s\n' "$out" | grep -q '100.64.0.0/10'; return; }
	case $out in *'No such file or directory'*) return 1 ;; esac
	echo "tsdoctor: nft list chain ip filter $CHAIN: $out" >&2
	return 2
}
insert() {
	current=$(list)
	echo "$RULES" | while IFS= read -r r; do
		[ -n "$r" ] || continue
		printf '%s\n' "$current" | grep -qxF -- "$r" && continue
		nft insert rule ip filter "$CHAIN" $r || return 1
	done
}
remove() {
	nft -a list chain ip filter "$CHAIN" 2>/dev/null | grep -F 'comment "` + WhitelistComment + `"' |
		sed -n 's/.*# handle \([0-9]*\)$/\1/p' | while read -r h; do
		nft delete rule ip filter "$CHAIN" handle "$h"
	done
}
`)
	} else {
		// The command that drives this flavour here: plain `iptables` on
		// CentOS 7 and Ubuntu 18.04, where no iptables-legacy exists.
		bin := firewall.CommandName(b)
		if t, err := firewall.FindTools(b); err == nil {
			bin = t.Name
		}
		// Each rule is inserted at the top: list them last first.
		s.WriteString("IPT=" + bin + "\nFW=$IPT\nRULES='\n")
		for i := len(specs) - 1; i >= 0; i-- {
			s.WriteString(strings.Join(specs[i].IptablesArgs(), " ") + "\n")
		}
		s.WriteString(`'
# ready: 0 tailscaled's CGNAT rule is there, 1 not yet (no chain, or one
# iptables-nft cannot read yet), 2 an error, said on stderr (the journal).
ready() {
	out=$($IPT -w -S "$CHAIN" 2>&1) && { printf '%s\n' "$out" | grep -q -- '-s 100.64.0.0/10'; return; }
	case $out in *'No chain/target/match'* | *'does not exist'* | *incompatible*) return 1 ;; esac
	echo "tsdoctor: $IPT -S $CHAIN: $out" >&2
	return 2
}
insert() {
	echo "$RULES" | while IFS= read -r r; do
		[ -n "$r" ] || continue
		# -C fails quietly when the rule is missing; -I says why it fails.
		$IPT -w -C "$CHAIN" $r 2>/dev/null || $IPT -w -I "$CHAIN" 1 $r || return 1
	done
}
remove() {
	echo "$RULES" | while IFS= read -r r; do
		[ -n "$r" ] || continue
		while $IPT -w -D "$CHAIN" $r 2>/dev/null; do :; done
	done
}
`)
	}
	s.WriteString(`for tool in "$FW" grep sed sleep; do
	command -v "$tool" >/dev/null 2>&1 && continue
	echo "tsdoctor: $tool not found: install it, then: systemctl restart tsdoctor-$(basename "$0" .sh)" >&2
	exit 1
done
# pass: one check; an error ends the script with a non-zero status, so
# systemd marks the unit failed and the journal says why.
pass() {
	ready
	case $? in
	0) insert || exit 1 ;;
	2) exit 1 ;;
	esac
}
case "${1:-apply}" in
apply)
	# tailscaled builds ts-input once it is Running, which may be long
	# after it starts (logged out, control server unreachable): wait for
	# it however long it takes. The unit is Type=simple, so the wait
	# holds up nothing.
	i=0
	until ready; do
		[ $? -eq 2 ] && exit 1
		i=$((i + 1))
		[ $((i % 600)) -eq 0 ] && echo "tsdoctor: still waiting for tailscaled's CGNAT rule in $CHAIN ($((i / 10)) s)" >&2
		sleep 0.1
	done
	insert || exit 1 ;;
once) pass ;;
loop)
	pass
	# Ready once the first pass is done (a Type=notify unit).
	[ -z "${NOTIFY_SOCKET:-}" ] || systemd-notify --ready
	while :; do
		sleep "${2:-1}"
		pass
	done ;;
remove) remove ;;
*) echo "usage: $0 apply|once|loop [SECONDS]|remove" >&2; exit 2 ;;
esac
`)
	return s.String()
}
