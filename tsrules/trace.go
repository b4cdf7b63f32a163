package tsrules

import "github.com/tsdoctor/tsdoctor/firewall"

// TraceCommentPrefix marks tsdoctor's temporary LOG rules, so a later run can
// find and remove one left behind by a killed process.
const TraceCommentPrefix = "tsdoctor-trace"

// TraceSpec is the temporary LOG rule for trace id; the same spec inserts and
// deletes it.
func TraceSpec(id string) firewall.Spec {
	return firewall.Spec{
		Source:         CGNAT,
		LimitPerSecond: 20,
		Comment:        TraceCommentPrefix + " " + id,
		LogPrefix:      "TSDOCTOR-" + id + ": ",
		Verdict:        firewall.Continue,
	}
}
