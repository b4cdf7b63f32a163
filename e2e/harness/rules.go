package harness

import (
	"context"

	"github.com/tsdoctor/tsdoctor/lab"
)

// InputRules reads the node's ts-input chain on its firewall backend, the
// same way the lab's imitation is read (lab.ReadInputRules).
func (n *Node) InputRules(ctx context.Context) ([]string, error) {
	return lab.ReadInputRules(ctx, n.Lab.ECS(), n.Mode)
}
