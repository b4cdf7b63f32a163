package fixes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// NodeAttr is remedy 6, Tailscale's own fix since 1.98: the tailnet admin
// grants the node attribute disable-linux-cgnat-drop-rule and tailscaled
// writes RETURN instead of DROP. Nothing changes on this host; tsdoctor
// prints the policy snippet and confirms once it is live.
type NodeAttr struct{}

func (NodeAttr) Info() Info {
	return Info{ID: NodeAttrID, Name: "node-attr", Title: i18n.M("fix.6.title"), Changes: i18n.M("fix.6.changes"),
		Tradeoffs: Tradeoffs{Invasive: Low, SurvivesRestart: LastsYes, SurvivesReboot: LastsYes,
			Security: i18n.M("fix.6.security"), Loses: i18n.M("fix.6.loses"), Cost: i18n.M("fix.6.cost")}}
}

func (NodeAttr) Applies(h *Host, rep checks.Report) (bool, i18n.Msg) {
	ts := rep.Tailscale
	switch {
	case !ts.Installed:
		return false, i18n.M("fix.why.notailscale")
	case !ts.HonoursNodeAttr():
		return false, i18n.M("fix.why.oldversion", ts.Version, tailscale.CGNATAttrSince.String())
	case ts.CGNATDropOff:
		return false, i18n.M("fix.why.attrlive")
	}
	return true, i18n.Msg{}
}

func (r NodeAttr) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	ts := rep.Tailscale
	if !ts.Installed {
		return nil, fmt.Errorf("tailscale is not installed here: the node attribute needs a tailscaled %s or later", tailscale.CGNATAttrSince)
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
