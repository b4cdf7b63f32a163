// Package fixes holds the remedies for tailscaled's CGNAT DROP and for the
// Tailscale routes that capture the VPC's services; All lists them. Each
// remedy owns its lifecycle (remedy.go): what it costs and promises,
// whether it applies here, when to recommend it, a Plan (the exact commands
// and file edits) made before anything changes, and how to verify it.
// Apply records every change in a journal first, so Undo can put the
// machine back as it was. The package talks to the machine only through
// Host; the CLI, the wizard and the tests drive it the same way.
package fixes

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/cloud"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// ID is a remedy's number: the article's 1–5, and 6 for the node attribute.
type ID int

const (
	DeleteDropID   ID = 1
	WhitelistID    ID = 2
	GuardID        ID = 3
	PublicDNSID    ID = 4
	NetfilterOffID ID = 5
	NodeAttrID     ID = 6
	// The second form: Tailscale routes capture the VPC services.
	PolicyRouteID     ID = 7
	AcceptRoutesOffID ID = 8
)

// Level grades how much a remedy changes or costs.
type Level string

const (
	Low    Level = "low"
	Medium Level = "medium"
	High   Level = "high"
)

// Lasts says whether a remedy outlives a tailscaled restart or a reboot.
type Lasts string

const (
	LastsYes  Lasts = "yes"
	LastsNo   Lasts = "no"
	LastsUnit Lasts = "with-unit" // yes, because a unit it installs puts it back
)

// Tradeoffs are what the remedies table shows.
type Tradeoffs struct {
	Invasive        Level    `json:"invasive"`
	SurvivesRestart Lasts    `json:"survives_restart"`
	SurvivesReboot  Lasts    `json:"survives_reboot"`
	Security        i18n.Msg `json:"security"`
	Loses           i18n.Msg `json:"loses"`
	Cost            i18n.Msg `json:"cost"`
}

// Info describes a remedy.
type Info struct {
	ID    ID       `json:"id"`
	Name  string   `json:"name"` // delete-drop, whitelist, guard, public-dns, netfilter-off, node-attr
	Title i18n.Msg `json:"title"`
	// Short is the remedy's name in a few words ("whitelist"), for the
	// lists generated from All(): the usage line, `fix` without --remedy,
	// the verdict's "Fix it".
	Short   i18n.Msg `json:"-"`
	Changes i18n.Msg `json:"changes"`
	Promise Promise  `json:"-"`
	Tradeoffs
}

// All lists the remedies in the article's order.
func All() []Remedy {
	return []Remedy{DeleteDrop{}, Whitelist{}, Guard{}, PublicDNS{}, NetfilterOff{}, NodeAttr{}, PolicyRoute{}, AcceptRoutesOff{}}
}

// ByID returns remedy id, or an error naming the valid ones.
func ByID(id ID) (Remedy, error) {
	for _, r := range All() {
		if r.Info().ID == id {
			return r, nil
		}
	}
	return nil, failure(i18n.M("fix.err.noremedy", int(id), List(All())))
}

// Shape is how narrow the whitelist rules are.
type Shape string

const (
	// Narrow: the service's protocol and source port when known (udp and
	// tcp 53 for DNS, tcp 80 for metadata), else ct state
	// established,related.
	Narrow Shape = "narrow"
	// Conntrack: only replies (ct state established,related), as upstream
	// PR #21291 proposes.
	Conntrack Shape = "conntrack"
	// Wide: everything from the address, as the article does.
	Wide Shape = "wide"
)

// ParseShape reads --shape.
func ParseShape(s string) (Shape, error) {
	switch Shape(s) {
	case Narrow, Conntrack, Wide:
		return Shape(s), nil
	case "":
		return Narrow, nil
	}
	return "", failure(i18n.M("fix.err.shape", s))
}

// Options tune a plan.
type Options struct {
	// Allow are the addresses to whitelist; empty means those the check
	// found blocked.
	Allow []netip.Addr
	Shape Shape
	// Resolvers replace the VPC DNS in remedy 4.
	Resolvers []netip.Addr
	// GuardScript makes remedy 3 install the article's polling shell script
	// instead of the tsdoctor guard daemon.
	GuardScript bool
	// Interval is the polling script's (and the legacy guard's) period.
	Interval time.Duration
	// Wait is how long remedy 6 waits for the attribute to go live.
	Wait time.Duration
	// Binary is the tsdoctor the guard unit runs.
	Binary string
}

// DefaultResolvers are Alibaba Cloud's public resolvers (cloud/profiles.yaml),
// the example the --dns usage gives. Remedy 4 offers the host's cloud's own.
var DefaultResolvers = cloud.Lookup("alibaba").Resolvers()

// ParseAddrs reads a comma-separated address list (--allow, --dns).
func ParseAddrs(s string) ([]netip.Addr, error) {
	return parseIPv4s(s, "fix.err.addr", nil)
}

