package lab

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// Records of the VPC's internal DNS (100.100.2.136/.138). Any other name gets
// exampleAddr, so a lookup of whatever a check picks always answers.
var internalRecords = map[string]string{
	"example.com.":                ExampleAddr,
	"www.example.com.":            ExampleAddr,
	"mirrors.cloud.aliyuncs.com.": MirrorAddr,
	"ntp.cloud.aliyuncs.com.":     "100.100.61.88",
}

// internalOnly: names only the VPC resolvers know; public ones say NXDOMAIN.
func internalOnly(name string) bool {
	return strings.HasSuffix(name, ".cloud.aliyuncs.com.") || strings.HasSuffix(name, "-internal.aliyuncs.com.")
}

func dnsHandler(internal bool) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		if len(r.Question) != 1 {
			m.Rcode = dns.RcodeFormatError
			_ = w.WriteMsg(m)
			return
		}
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		if !internal && internalOnly(name) {
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{soa(name)}
			_ = w.WriteMsg(m)
			return
		}
		addr, ok := internalRecords[name]
		if !ok {
			addr = ExampleAddr
		}
		if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A:   net.ParseIP(addr).To4(),
			})
		}
		_ = w.WriteMsg(m)
	}
}

func soa(name string) dns.RR {
	zone := "aliyuncs.com."
	if !strings.HasSuffix(name, zone) {
		zone = "."
	}
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 600},
		Ns:  "ns1." + strings.TrimPrefix(zone, "."), Mbox: "hostmaster." + strings.TrimPrefix(zone, "."),
		Serial: 2024010101, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 600,
	}
}

// InstanceID is the lab instance's ID in the metadata service.
func InstanceID(prefix string) string {
	h := fnv.New64a()
	h.Write([]byte(prefix))
	return fmt.Sprintf("i-lab%014x", h.Sum64()>>8)
}

func metadataHandler(prefix string) http.Handler {
	md := map[string]string{
		"dns-conf/nameservers":   InternalDNS1 + "\n" + InternalDNS2,
		"eipv4":                  "",
		"hostname":               prefix + "-ecs",
		"image-id":               "debian_12_8_x64_20G_alibase_20241201.vhd",
		"instance-id":            InstanceID(prefix),
		"instance/instance-type": "ecs.g7.large",
		"mac":                    "00:16:3e:00:01:0a",
		"network-type":           "vpc",
		"private-ipv4":           ECSAddr,
		"region-id":              "cn-hangzhou",
		"vpc-id":                 "vpc-lab" + prefix,
		"vswitch-id":             "vsw-lab" + prefix,
		"zone-id":                "cn-hangzhou-i",
	}
	mux := http.NewServeMux()
	// IMDSv2-style token, so hardened clients work too.
	mux.HandleFunc("/latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		fmt.Fprint(w, "lab-metadata-token")
	})
	mux.HandleFunc("/latest/meta-data/", func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")
		w.Header().Set("Content-Type", "text/plain")
		if v, ok := md[key]; ok {
			fmt.Fprint(w, v)
			return
		}
		// A directory: list its direct children, subdirectories with a slash.
		dir := strings.TrimSuffix(key, "/")
		if dir != "" {
			dir += "/"
		}
		seen := map[string]bool{}
		var list []string
		for k := range md {
			rest, ok := strings.CutPrefix(k, dir)
			if !ok {
				continue
			}
			if i := strings.Index(rest, "/"); i >= 0 {
				rest = rest[:i+1]
			}
			if !seen[rest] {
				seen[rest] = true
				list = append(list, rest)
			}
		}
		if len(list) == 0 {
			http.NotFound(w, r)
			return
		}
		sort.Strings(list)
		fmt.Fprint(w, strings.Join(list, "\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/latest" || r.URL.Path == "/latest/" {
			fmt.Fprint(w, "meta-data\nuser-data\n")
			return
		}
		http.NotFound(w, r)
	})
	return mux
}

const examplePage = `<!doctype html>
<html><head><title>Example Domain</title></head>
<body><h1>Example Domain</h1><p>This domain is for use in documentation examples (tsdoctor lab).</p></body></html>
`

func pageHandler(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		fmt.Fprint(w, body)
	})
}

const mirrorPage = `<html><head><title>Index of /</title></head><body><h1>Index of /</h1><pre>
<a href="debian/">debian/</a>
<a href="debian-security/">debian-security/</a>
<a href="ubuntu/">ubuntu/</a>
<a href="centos/">centos/</a>
</pre><p>mirrors.cloud.aliyuncs.com (tsdoctor lab)</p></body></html>
`

// servers are the VPC's services, stoppable as one.
type servers struct {
	dns   []*dns.Server
	http  []*http.Server
	tunFD int // held to give tailscale0 (a tun device) a carrier; -1 if none
	// quit aborts the stub resolver's forwards in flight, which Shutdown
	// would otherwise wait for.
	quit context.CancelFunc
	// daemon is tailscaled's socket while the scenario's tailscaled runs.
	daemon net.Listener
	once   sync.Once
}

