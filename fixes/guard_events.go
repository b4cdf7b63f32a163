package fixes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// tailscaled rebuilds ts-input when it starts, when its netfilter mode
// changes and when the node attribute changes. Each of these shows without
// reading the firewall, which on iptables-legacy costs the whole table:
//   - tailscale0 appears, changes or gets its address (rtnetlink);
//   - tailscaled's state stream says so (the local API's IPN bus: a new
//     connection's first message, State, Prefs, the node's capabilities);
//   - tailscaled's socket appears (inotify on its directory).
// TailscaledEvents turns them into one stream of named events for RunGuard.

// DefaultTailscaledSocket is where tailscaled listens on Linux.
const DefaultTailscaledSocket = "/var/run/tailscale/tailscaled.sock"

// EventOptions configure TailscaledEvents.
type EventOptions struct {
	Iface  string // default tailscale0
	Socket string // default DefaultTailscaledSocket
	Logf   func(format string, args ...any)
}

// TailscaledEvents starts the event sources; the channel carries what
// happened ("link tailscale0 new", "ipn state Running", ...) and closes when
// ctx ends. A source that cannot start is logged and left out (the IPN bus
// keeps trying: tailscaled may not be running yet).
func TailscaledEvents(ctx context.Context, o EventOptions) <-chan string {
	if o.Iface == "" {
		o.Iface = "tailscale0"
	}
	if o.Socket == "" {
		o.Socket = DefaultTailscaledSocket
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ch := make(chan string, 16)
	send := func(ev string) {
		select {
		case ch <- ev:
		default: // the guard is busy re-checking already: it will look anyway
		}
	}
	link, err := linkEvents(ctx, o.Iface, send, logf)
	if err != nil {
		logf("tsdoctor guard: no link events (%v)", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ipnEvents(ctx, o.Socket, send, logf)
	}()
	go func() {
		<-ctx.Done()
		<-done
		if link != nil {
			<-link
		}
		close(ch)
	}()
	return ch
}

// linkEvents reports rtnetlink link and IPv4 address changes of iface. The
// returned channel closes when the reader has stopped.
func linkEvents(ctx context.Context, iface string, send func(string), logf func(string, ...any)) (<-chan struct{}, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR})
	if err != nil {
		return nil, err
	}
	stopped := make(chan struct{})
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	go func() {
		defer close(stopped)
		for {
			msgs, err := c.Receive()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if errors.Is(err, unix.ENOBUFS) {
					// The kernel dropped messages (a busy host): ours may be among them.
					send("link events overflowed")
					continue
				}
				logf("tsdoctor guard: link events stopped: %v", err)
				return
			}
			for _, m := range msgs {
				if ev := linkEvent(m, iface); ev != "" {
					send(ev)
				}
			}
		}
	}()
	return stopped, nil
}

// linkEvent names a link or address message about iface, or returns "".
func linkEvent(m netlink.Message, iface string) string {
	var hdr, attr uint16
	var what string
	switch m.Header.Type {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		hdr, attr, what = unix.SizeofIfInfomsg, unix.IFLA_IFNAME, map[bool]string{true: "new", false: "gone"}[m.Header.Type == unix.RTM_NEWLINK]
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		hdr, attr, what = unix.SizeofIfAddrmsg, unix.IFA_LABEL, map[bool]string{true: "address added", false: "address removed"}[m.Header.Type == unix.RTM_NEWADDR]
	default:
		return ""
	}
	if len(m.Data) < int(hdr) {
		return ""
	}
	ad, err := netlink.NewAttributeDecoder(m.Data[hdr:])
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == attr && ad.String() == iface {
			return "link " + iface + " " + what
		}
	}
	return ""
}

// ipnNotify is the part of tailscaled's ipn.Notify the guard reacts to.
type ipnNotify struct {
	State      *int            `json:"State"`
	Prefs      json.RawMessage `json:"Prefs"`
	SelfChange *ipnNode        `json:"SelfChange"` // 1.98+
	NetMap     *struct {
		SelfNode *ipnNode `json:"SelfNode"`
	} `json:"NetMap"` // older versions
}

type ipnNode struct {
	CapMap map[string]json.RawMessage `json:"CapMap"`
}

const cgnatAttr = "disable-linux-cgnat-drop-rule"

var ipnStates = []string{"NoState", "InUseOtherUser", "NeedsLogin", "NeedsMachineAuth", "Stopped", "Starting", "Running"}

// ipnEvents follows tailscaled's IPN bus, reconnecting when tailscaled
// restarts: at once when its socket reappears, else with a backoff.
func ipnEvents(ctx context.Context, socket string, send func(string), logf func(string, ...any)) {
	created := socketCreated(ctx, socket, logf)
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		connected, err := watchIPNBus(ctx, socket, send)
		if ctx.Err() != nil {
			return
		}
		if connected {
			send("ipn bus closed")
			backoff = 250 * time.Millisecond
		} else if err != nil && backoff >= 5*time.Second {
			logf("tsdoctor guard: tailscaled's IPN bus: %v", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-created:
			send("socket " + filepath.Base(socket) + " created")
			// bind comes before listen: try again soon, not after the backoff.
			backoff = 25 * time.Millisecond
		case <-t.C:
		}
		t.Stop()
		backoff = min(backoff*2, 5*time.Second)
	}
}

// watchIPNBus reads the IPN bus until it closes; connected says a stream was
// established.
func watchIPNBus(ctx context.Context, socket string, send func(string)) (connected bool, err error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	defer tr.CloseIdleConnections()
	// NotifyInitialState (2) | NotifyRateLimit (256): the current state at
	// once, netmaps (older tailscaled) at most every few seconds.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://local-tailscaled.sock/localapi/v0/watch-ipn-bus?mask=258", nil)
	if err != nil {
		return false, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("watch-ipn-bus: %s", resp.Status)
	}
	dec := json.NewDecoder(resp.Body)
	first := true
	attr := false
	for {
		var n ipnNotify
		if err := dec.Decode(&n); err != nil {
			return true, err
		}
		self := n.SelfChange
		if n.NetMap != nil {
			self = n.NetMap.SelfNode
		}
		switch {
		case first:
			send("ipn bus connected")
		case n.State != nil && *n.State >= 0 && *n.State < len(ipnStates):
			send("ipn state " + ipnStates[*n.State])
		case n.Prefs != nil:
			send("ipn prefs changed")
		}
		if self != nil {
			_, has := self.CapMap[cgnatAttr]
			if has != attr && !first {
				send("ipn node attribute " + map[bool]string{true: "granted", false: "revoked"}[has])
			}
			attr = has
		}
		first = false
	}
}

// socketCreated signals each time the socket file is created or moved into
// place. Without inotify (or the directory) the channel never fires and the
// backoff alone reconnects.
func socketCreated(ctx context.Context, socket string, logf func(string, ...any)) <-chan struct{} {
	ch := make(chan struct{}, 1)
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		logf("tsdoctor guard: inotify: %v", err)
		return ch
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(socket), unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return ch // no directory yet: tailscaled has never run here
	}
	f := os.NewFile(uintptr(fd), "inotify")
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				if cstring(name) == filepath.Base(socket) {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}()
	return ch
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
