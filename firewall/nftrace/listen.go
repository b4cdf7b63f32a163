package nftrace

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Listener collects trace events of one network namespace. It must be
// listening before the first traced packet arrives: the kernel sends trace
// events only to sockets already in the group.
type Listener struct {
	c       *netlink.Conn
	record  bool
	done    chan struct{}
	mu      sync.Mutex
	events  []Event
	raw     [][]byte
	lost    bool
	changed chan struct{} // closed and replaced on every new event
	err     error
}

// Listen joins NFNLGRP_NFTRACE in the namespace netnsFd (0: this one).
// With record, the raw messages are kept too (Raw), for test data.
func Listen(netnsFd int, record bool) (*Listener, error) {
	c, err := dial(netnsFd)
	if err != nil {
		return nil, err
	}
	if err := c.JoinGroup(unix.NFNLGRP_NFTRACE); err != nil {
		c.Close()
		return nil, fmt.Errorf("nftrace: join the trace group: %w", err)
	}
	// A reply's walk is a few dozen events; a burst must not overflow.
	_ = c.SetReadBuffer(1 << 20)
	l := &Listener{c: c, record: record, done: make(chan struct{}), changed: make(chan struct{})}
	go l.read()
	return l, nil
}

func (l *Listener) read() {
	defer close(l.done)
	for {
		msgs, err := l.c.Receive()
		if err != nil {
			var oe *netlink.OpError
			if errors.As(err, &oe) && errors.Is(oe.Err, unix.ENOBUFS) {
				l.mu.Lock()
				l.lost = true
				l.mu.Unlock()
				continue
			}
			l.mu.Lock()
			if !errors.Is(err, unix.ETIMEDOUT) && !isTimeout(err) {
				l.err = err
			}
			l.mu.Unlock()
			return
		}
		l.mu.Lock()
		for _, m := range msgs {
			if !IsTrace(m.Header.Type) {
				continue
			}
			e, err := Decode(m.Data)
			if err != nil {
				continue
			}
			l.events = append(l.events, e)
			if l.record {
				l.raw = append(l.raw, append([]byte(nil), m.Data...))
			}
		}
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// Wait blocks until cond holds for the events so far, or ctx ends.
func (l *Listener) Wait(ctx context.Context, cond func([]Event) bool) bool {
	for {
		l.mu.Lock()
		ok, ch := cond(l.events), l.changed
		l.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-l.done:
			l.mu.Lock()
			defer l.mu.Unlock()
			return cond(l.events)
		case <-ch:
		}
	}
}

// drainWindow is how long Close keeps reading after the last traced packet
// was handled: the events are queued on the socket before the packet
// reaches its socket or is dropped, so this only has to outlast reading them.
const drainWindow = time.Millisecond

// Close reads what is queued, stops listening and returns every event. lost
// says the kernel dropped events because the socket's buffer overflowed.
func (l *Listener) Close() (events []Event, lost bool, err error) {
	_ = l.c.SetReadDeadline(time.Now().Add(drainWindow))
	<-l.done
	l.c.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events, l.lost, l.err
}

// Raw returns the raw messages received (only when recording).
func (l *Listener) Raw() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw
}