// parseIPv4s reads comma- or space-separated IPv4 addresses, each once;
// badKey names the one that is not an IPv4 address, and check may refuse
// one that is.
func parseIPv4s(s, badKey string, check func(netip.Addr) error) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		a, err := netip.ParseAddr(f)
		if err != nil || !a.Is4() {
			return nil, failure(i18n.M(badKey, f))
		}
		if check != nil {
			if err := check(a); err != nil {
				return nil, err
			}
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// ParseResolvers reads --dns (remedy 4): at least one IPv4 address, none
// inside 100.64.0.0/10 (the VPC's resolvers are what tailscaled's rule cuts
// off, so they cannot replace themselves).
func ParseResolvers(s string) ([]netip.Addr, error) {
	out, err := parseIPv4s(s, "fix.err.resolver", func(a netip.Addr) error {
		if tsrules.CGNAT.Contains(a) {
			return failure(i18n.M("fix.err.resolver.cgnat", a.String()))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, failure(i18n.M("fix.err.resolver.none"))
	}
	return out, nil
}

// AddrList joins addresses with commas, as the flags take them.
func AddrList(addrs []netip.Addr) string {
	var s []string
	for _, a := range addrs {
		s = append(s, a.String())
	}
	return strings.Join(s, ",")
}

// ParseAllow reads --allow: IPv4 addresses inside 100.64.0.0/10 (anything
// else is not dropped by tailscaled's rule and needs no whitelist).
func ParseAllow(s string) ([]netip.Addr, error) {
	addrs, err := ParseAddrs(s)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if !tsrules.CGNAT.Contains(a) {
			return nil, failure(i18n.M("fix.err.allow.outside", a.String()))
		}
	}
	return addrs, nil
}

// Plan is what a remedy will do, shown before it does it.
type Plan struct {
	Remedy ID `json:"remedy"`
	// Steps are the exact commands and file edits, in order.
	Steps []Step `json:"steps"`
	// Notes are warnings and consequences.
	Notes []i18n.Msg `json:"notes,omitempty"`
	// Actions are the recorded, reversible changes behind the steps.
	Actions []Action `json:"actions"`
	// Manual: the remedy needs someone else to act (the node attribute);
	// Apply changes nothing and waits for it.
	Manual bool `json:"manual,omitempty"`
	// Addresses the plan whitelists (remedies 2 and 3).
	Allow []netip.Addr `json:"allow,omitempty"`
}

// Nothing reports whether applying the plan changes nothing: the remedy is
// already in place.
func (p *Plan) Nothing() bool { return len(p.Actions) == 0 }

// Step is one thing the plan does, as a person would do it.
type Step struct {
	Text    i18n.Msg `json:"text"`
	Command string   `json:"command,omitempty"`
	File    string   `json:"file,omitempty"`
	Content string   `json:"content,omitempty"` // the file's new content
}

// Action is one recorded, reversible change: exactly one field is set.
type Action struct {
	// Firewall is one batch on one backend, applied atomically per table.
	Firewall []firewall.Change `json:"firewall,omitempty"`
	File     *FileWrite        `json:"file,omitempty"`
	Command  *CommandPair      `json:"command,omitempty"`
	// Rule is a policy rule change over rtnetlink (remedy 7).
	Rule *RuleChange `json:"rule,omitempty"`
}

// FileWrite sets a file's content (or removes it).
type FileWrite struct {
	Path    string `json:"path"`
	Content string `json:"content,omitempty"`
	Mode    uint32 `json:"mode,omitempty"`
	Remove  bool   `json:"remove,omitempty"`
	// Regenerated: another program rewrites this file as a matter of
	// course (resolv.conf under dhclient, at each lease), so what it holds
	// at undo is no admin's edit: undo restores it without comparing.
	Regenerated bool `json:"regenerated,omitempty"`
}

// CommandPair is a command and the one that reverses it. A command nothing
// reverses says so in NotUndone, and undo reports it instead of claiming
// everything is as before.
type CommandPair struct {
	Do   []string `json:"do"`
	Undo []string `json:"undo,omitempty"`
	// Netfilter is the netfilter mode Do sets. Undo runs only while
	// tailscaled still has it: a mode someone chose since is theirs.
	Netfilter tailscale.NetfilterMode `json:"netfilter,omitempty"`
	// NotUndone: nothing reverses Do; undo reports this instead of
	// claiming everything is as before.
	NotUndone string `json:"not_undone,omitempty"`
}

func firewallStep(c firewall.Change) Step {
	text := i18n.M("step.fw.insert", c.Ref.Backend, c.Ref.Table, c.Ref.Chain)
	if c.Delete {
		text = i18n.M("step.fw.delete", c.Ref.Backend, c.Ref.Table, c.Ref.Chain)
	}
	return Step{Text: text, Command: c.Command()}
}

func fileStep(fw FileWrite) Step {
	if fw.Remove {
		return Step{Text: i18n.M("step.file.remove", fw.Path), Command: "rm " + fw.Path, File: fw.Path}
	}
	return Step{Text: i18n.M("step.file.write", fw.Path, strconv.FormatUint(uint64(fw.Mode), 8)), File: fw.Path, Content: fw.Content}
}

func commandStep(cp CommandPair) Step {
	return Step{Text: i18n.M("step.command"), Command: firewall.ShellJoin(cp.Do)}
}

// addFirewall appends a batch and its steps.
func (p *Plan) addFirewall(batch []firewall.Change) {
	if len(batch) == 0 {
		return
	}
	p.Actions = append(p.Actions, Action{Firewall: batch})
	for _, c := range batch {
		p.Steps = append(p.Steps, firewallStep(c))
	}
}

func (p *Plan) addFile(fw FileWrite) {
	p.Actions = append(p.Actions, Action{File: &fw})
	p.Steps = append(p.Steps, fileStep(fw))
}

func (p *Plan) addCommand(do []string, undo []string) {
	p.addCommandPair(CommandPair{Do: do, Undo: undo})
}

func (p *Plan) addCommandPair(cp CommandPair) {
	p.Actions = append(p.Actions, Action{Command: &cp})
	p.Steps = append(p.Steps, commandStep(cp))
}

func (p *Plan) note(key string, args ...any) { p.Notes = append(p.Notes, i18n.M(key, args...)) }