func (s *servers) stop() {
	s.once.Do(func() {
		if s.quit != nil {
			s.quit()
		}
		for _, d := range s.dns {
			_ = d.Shutdown()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, h := range s.http {
			_ = h.Shutdown(ctx)
		}
		if s.tunFD >= 0 {
			unix.Close(s.tunFD)
		}
		if s.daemon != nil {
			s.daemon.Close()
		}
	})
}

// listenDaemonSocket is tailscaled's LocalAPI socket as a running daemon
// has it, where the host's root keeps it: tsdoctor probes it before asking
// the CLI (the fake CLI itself needs no socket). Connections are accepted
// and closed.
func listenDaemonSocket(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln, nil
}

// Serve starts the VPC's DNS and HTTP servers inside the vpc namespace and
// returns once all of them listen. They stop when ctx ends or on Down.
func (l *Lab) Serve(ctx context.Context) error {
	var pcs []net.PacketConn
	var lns []net.Listener
	dnsAddrs := append(slices.Clone(internalDNS), PublicDNS1, PublicDNS2)
	httpAddrs := []string{MetadataAddr, ExampleAddr, MirrorAddr}
	closeAll := func() {
		for _, pc := range pcs {
			pc.Close()
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	err := inNetns(l.VPC(), func() error {
		for _, a := range dnsAddrs {
			pc, err := net.ListenPacket("udp4", net.JoinHostPort(a, "53"))
			if err != nil {
				return err
			}
			pcs = append(pcs, pc)
			ln, err := net.Listen("tcp4", net.JoinHostPort(a, "53"))
			if err != nil {
				return err
			}
			lns = append(lns, ln)
		}
		for _, a := range httpAddrs {
			ln, err := net.Listen("tcp4", net.JoinHostPort(a, "80"))
			if err != nil {
				return err
			}
			lns = append(lns, ln)
		}
		return nil
	})
	if err != nil {
		closeAll()
		return fmt.Errorf("lab servers: %w", err)
	}

	srv := &servers{tunFD: -1}
	if l.TunKind == "tun" && l.Scenario.Running() {
		// Like tailscaled, keep the tun device open so it has a carrier.
		if fd, err := l.attachTun(); err == nil {
			srv.tunFD = fd
		}
	}
	var started sync.WaitGroup
	for i, a := range dnsAddrs {
		h := dnsHandler(slices.Contains(internalDNS, a))
		for _, d := range []*dns.Server{
			{PacketConn: pcs[i], Handler: h},
			{Listener: lns[i], Handler: h},
		} {
			started.Add(1)
			d.NotifyStartedFunc = started.Done
			srv.dns = append(srv.dns, d)
			go func() { _ = d.ActivateAndServe() }()
		}
	}
	handlers := map[string]http.Handler{
		MetadataAddr: metadataHandler(l.Prefix),
		ExampleAddr:  pageHandler(examplePage),
		MirrorAddr:   pageHandler(mirrorPage),
	}
	for i, a := range httpAddrs {
		h := &http.Server{Handler: handlers[a], ReadHeaderTimeout: 5 * time.Second}
		srv.http = append(srv.http, h)
		ln := lns[len(dnsAddrs)+i]
		go func() { _ = h.Serve(ln) }()
	}
	// Shutdown of a dns.Server that has not started yet fails, so wait.
	started.Wait()
	if l.Scenario.Running() {
		ln, err := listenDaemonSocket(SocketPath(l.RootDir()))
		if err != nil {
			srv.stop()
			return fmt.Errorf("lab tailscaled socket: %w", err)
		}
		srv.daemon = ln
	}
	if l.Scenario.Resolver == ResolverStub {
		if err := l.serveStub(srv); err != nil {
			srv.stop()
			return fmt.Errorf("lab stub resolver: %w", err)
		}
	}

	l.mu.Lock()
	l.servers = append(l.servers, srv)
	l.mu.Unlock()
	go func() {
		<-ctx.Done()
		srv.stop()
	}()
	return nil
}

// attachTun opens the persistent tun device tailscale0 in the ecs namespace.
func (l *Lab) attachTun() (int, error) {
	fd := -1
	err := inNetns(l.ECS(), func() error {
		var err error
		// The tun file binds to the namespace it is opened in.
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq("tailscale0")
		if err != nil {
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			fd = -1
			return err
		}
		return nil
	})
	return fd, err
}

func (l *Lab) stopServers() {
	l.mu.Lock()
	srvs := l.servers
	l.servers = nil
	l.mu.Unlock()
	for _, s := range srvs {
		s.stop()
	}
}

// waitServing dials every service from inside the vpc namespace until all
// accept connections, so callers know a background server is ready.
func (l *Lab) waitServing(ctx context.Context) error {
	var addrs []string
	for _, a := range append(slices.Clone(internalDNS), PublicDNS1, PublicDNS2) {
		addrs = append(addrs, a+":53")
	}
	addrs = append(addrs, MetadataAddr+":80", ExampleAddr+":80", MirrorAddr+":80")
	for {
		var last error
		for _, a := range addrs {
			err := inNetns(l.VPC(), func() error {
				c, err := net.DialTimeout("tcp4", a, 500*time.Millisecond)
				if err == nil {
					c.Close()
				}
				return err
			})
			if err != nil {
				last = err
				break
			}
		}
		if last == nil && l.Scenario.Resolver == ResolverStub {
			last = inNetns(l.ECS(), func() error {
				c, err := net.DialTimeout("tcp4", StubAddr+":53", 500*time.Millisecond)
				if err == nil {
					c.Close()
				}
				return err
			})
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
