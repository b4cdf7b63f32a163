package main

import (
	"net"
	"os"
)

// sdNotify sends state (e.g. "READY=1") to systemd over $NOTIFY_SOCKET, as
// sd_notify(3) does: one datagram on a unix socket ("@" starts an abstract
// one). Outside a Type=notify unit there is no socket and nothing to do.
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
