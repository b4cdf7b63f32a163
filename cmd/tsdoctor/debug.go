package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"time"
)

// cmdDebug holds commands that show what tsdoctor sees, for bug reports.
func cmdDebug(args []string, stdout, stderr io.Writer) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		printCommandHelp(stdout, "debug")
		return nil
	}
	if len(args) != 1 || args[0] != "firewall" {
		return usageError("debug", "cli.debug")
	}
	if os.Geteuid() != 0 {
		return usageError("debug", "cli.debug.noroot")
	}
	fw := hostFirewall()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap := fw.Snapshot(ctx)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(snap); err != nil {
		return failure("debug", 2, err.Error())
	}
	return nil
}
