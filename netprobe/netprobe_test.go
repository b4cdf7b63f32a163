package netprobe

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// serveDNS answers A queries on loopback over UDP and TCP at the same port.
func serveDNS(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		t.Skipf("TCP port %s taken: %v", ap, err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(93, 184, 215, 14)})
		w.WriteMsg(m)
	})
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return ap
}

func TestDNS(t *testing.T) {
	ap := serveDNS(t)
	for _, network := range []string{"udp", "tcp"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r := Net{}.DNS(ctx, ap, network, "example.com")
		cancel()
		if !r.OK || r.Detail != "NOERROR 93.184.215.14" {
			t.Errorf("%s: %+v", network, r)
		}
	}
}

// A silent server must not hold the probe past a cancel: the counter watch
// settles dropped probes early by cancelling them.
func TestDNSCancelAbortsWait(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	t0 := time.Now()
	r := Net{}.DNS(ctx, ap, "udp", "example.com")
	if r.OK || !r.Timeout {
		t.Errorf("result %+v, want a timeout", r)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("cancel took %s to abort the query", d)
	}
}

func TestTCPAndHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })}
	go srv.Serve(ln)
	defer srv.Close()
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if r := (Net{}).TCP(ctx, ap); !r.OK {
		t.Errorf("tcp: %+v", r)
	}
	if r := (Net{}).HTTP(ctx, "http://"+ap.String()+"/"); !r.OK || r.Detail != "HTTP 204" {
		t.Errorf("http: %+v", r)
	}
	closed := netip.AddrPortFrom(ap.Addr(), 1)
	if r := (Net{}).TCP(ctx, closed); r.OK || r.Timeout {
		t.Errorf("closed port: %+v, want a refusal, not a timeout", r)
	}
}

// A prepared probe knows its local port before it sends and still gets its
// answer. (That the replies really go to that port, the nftables trace's
// lab test proves: it marks only replies to it and sees all four.)
func TestPreparedDNS(t *testing.T) {
	ap := serveDNS(t)
	for _, network := range []string{"udp", "tcp"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		p, err := Net{}.PrepareDNS(ctx, ap, network)
		if err != nil {
			t.Fatal(err)
		}
		if p.LocalPort == 0 {
			t.Errorf("%s: no local port", network)
		}
		r := p.Exchange(ctx, "example.com")
		cancel()
		if !r.OK || r.Detail != "NOERROR 93.184.215.14" {
			t.Errorf("%s: %+v", network, r)
		}
	}
	if _, err := (Net{}).PrepareDNS(context.Background(), ap, "sctp"); err == nil {
		t.Error("an unknown network must be an error")
	}
}
