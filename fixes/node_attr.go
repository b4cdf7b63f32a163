package fixes

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// NodeAttr is remedy 6, Tailscale's own fix since 1.98: the tailnet admin
// grants the node attribute disable-linux-cgnat-drop-rule and tailscaled
// writes RETURN instead of DROP. Nothing changes on this host; tsdoctor
// prints the policy snippet and confirms once it is live.
type NodeAttr struct{}

func (NodeAttr) Info() Info {
	return Info{ID: NodeAttrID, Name: "node-attr", Title: i18n.M("fix.6.title"), Short: i18n.M("fix.6.short"), Changes: i18n.M("fix.6.changes"),
		Promise: Promise{Restart: i18n.M("verify.restart.node-attr"), Reboot: i18n.M("verify.reboot.node-attr")},
		Tradeoffs: Tradeoffs{Invasive: Low, SurvivesRestart: LastsYes, SurvivesReboot: LastsYes,
			Security: i18n.M("fix.6.security"), Loses: i18n.M("fix.6.loses"), Cost: i18n.M("fix.6.cost")}}
}

// Applies: where it does not, its plan (the policy an admin grants) is
// still shown, say to grant it before tailscaled is upgraded.
func (NodeAttr) Applies(h *Host, rep checks.Report) Applicability {
	ts := rep.Tailscale
	var a Applicability
	switch {
	case !ts.Installed:
		a = notApplicable(i18n.M("fix.why.notailscale"))
	case !ts.HonoursNodeAttr():
		a = notApplicable(i18n.M("fix.why.oldversion", ts.Version, tailscale.CGNATAttrSince.String()))
	case ts.CGNATDropOff:
		a = nothingToFix(rep, i18n.M("fix.why.attrlive"))
	default:
		return fits()
	}
	a.PlanAnyway = a.Fit == NotApplicable
	return a
}

func (NodeAttr) Recommend(rep checks.Report) Recommendation { return forTheDrop(NodeAttrID, rep) }

// Verify passes only once the attribute is live and the DROP has become
// RETURN; until then it says the change is pending (Await waits for it).
func (NodeAttr) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	rep := v.Report
	v.Passed = rep.Tailscale.CGNATDropOff && len(tsrules.CGNATDrops(rep.Firewall)) == 0 && len(rep.Blocked) == 0
	if !rep.Tailscale.NodeAttr {
		v.Details = append(v.Details, i18n.M("verify.6.pending"))
	}
}

func (r NodeAttr) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	ts := rep.Tailscale
	if !ts.Installed {
		return nil, failure(i18n.M("fix.err.6.notailscale", tailscale.CGNATAttrSince.String()))
	}
	p := &Plan{Remedy: NodeAttrID, Manual: true}
	snippet := PolicySnippet(ts)
	p.Steps = append(p.Steps, Step{Text: i18n.M("fix.6.step.policy"), Content: snippet})
	if len(ts.Tags) == 0 {
		p.note("fix.6.note.notags", ts.HostName)
	}
	if !ts.HonoursNodeAttr() {
		p.note("fix.why.oldversion", ts.Version, tailscale.CGNATAttrSince.String())
	}
	p.Steps = append(p.Steps, Step{Text: i18n.M("fix.6.step.verify"), Command: "tailscale status --json | grep disable-linux-cgnat-drop-rule"})
	return p, nil
}

// PolicySnippet is the nodeAttrs entry for this node: its tags, or, for an
// untagged node, its owner's login (every node of that user gets it).
func PolicySnippet(ts tailscale.State) string {
	targets := ts.Tags
	if len(targets) == 0 {
		t := ts.LoginName
		if t == "" {
			t = "user@example.com"
		}
		targets = []string{t}
	}
	type nodeAttr struct {
		Target []string `json:"target"`
		Attr   []string `json:"attr"`
	}
	b, _ := json.MarshalIndent(struct {
		NodeAttrs []nodeAttr `json:"nodeAttrs"`
	}{[]nodeAttr{{targets, []string{tailscale.NodeAttrDisableCGNATDrop}}}}, "", "  ")
	return strings.TrimSpace(string(b))
}
