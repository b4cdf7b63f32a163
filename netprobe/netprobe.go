// Package netprobe sends the live probes of tsdoctor's checks: DNS queries
// over UDP and TCP (github.com/miekg/dns), TCP connects and HTTP GETs, each
// bounded by its context.
package netprobe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Result is the outcome of one probe.
type Result struct {
	OK      bool
	RTT     time.Duration
	Detail  string // "NOERROR 93.184.215.14", "HTTP 200", "connected"
	Err     string // empty when OK
	Timeout bool   // no answer at all before the deadline
}

// Prober sends probes; tests substitute a fake.
type Prober interface {
	DNS(ctx context.Context, server netip.AddrPort, network, name string) Result
	TCP(ctx context.Context, addr netip.AddrPort) Result
	HTTP(ctx context.Context, url string) Result
}

// Net is the real Prober.
type Net struct{}

// DNS asks server for name's A record over network ("udp" or "tcp"). Any
// reply, even NXDOMAIN or SERVFAIL, proves the server is reachable.
func (Net) DNS(ctx context.Context, server netip.AddrPort, network, name string) Result {
	c, m := query(ctx, network, name)
	start := time.Now()
	conn, err := c.DialContext(ctx, server.String())
	if err != nil {
		return failure(err, time.Since(start), ctx)
	}
	return exchange(ctx, c, m, conn, start)
}

// query is the client and message that ask for name's A record over
// network, the client's timeout the context's deadline.
func query(ctx context.Context, network, name string) (*dns.Client, *dns.Msg) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	m.RecursionDesired = true
	c := &dns.Client{Net: network}
	if d, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(d)
	}
	return c, m
}

// exchange sends m on conn, reads the reply and closes conn.
func exchange(ctx context.Context, c *dns.Client, m *dns.Msg, conn *dns.Conn, start time.Time) Result {
	defer conn.Close()
	// miekg/dns honours only the context's deadline; make cancellation (the
	// counter watch settling a probe early) abort the read too.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	r, rtt, err := c.ExchangeWithConnContext(ctx, m, conn)
	if err != nil {
		return failure(err, time.Since(start), ctx)
	}
	return answer(r, rtt)
}

// answer is the Result of a DNS reply.
func answer(r *dns.Msg, rtt time.Duration) Result {
	var ans []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			ans = append(ans, a.A.String())
		}
	}
	detail := dns.RcodeToString[r.Rcode]
	if len(ans) > 0 {
		detail += " " + strings.Join(ans, ",")
	}
	return Result{OK: true, RTT: rtt, Detail: detail}
}

// TCP connects to addr and closes the connection at once.
func (Net) TCP(ctx context.Context, addr netip.AddrPort) Result {
	var d net.Dialer
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return failure(err, time.Since(start), ctx)
	}
	c.Close()
	return Result{OK: true, RTT: time.Since(start), Detail: "connected"}
}

// HTTP fetches url (no redirects) and reports the status.
func (Net) HTTP(ctx context.Context, url string) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Result{Err: err.Error()}
	}
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return failure(err, time.Since(start), ctx)
	}
	resp.Body.Close()
	return Result{OK: true, RTT: time.Since(start), Detail: "HTTP " + strconv.Itoa(resp.StatusCode)}
}

func failure(err error, took time.Duration, ctx context.Context) Result {
	r := Result{RTT: took, Err: err.Error()}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || (errors.As(err, &ne) && ne.Timeout()) || ctx.Err() != nil {
		r.Timeout = true
		r.Err = fmt.Sprintf("no answer within %s", took.Round(time.Millisecond))
	}
	return r
}
