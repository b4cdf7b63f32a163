package tsrules

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// TraceCommentPrefix marks tsdoctor's temporary LOG rules, so a later run can
// find and remove one left behind by a killed process.
const TraceCommentPrefix = "tsdoctor-trace"

// NewTraceID is a trace id unique to this process and moment, "<pid>-<n>":
// the pid lets a later run tell a trace in progress from one whose run was
// killed (TraceStale).
func NewTraceID() string {
	return fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixMilli()%1000000)
}

// TraceStale reports whether trace id (its rule's or its table's) was left
// by a run that is gone: the sweep removes those and leaves a live run's
// trace, in progress in another tsdoctor, alone. An id without a pid is
// stale.
func TraceStale(id string) bool {
	pid, _, _ := strings.Cut(id, "-")
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return true
	}
	err = syscall.Kill(n, 0)
	return err != nil && !errors.Is(err, syscall.EPERM)
}

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

// TraceRule is the insert of trace id's LOG rule, decided here once for the
// check that inserts it and the wizard that shows it before asking: the top
// of INPUT on the culprit's backend; without a culprit (a route, or replies
// lost elsewhere) on the first backend holding tailscaled's chains, where
// the replies meet its rules; with neither, iptables-nft.
func TraceRule(id string, culprit *firewall.Rule, snap *firewall.Snapshot) firewall.Change {
	b := firewall.IptablesNFT
	if culprit != nil {
		b = culprit.Backend
	} else if snap != nil {
		if bs := snap.TailscaleBackends(); len(bs) > 0 {
			b = bs[0]
		}
	}
	ref := firewall.ChainRef{Backend: b, Family: firewall.IPv4, Table: "filter", Chain: "INPUT"}
	return firewall.Change{Ref: ref, Pos: 1, Spec: TraceSpec(id)}
}

// TraceIDOf is the trace id in a trace rule's comment (TraceSpec's); ok is
// false for any other comment.
func TraceIDOf(comment string) (id string, ok bool) {
	return strings.CutPrefix(comment, TraceCommentPrefix+" ")
}
