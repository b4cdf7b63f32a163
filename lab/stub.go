package lab

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/miekg/dns"
	"github.com/tsdoctor/tsdoctor/hostinfo"
)

// Files of the Ubuntu resolver shape, relative to the lab's root.
const (
	stubResolvConf = "run/systemd/resolve/stub-resolv.conf"
	// UpstreamResolvConf is systemd-resolved's list of the servers behind
	// its stub, the file tsdoctor reads to find them.
	UpstreamResolvConf = "run/systemd/resolve/resolv.conf"
)

// StubAddr is systemd-resolved's stub listener.
const StubAddr = "127.0.0.53"

// stubUpstreamTimeout is how long the stub waits for one upstream before it
// tries the next; when all are silent it answers SERVFAIL. resolved's own
// timeouts adapt to each server's round trip; this fixed one only has to
// outlast a probe, as resolved's does on a silent server.
const stubUpstreamTimeout = 2 * time.Second

// writeResolvedFiles lays out the resolver files as Ubuntu on ECS has them:
// /etc/resolv.conf a link to the stub's file, and resolved's upstream list
// holding the VPC's DNS that DHCP pushed.
func (l *Lab) writeResolvedFiles() error {
	root := l.RootDir()
	if err := os.MkdirAll(filepath.Join(root, "run/systemd/resolve"), 0o755); err != nil {
		return err
	}
	stub := "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n" +
		"# (tsdoctor lab)\n\nnameserver " + StubAddr + "\noptions edns0 trust-ad\nsearch .\n"
	up := "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n" +
		"# (tsdoctor lab)\n\n" + nameservers(l.Host.Resolvers()) + "search .\n"
	if err := os.WriteFile(filepath.Join(root, stubResolvConf), []byte(stub), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, UpstreamResolvConf), []byte(up), 0o644); err != nil {
		return err
	}
	return os.Symlink("../"+stubResolvConf, filepath.Join(root, "etc", "resolv.conf"))
}

// writeSystemctlGuard puts a systemctl first on the lab's PATH that refuses
// every command. The stub is a stand-in for systemd-resolved, and a remedy
// run in the lab (remedy 4 restarts systemd-resolved) must not reach the
// host's own systemd through the real systemctl.
func (l *Lab) writeSystemctlGuard() error {
	if err := os.MkdirAll(l.BinDir(), 0o755); err != nil {
		return err
	}
	script := "#!/bin/sh\n# tsdoctor lab: scenario " + l.Scenario.Name + "\n" +
		"echo \"tsdoctor lab: 'systemctl $*' is not simulated here (the lab's systemd-resolved is a stand-in); nothing on the host was touched\" >&2\nexit 1\n"
	return os.WriteFile(filepath.Join(l.BinDir(), "systemctl"), []byte(script), 0o755)
}

// stubHandler forwards each query to resolved's current upstreams, in order,
// from inside the ECS namespace, so their replies meet tailscaled's rules
// exactly as systemd-resolved's do.
func (l *Lab) stubHandler(ctx context.Context) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		up, _ := hostinfo.ReadResolvConf(filepath.Join(l.RootDir(), UpstreamResolvConf))
		for _, a := range up.Nameservers {
			var c net.Conn
			err := inNetns(l.ECS(), func() error {
				var err error
				c, err = net.Dial("udp", net.JoinHostPort(a.String(), "53"))
				return err
			})
			if err != nil {
				continue
			}
			cl := &dns.Client{Timeout: stubUpstreamTimeout}
			// The client heeds only a deadline: closing the socket is what
			// ends a wait when the lab stops.
			stop := context.AfterFunc(ctx, func() { c.Close() })
			resp, _, err := cl.ExchangeWithConn(r, &dns.Conn{Conn: c})
			stop()
			c.Close()
			if err == nil {
				_ = w.WriteMsg(resp)
				return
			}
			if ctx.Err() != nil {
				return
			}
		}
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		_ = w.WriteMsg(m)
	}
}

// serveStub starts the stub on 127.0.0.53, UDP and TCP, in the ECS namespace.
func (l *Lab) serveStub(srv *servers) error {
	var pc net.PacketConn
	var ln net.Listener
	err := inNetns(l.ECS(), func() error {
		var err error
		if pc, err = net.ListenPacket("udp4", net.JoinHostPort(StubAddr, "53")); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp4", net.JoinHostPort(StubAddr, "53")); err != nil {
			pc.Close()
		}
		return err
	})
	if err != nil {
		return err
	}
	// Handlers stop at ctx: a forward in flight may otherwise hold Shutdown
	// for the whole upstream timeout.
	ctx, cancel := context.WithCancel(context.Background())
	srv.quit = cancel
	h := l.stubHandler(ctx)
	done := make(chan struct{}, 2)
	for _, d := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		d.NotifyStartedFunc = func() { done <- struct{}{} }
		srv.dns = append(srv.dns, d)
		go func() { _ = d.ActivateAndServe() }()
	}
	<-done
	<-done
	return nil
}
