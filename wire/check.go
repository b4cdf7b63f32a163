// Package wire holds the JSON documents tsdoctor prints: tsdoctor.check/v1
// (`check --json`) and tsdoctor.fix/v1 (`fix --json`, `undo --json`), and
// the functions that render the engine's results into them. The command
// writes them and the tests (e2e too) read them back with the same types,
// so the documented schema has one definition in Go.
package wire

import (
	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/cloud"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// SchemaCheckV1 names the JSON document `tsdoctor check --json` writes.
const SchemaCheckV1 = "tsdoctor.check/v1"

// Check is the tsdoctor.check/v1 document. Fields may be added; existing
// ones keep their meaning.
type Check struct {
	Schema    string                  `json:"schema"`
	Verdict   checks.Verdict          `json:"verdict"`
	Culprit   *Culprit                `json:"culprit"`
	Blocked   []checks.BlockedService `json:"blocked"`
	Tailscale Tailscale               `json:"tailscale"`
	Host      Host                    `json:"host"`
	Steps     []CheckStep             `json:"steps"`
	Hint      string                  `json:"hint,omitempty"`
	// Paths are the replies' ways through nf_tables, rule by rule (with
	// --trace, on the nf_tables backends).
	Paths     []nftrace.Path `json:"paths,omitempty"`
	ElapsedMS int64          `json:"elapsed_ms"`
	// OrphanedRules: tailscaled is not running, its rules are still here.
	OrphanedRules bool `json:"orphaned_rules"`
}

// Culprit is what blocks the services: a netfilter rule (kind "rule":
// backend, family, table, chain, position, rule, packets) or a route into
// tailscale0 (kind "route": table, prefix, device, peer, reason, service).
type Culprit struct {
	Kind     string               `json:"kind"`
	Backend  firewall.Backend     `json:"backend,omitempty"`
	Family   firewall.Family      `json:"family,omitempty"`
	Table    string               `json:"table"`
	Chain    string               `json:"chain,omitempty"`
	Position int                  `json:"position,omitempty"`
	Handle   uint64               `json:"handle,omitempty"`
	Rule     string               `json:"rule,omitempty"`
	Packets  uint64               `json:"packets"`
	Prefix   string               `json:"prefix,omitempty"`
	Device   string               `json:"device,omitempty"`
	Peer     string               `json:"peer,omitempty"`
	Reason   checks.CaptureReason `json:"reason,omitempty"`
	Service  string               `json:"service,omitempty"`
}

// Tailscale is what the check found of tailscaled.
type Tailscale struct {
	Installed     bool   `json:"installed"`
	Version       string `json:"version,omitempty"`
	BackendState  string `json:"backend_state,omitempty"`
	NetfilterMode string `json:"netfilter_mode,omitempty"`
	AcceptDNS     *bool  `json:"accept_dns,omitempty"`
	NodeAttr      bool   `json:"node_attr_granted"`   // the tailnet grants disable-linux-cgnat-drop-rule
	CGNATDropOff  bool   `json:"cgnat_drop_disabled"` // granted and honoured (tailscaled >= 1.98)
	// Socket: what connecting to tailscaled's socket found (listening,
	// stale: there but refused, absent); empty when not probed.
	Socket string `json:"socket,omitempty"`
}

// Host says which cloud this host is on (a profile's id in
// cloud/profiles.yaml, or "unknown") and what said so: "flag:--ecs",
// "dmi:<field>", "resolver:<address>"; empty for unknown.
type Host struct {
	Cloud      string `json:"cloud"`
	DetectedBy string `json:"detected_by,omitempty"`
}

// CheckStep is one step of the check.
type CheckStep struct {
	ID        string        `json:"id"`
	Status    checks.Status `json:"status"`
	Summary   string        `json:"summary"`
	Evidence  []string      `json:"evidence,omitempty"`
	Commands  []string      `json:"commands"`
	Explain   string        `json:"explain"`
	ElapsedMS int64         `json:"elapsed_ms"`
}

// CheckOf renders the report as tsdoctor.check/v1 in language l.
func CheckOf(rep checks.Report, l i18n.Lang) Check {
	out := Check{
		Schema:  SchemaCheckV1,
		Verdict: rep.Verdict,
		Blocked: rep.Blocked,
		Tailscale: Tailscale{
			Installed: rep.Tailscale.Installed, Version: rep.Tailscale.Version, BackendState: rep.Tailscale.BackendState,
			NetfilterMode: string(rep.Tailscale.NetfilterMode), AcceptDNS: rep.Tailscale.AcceptDNS, NodeAttr: rep.Tailscale.NodeAttr, CGNATDropOff: rep.Tailscale.CGNATDropOff,
			Socket: string(rep.Tailscale.Socket),
		},
		Host:          Host{Cloud: string(rep.Cloud.Profile.ID), DetectedBy: rep.Cloud.DetectedBy},
		ElapsedMS:     rep.Elapsed.Milliseconds(),
		OrphanedRules: rep.Orphaned,
	}
	if out.Host.Cloud == "" {
		out.Host.Cloud = string(cloud.Unknown)
	}
	if out.Blocked == nil {
		out.Blocked = []checks.BlockedService{}
	}
	if c := rep.Culprit; c != nil {
		out.Culprit = &Culprit{Kind: "rule", Backend: c.Backend, Family: c.Family, Table: c.Table, Chain: c.Chain,
			Position: c.Position, Handle: c.Handle, Rule: c.Text, Packets: c.Packets}
	}
	if c := rep.Route; c != nil && out.Culprit == nil {
		out.Culprit = &Culprit{Kind: "route", Table: c.TableName(), Prefix: c.Prefix.String(), Device: c.Device,
			Peer: c.Peer, Reason: c.Reason, Service: c.Service.String()}
	}
	if rep.Hint.Key != "" {
		out.Hint = rep.Hint.String(l)
	}
	for _, f := range rep.Steps {
		s := CheckStep{ID: string(f.ID), Status: f.Status, Summary: f.Summary.String(l), Commands: f.Commands, Explain: f.Explain, ElapsedMS: f.Elapsed.Milliseconds()}
		if s.Commands == nil {
			s.Commands = []string{}
		}
		for _, e := range f.Evidence {
			s.Evidence = append(s.Evidence, e.String(l))
		}
		out.Steps = append(out.Steps, s)
		out.Paths = append(out.Paths, f.Paths...)
	}
	return out
}
