package tui

import (
	"context"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// firstWrite records when the program first draws.
type firstWrite struct {
	once sync.Once
	at   chan time.Time
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(func() { f.at <- time.Now() })
	return len(p), nil
}

// BenchmarkFirstFrame: time from starting the program to its first frame,
// while the diagnosis is still running (held back 2 s here): the wizard
// never waits for the probes to show itself.
//
//	go test ./tui -run '^$' -bench FirstFrame
func BenchmarkFirstFrame(b *testing.B) {
	var total time.Duration
	for range b.N {
		eng := &fakeEngine{root: true, diagDelay: 2 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		out := &firstWrite{at: make(chan time.Time, 1)}
		m := New(ctx, eng, Options{Lang: i18n.EN})
		p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithOutput(out), tea.WithInput(nil),
			tea.WithWindowSize(80, 24), tea.WithoutSignalHandler())
		start := time.Now()
		done := make(chan struct{})
		go func() { _, _ = p.Run(); close(done) }()
		select {
		case at := <-out.at:
			total += at.Sub(start)
		case <-time.After(5 * time.Second):
			b.Fatal("no frame in 5 s")
		}
		cancel()
		<-done
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-first-frame")
}
