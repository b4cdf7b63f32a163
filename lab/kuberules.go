package lab

import (
	"fmt"
	"strings"
)

// KubeProxyRules is iptables-restore input (for --noflush) holding 100,000
// rules shaped like kube-proxy's in table ("filter" or "nat"): 1,000
// service chains of 99 endpoint rules each, plus the dispatch chain, hooked
// on FORWARD (filter) or PREROUTING (nat), off the INPUT path as kube-proxy
// puts its bulk. Benchmarks load it to show what a Kubernetes node costs.
func KubeProxyRules(table string) string {
	var sb strings.Builder
	target, hook := "DNAT --to-destination 10.244.0.1:8080", "PREROUTING"
	if table == "filter" {
		target, hook = "ACCEPT", "FORWARD"
	}
	fmt.Fprintf(&sb, "*%s\n:KUBE-SERVICES - [0:0]\n", table)
	for i := range 1000 {
		fmt.Fprintf(&sb, ":KUBE-SVC-%04d - [0:0]\n", i)
	}
	fmt.Fprintf(&sb, "-A %s -j KUBE-SERVICES\n", hook)
	for i := range 1000 {
		fmt.Fprintf(&sb, "-A KUBE-SERVICES -d 10.96.%d.%d/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-%04d\n", i/250, i%250, i)
		for j := range 99 {
			fmt.Fprintf(&sb, "-A KUBE-SVC-%04d -s 10.%d.%d.%d/32 -p tcp -m tcp --dport %d -j %s\n", i, 1+i/250, i%250, j, 1000+j, target)
		}
	}
	sb.WriteString("COMMIT\n")
	return sb.String()
}
