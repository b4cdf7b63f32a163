package firewall

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Watch reports changes to nf_tables in this backend's network namespace:
// every table, chain or rule added or removed, by tailscaled's netlink
// writes and by iptables-nft alike (both go through nf_tables). Changes
// close together may arrive as one signal; the channel is closed when ctx
// ends. iptables-legacy changes are not reported: poll for those.
func (n *NFTablesBackend) Watch(ctx context.Context) (<-chan struct{}, error) {
	cfg := &netlink.Config{}
	if n.netnsFd > 0 {
		cfg.NetNS = n.netnsFd
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, fmt.Errorf("nftables: watch: %w", err)
	}
	if err := conn.JoinGroup(unix.NFNLGRP_NFTABLES); err != nil {
		conn.Close()
		return nil, fmt.Errorf("nftables: watch: join the nftables group: %w", err)
	}
	ch := make(chan struct{}, 1)
	notify := func() {
		select {
		case ch <- struct{}{}:
		default: // one pending signal stands for any number of changes
		}
	}
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	go func() {
		defer close(ch)
		for {
			msgs, err := conn.Receive()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				var oe *netlink.OpError
				if errors.As(err, &oe) && errors.Is(oe.Err, unix.ENOBUFS) {
					notify() // events were lost: a re-read is due anyway
					continue
				}
				return
			}
			for _, m := range msgs {
				if uint16(m.Header.Type)>>8 != unix.NFNL_SUBSYS_NFTABLES {
					continue
				}
				switch uint16(m.Header.Type) & 0xff {
				case unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE, unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_DELCHAIN,
					unix.NFT_MSG_NEWRULE, unix.NFT_MSG_DELRULE:
					notify()
				}
			}
		}
	}()
	return ch, nil
}
