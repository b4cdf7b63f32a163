package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// cmdDebug holds commands that show what tsdoctor sees, for bug reports.
func cmdDebug(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "firewall" {
		fmt.Fprintln(stderr, "usage: tsdoctor debug firewall   (print the INPUT path of every backend as JSON)")
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "tsdoctor debug firewall: reading the firewall needs root: rerun with sudo")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap := firewall.Default().Snapshot(ctx)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(snap); err != nil {
		fmt.Fprintln(stderr, "tsdoctor:", err)
		return 2
	}
	return 0
}
