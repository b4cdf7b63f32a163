package wire

import (
	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// SchemaFixV1 names the JSON `tsdoctor fix --json` and `undo --json` print.
const SchemaFixV1 = "tsdoctor.fix/v1"

// Fix is tsdoctor.fix/v1 as `tsdoctor fix --json` prints it.
type Fix struct {
	Schema       string        `json:"schema"`
	Remedy       Remedy        `json:"remedy"`
	Applies      bool          `json:"applies"`
	Reason       string        `json:"reason,omitempty"`
	Plan         *Plan         `json:"plan,omitempty"`
	DryRun       bool          `json:"dry_run"`
	Changed      bool          `json:"changed"`
	Journal      string        `json:"journal_id,omitempty"`
	Verification *Verification `json:"verification,omitempty"`
	Undo         string        `json:"undo,omitempty"`
	Error        string        `json:"error,omitempty"`
}

// Remedy names the remedy a Fix is about.
type Remedy struct {
	ID              fixes.ID    `json:"id"`
	Name            string      `json:"name"`
	Title           string      `json:"title"`
	Invasive        fixes.Level `json:"invasive"`
	SurvivesRestart fixes.Lasts `json:"survives_restart"`
	SurvivesReboot  fixes.Lasts `json:"survives_reboot"`
}

// Plan is what a remedy does, as a person would do it.
type Plan struct {
	Steps  []PlanStep `json:"steps"`
	Notes  []string   `json:"notes"`
	Allow  []string   `json:"allow,omitempty"`
	Manual bool       `json:"manual,omitempty"`
}

// PlanStep is one step of a Plan.
type PlanStep struct {
	Text    string `json:"text"`
	Command string `json:"command,omitempty"`
	File    string `json:"file,omitempty"`
	Content string `json:"content,omitempty"`
}

// Verification is the check run after the remedy, judged by what it promised.
type Verification struct {
	Passed     bool                    `json:"passed"`
	Verdict    checks.Verdict          `json:"verdict"`
	DNSAnswers bool                    `json:"dns_answers"`
	Blocked    []checks.BlockedService `json:"blocked"`
	OnRestart  string                  `json:"on_restart"`
	OnReboot   string                  `json:"on_reboot"`
	Details    []string                `json:"details"`
}

// RemedyOf is the remedy's identity in language l.
func RemedyOf(info fixes.Info, l i18n.Lang) Remedy {
	return Remedy{ID: info.ID, Name: info.Name, Title: info.Title.String(l),
		Invasive: info.Invasive, SurvivesRestart: info.SurvivesRestart, SurvivesReboot: info.SurvivesReboot}
}

// PlanOf renders a plan in language l.
func PlanOf(p *fixes.Plan, l i18n.Lang) *Plan {
	pj := &Plan{Steps: []PlanStep{}, Notes: []string{}, Manual: p.Manual}
	for _, s := range p.Steps {
		pj.Steps = append(pj.Steps, PlanStep{Text: s.Text.String(l), Command: s.Command, File: s.File, Content: s.Content})
	}
	for _, n := range p.Notes {
		pj.Notes = append(pj.Notes, n.String(l))
	}
	for _, a := range p.Allow {
		pj.Allow = append(pj.Allow, a.String())
	}
	return pj
}

// VerificationOf renders a verification in language l.
func VerificationOf(v fixes.Verification, l i18n.Lang) *Verification {
	vj := &Verification{Passed: v.Passed, Verdict: v.Verdict, DNSAnswers: v.DNS, Blocked: v.Blocked,
		OnRestart: v.Restart.String(l), OnReboot: v.Reboot.String(l), Details: []string{}}
	for _, d := range v.Details {
		vj.Details = append(vj.Details, d.String(l))
	}
	return vj
}

// Undo is tsdoctor.fix/v1 as `tsdoctor undo --json` prints it.
type Undo struct {
	Schema string   `json:"schema"`
	Undone []Undone `json:"undone"`
	Error  string   `json:"error,omitempty"`
	// Edited: files that changed since tsdoctor wrote them, which stopped
	// undo (--force restores them anyway).
	Edited []Edited `json:"edited,omitempty"`
}

// Edited is a file changed since tsdoctor wrote it.
type Edited struct {
	Path string `json:"path"`
	// Diff is unified, from what tsdoctor wrote to what is there now.
	Diff string `json:"diff"`
}

// Undone is one journal entry undone.
type Undone struct {
	Journal     string   `json:"journal_id"`
	Remedy      fixes.ID `json:"remedy"`
	Name        string   `json:"name"`
	Same        bool     `json:"same_as_before"`
	Differences []string `json:"differences,omitempty"`
	// LeftAlone: what changed since the fix and was left as it is now.
	LeftAlone []string `json:"left_alone,omitempty"`
}
