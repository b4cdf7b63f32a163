package main

import (
	"context"
	"testing"

	"github.com/tsdoctor/tsdoctor/lab"
)

// BenchmarkCheckLegacyNamed: the verdict on a CentOS 7 shaped host (legacy
// `iptables` only, no iptables-legacy), whole process: with iptables-services'
// INPUT, read from the kernel table; and with an admin's multiport rule too,
// which sends the INPUT path through the plain `iptables`.
//
//	go test ./cmd/tsdoctor -run '^$' -bench CheckLegacyNamed -benchtime 20x
func BenchmarkCheckLegacyNamed(b *testing.B) {
	for _, c := range []struct {
		name  string
		rules [][]string
	}{
		{"centos7", lab.CentOS7Input},
		{"centos7+multiport", append([][]string{{"-p", "tcp", "-m", "multiport", "--dports", "80,443", "-j", "ACCEPT"}}, lab.CentOS7Input...)},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := startLabWith(b, "legacy", lab.Options{Host: benchHost, LegacyNamed: true})
			if err := lab.AppendInput(context.Background(), l.ECS(), l.Scenario.Mode, c.rules); err != nil {
				b.Fatal(err)
			}
			timeRuns(b, l, []int{1}, binary, "check", "--json", "--ecs")
		})
	}
}
