package lab

import (
	"context"
	"fmt"
	"io"
	"time"
)

// FakeTailscaled is the lab's `tailscaled`: only `tailscaled --cleanup`,
// which removes every ts-* chain and jump, as the real one does after a
// crash. The lab has no daemon to start.
func FakeTailscaled(args []string, stateFile string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "--cleanup" && args[0] != "-cleanup" {
		fmt.Fprintln(stderr, "tailscaled (lab): only `tailscaled --cleanup` exists in the lab")
		return 2
	}
	st, lock, err := lockedCLIState(stateFile)
	if err != nil {
		fmt.Fprintf(stderr, "tailscaled (lab): %v\n", err)
		return 1
	}
	defer lock.Close()
	if err := insideLab(st, "the firewall"); err != nil {
		fmt.Fprintf(stderr, "tailscaled (lab): %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := RemoveRules(ctx, "", st.Scenario); err != nil {
		fmt.Fprintf(stderr, "tailscaled (lab): cleanup: %v\n", err)
		return 1
	}
	return 0
}

// CLIRetry is how long the real CLI keeps retrying a socket nobody listens
// on before it gives up (safesocket: "tailscaled still starting" for two
// seconds after the CLI starts). The lab's crashed tailscaled costs the same.
var CLIRetry = 2 * time.Second

// cannotConnect fails as the real CLI does against a dead tailscaled.
func (c *fakeCLI) cannotConnect() {
	if c.st.Scenario.Variant == VariantCrashed {
		// Without the state lock: concurrent real CLIs wait side by side.
		_ = c.unlock()
		time.Sleep(CLIRetry)
	}
	fmt.Fprintln(c.stderr, daemonDown)
}
