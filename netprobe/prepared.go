package netprobe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Preparer opens a DNS probe's socket before anything is sent, so its local
// port is known in advance: the nftables trace marks exactly the replies
// to that port.
type Preparer interface {
	PrepareDNS(ctx context.Context, server netip.AddrPort, network string) (*PreparedDNS, error)
}

// PreparedDNS is a DNS probe with its local port chosen and nothing sent.
type PreparedDNS struct {
	Server  netip.AddrPort
	Network string
	// LocalPort is where the replies will come to.
	LocalPort uint16
	udp       *net.UDPConn
}

var _ Preparer = Net{}

// PrepareDNS opens the probe's socket: a connected UDP socket (connecting
// sends nothing), or for TCP a free local port that Exchange binds before
// connecting, so even the SYN-ACK goes to the known port.
func (Net) PrepareDNS(ctx context.Context, server netip.AddrPort, network string) (*PreparedDNS, error) {
	p := &PreparedDNS{Server: server, Network: network}
	switch network {
	case "udp":
		var d net.Dialer
		c, err := d.DialContext(ctx, "udp", server.String())
		if err != nil {
			return nil, err
		}
		p.udp = c.(*net.UDPConn)
		p.LocalPort = p.udp.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	case "tcp":
		// Closing a listener leaves no TIME_WAIT: the port is free to bind.
		l, err := net.ListenTCP("tcp", nil)
		if err != nil {
			return nil, err
		}
		p.LocalPort = l.Addr().(*net.TCPAddr).AddrPort().Port()
		l.Close()
	default:
		return nil, fmt.Errorf("netprobe: unknown network %q", network)
	}
	return p, nil
}

// Exchange asks the server for name's A record, as Net.DNS does.
func (p *PreparedDNS) Exchange(ctx context.Context, name string) Result {
	c, m := query(ctx, p.Network, name)
	start := time.Now()
	var nc net.Conn
	if p.udp != nil {
		nc, p.udp = p.udp, nil
	} else {
		d := net.Dialer{LocalAddr: &net.TCPAddr{Port: int(p.LocalPort)}}
		var err error
		if nc, err = d.DialContext(ctx, "tcp", p.Server.String()); err != nil {
			return failure(err, time.Since(start), ctx)
		}
	}
	return exchange(ctx, c, m, &dns.Conn{Conn: nc}, start)
}

// Close releases a probe that was never exchanged.
func (p *PreparedDNS) Close() {
	if p.udp != nil {
		p.udp.Close()
		p.udp = nil
	}
}
