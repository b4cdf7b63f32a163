package harness

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/tsdoctor/tsdoctor/lab"
	"tailscale.com/derp/derpserver"
	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/key"
	"tailscale.com/types/logger"
)

// Control is a tailnet's coordination server and DERP relay, serving from
// the VPC namespace on the gateway address, where the ECS namespace reaches
// them over its veth.
type Control struct {
	*testcontrol.Server
	URL string // login server, http://172.16.1.1:port

	http *http.Server
	derp *httptest.Server
	ds   *derpserver.Server

	mu     sync.Mutex
	attr   bool                    // grant disable-linux-cgnat-drop-rule
	synced map[key.NodePublic]bool // the attr value each node's caps were set to
}

// StartControl starts the control server and DERP relay in the namespace
// vpc. attr grants the node attribute disable-linux-cgnat-drop-rule to every
// node from its first netmap on.
func StartControl(vpc string, attr bool, logf logger.Logf) (*Control, error) {
	if logf == nil {
		logf = logger.Discard
	}
	var cln, dln net.Listener
	err := lab.InNetns(vpc, func() error {
		var err error
		if cln, err = net.Listen("tcp4", net.JoinHostPort(lab.GatewayAddr, "0")); err != nil {
			return err
		}
		dln, err = net.Listen("tcp4", net.JoinHostPort(lab.GatewayAddr, "0"))
		return err
	})
	if err != nil {
		if cln != nil {
			cln.Close()
		}
		return nil, fmt.Errorf("control server listeners in %s: %w", vpc, err)
	}

	c := &Control{attr: attr, synced: map[key.NodePublic]bool{}, ds: derpserver.New(key.NewNode(), logf)}
	// The relay speaks TLS with httptest's certificate; the DERP node is
	// marked InsecureForTests so tailscaled accepts it. No STUN: the node
	// has no NAT to discover.
	c.derp = httptest.NewUnstartedServer(derpserver.Handler(c.ds))
	c.derp.Listener.Close()
	c.derp.Listener = dln
	c.derp.Config.ErrorLog = logger.StdLogger(logf)
	c.derp.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	c.derp.StartTLS()

	c.URL = "http://" + cln.Addr().String()
	c.Server = &testcontrol.Server{
		Logf:             logf,
		AllNodesSameUser: true,
		ExplicitBaseURL:  c.URL,
		DERPMap: &tailcfg.DERPMap{Regions: map[int]*tailcfg.DERPRegion{
			1: {RegionID: 1, RegionCode: "vpc", RegionName: "lab VPC", Nodes: []*tailcfg.DERPNode{{
				Name: "1a", RegionID: 1, HostName: lab.GatewayAddr, IPv4: lab.GatewayAddr, IPv6: "none",
				DERPPort: dln.Addr().(*net.TCPAddr).Port, STUNPort: -1, InsecureForTests: true,
			}}},
		}},
		// Before a map request is answered, give the node the capability
		// map the test wants, so the attribute is there from its first
		// netmap (and again after every tailscaled restart).
		HoldMapRequest: func(req *tailcfg.MapRequest) func() {
			c.syncCaps(req.NodeKey)
			return nil
		},
	}
	c.http = &http.Server{Handler: c.Server, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.http.Serve(cln) }()
	return c, nil
}

// capMap is the capability map every node gets.
func (c *Control) capMap() tailcfg.NodeCapMap {
	m := tailcfg.NodeCapMap{}
	if c.attr {
		m[tailcfg.NodeAttrDisableLinuxCGNATDropRule] = nil
	}
	return m
}

func (c *Control) syncCaps(nk key.NodePublic) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.synced[nk]; ok && v == c.attr {
		return
	}
	c.synced[nk] = c.attr
	c.Server.SetNodeCapMap(nk, c.capMap())
}

// SetNodeAttr grants (on) or revokes the node attribute
// disable-linux-cgnat-drop-rule for every node, as a tailnet admin editing
// the policy file would; connected nodes get a new netmap at once.
func (c *Control) SetNodeAttr(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attr = on
	for _, n := range c.Server.AllNodes() {
		c.synced[n.Key] = on
		c.Server.SetNodeCapMap(n.Key, c.capMap())
	}
}

// NodeAttr reports whether the attribute is granted.
func (c *Control) NodeAttr() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attr
}

// Close stops the control server and the relay.
func (c *Control) Close() {
	_ = c.http.Close()
	c.derp.CloseClientConnections()
	c.derp.Close()
	_ = c.ds.Close()
}
