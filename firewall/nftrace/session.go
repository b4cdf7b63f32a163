package nftrace

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// Session is one trace: listening, and the trace table in place. Stop
// removes the table whatever happened; a process killed before it could is
// cleaned up by the next run's Sweep.
type Session struct {
	netnsFd int
	id      string
	replies []Reply
	l       *Listener
}

// Start listens, then installs trace table id for the replies (in that
// order, so no event is missed).
func Start(ctx context.Context, netnsFd int, id string, replies []Reply, record bool) (*Session, error) {
	l, err := Listen(netnsFd, record)
	if err != nil {
		return nil, err
	}
	if err := Install(ctx, netnsFd, id, replies); err != nil {
		l.Close()
		// A partial transaction leaves nothing, but make sure.
		_ = Remove(context.WithoutCancel(ctx), netnsFd, id)
		return nil, err
	}
	return &Session{netnsFd: netnsFd, id: id, replies: replies, l: l}, nil
}

// WaitDrop blocks until a rule or policy has dropped the reply r, and
// reports whether one did before ctx ended: a probe whose reply is dropped
// need not wait for its timeout.
func (s *Session) WaitDrop(ctx context.Context, r Reply) bool {
	return s.l.Wait(ctx, func(events []Event) bool {
		ids := map[uint32]bool{}
		for _, e := range events {
			if r.Matches(e.Packet) {
				ids[e.ID] = true
			}
			if ids[e.ID] && (e.VerdictName() == "drop" || e.VerdictName() == "policy-drop") {
				return true
			}
		}
		return false
	})
}

// Result is what a trace found.
type Result struct {
	// Paths holds the first traced packet of each reply that came back, in
	// the order of the replies.
	Paths []Path
	// Events are every event received (of any packet in this namespace).
	Events []Event
	Lost   bool     // the kernel dropped events: paths may be incomplete
	Raw    [][]byte // the raw messages, when recording
}

// Stop removes the trace table (also when ctx is already cancelled: Ctrl-C,
// SIGTERM), stops listening and assembles the paths. The error is about the
// removal; it is the one a caller must show.
func (s *Session) Stop(ctx context.Context) (Result, error) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rmErr := Remove(dctx, s.netnsFd, s.id)
	events, lost, lerr := s.l.Close()
	res := Result{Events: events, Lost: lost, Raw: s.l.Raw()}
	paths := Assemble(events, func(p Packet) bool {
		for _, r := range s.replies {
			if r.Matches(p) {
				return true
			}
		}
		return false
	})
	for _, r := range s.replies {
		for _, p := range paths {
			if r.Matches(p.Packet) {
				res.Paths = append(res.Paths, p)
				break
			}
		}
	}
	return res, errors.Join(rmErr, lerr)
}

// Probe is one probe to trace: the reply it expects and a function that
// sends it and waits for the answer until ctx ends.
type Probe struct {
	Reply Reply
	Send  func(ctx context.Context)
}

// Run traces the probes' replies: it starts a session, sends every probe at
// once, cuts short each probe whose reply a rule dropped, waits at most
// timeout for the others, and stops the session. The table is gone when Run
// returns, also when ctx was cancelled.
func Run(ctx context.Context, netnsFd int, id string, probes []Probe, timeout time.Duration, record bool) (Result, error) {
	replies := make([]Reply, len(probes))
	for i, p := range probes {
		replies[i] = p.Reply
	}
	s, err := Start(ctx, netnsFd, id, replies, record)
	if err != nil {
		return Result{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, stop := context.WithCancel(pctx)
			defer stop()
			go func() {
				if s.WaitDrop(c, p.Reply) {
					stop()
				}
			}()
			p.Send(c)
		}()
	}
	wg.Wait()
	return s.Stop(ctx)
}

// Tracer is what the checks need of nftables tracing; Namespace is the real
// one, tests of the checks substitute theirs.
type Tracer interface {
	Run(ctx context.Context, id string, probes []Probe, timeout time.Duration) (Result, error)
	// Handles lists a chain's rule handles (for Annotate).
	Handles(ctx context.Context) HandleLister
	// Sweep removes the trace tables whose id stale says were left by
	// killed processes.
	Sweep(ctx context.Context, stale func(id string) bool) ([]string, error)
}

// Namespace traces in the network namespace open at Fd (0: this process's).
type Namespace struct{ Fd int }

var _ Tracer = Namespace{}

func (n Namespace) Run(ctx context.Context, id string, probes []Probe, timeout time.Duration) (Result, error) {
	return Run(ctx, n.Fd, id, probes, timeout, false)
}

func (n Namespace) Handles(ctx context.Context) HandleLister {
	return func(f firewall.Family, table, chain string) ([]uint64, error) {
		return ChainHandles(ctx, n.Fd, nfproto(f), table, chain)
	}
}

func (n Namespace) Sweep(ctx context.Context, stale func(id string) bool) ([]string, error) {
	return Sweep(ctx, n.Fd, stale)
}
