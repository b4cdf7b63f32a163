package lab

import (
	"context"
	"fmt"
	"path/filepath"
)

// Become turns the lab's tailscaled into another shape (another version,
// firewall backend or node attribute state), as tailscaled does when it
// restarts changed: its old ts-* chains go, with anything added to them,
// and it builds new ones as the new shape does, in the netfilter mode it
// has. The fake CLI then reports the new shape. Tests use it to change the
// world between a fix and its undo.
func (l *Lab) Become(ctx context.Context, next Scenario) error {
	if err := next.Validate(); err != nil {
		return err
	}
	if !next.Tailscale || !l.Scenario.Tailscale {
		return fmt.Errorf("become %s: the lab must run Tailscale before and after", next.Name)
	}
	st, lock, err := lockedCLIState(l.StateFile())
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := RemoveRules(ctx, l.ECS(), st.Scenario); err != nil {
		return err
	}
	st.Scenario = next
	if next.Variant == VariantNetfilterOff {
		st.NetfilterMode = 0
	}
	if shape := st.firewall(); shape > 0 {
		s := next
		if s.Variant == VariantNetfilterOff {
			s.Variant = VariantDefault
		}
		if err := installRules(ctx, l.ECS(), s, shape == 2); err != nil {
			return err
		}
	}
	if err := WriteCLIState(l.StateFile(), st); err != nil {
		return err
	}
	l.Scenario = next
	return writeJSON(filepath.Join(l.Dir, "lab.json"), l)
}
