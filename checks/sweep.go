package checks

import (
	"context"
	"strings"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// sweepTraceRules removes trace LOG rules left by a tsdoctor that was killed
// before it could clean up.
func sweepTraceRules(ctx context.Context, h *firewall.Host, snap *firewall.Snapshot) []firewall.Rule {
	var swept []firewall.Rule
	for _, rule := range snap.Rules() {
		id, ok := strings.CutPrefix(rule.Comment, tsrules.TraceCommentPrefix+" ")
		if !ok {
			continue
		}
		w := h.Backend(rule.Backend)
		if w == nil {
			continue
		}
		if err := w.Delete(ctx, rule.ChainRef, tsrules.TraceSpec(id)); err == nil {
			swept = append(swept, rule)
		}
	}
	return swept
}
