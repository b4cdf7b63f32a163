package main

import "testing"

// BenchmarkCheckRouteCapture: the route form's verdict, whole process, in
// the lab (table 52 covers the VPC DNS). The captured resolvers are not
// probed, so the verdict does not wait for the probe timeout (1.5 s). The
// exit node also captures the internet targets, which the connectivity step
// waits for (the lab's exit node leads nowhere).
//
//	go test ./cmd/tsdoctor -run '^$' -bench CheckRouteCapture -benchtime 20x
func BenchmarkCheckRouteCapture(b *testing.B) {
	for _, sc := range []string{"route-subnet", "route-exit"} {
		b.Run(sc, func(b *testing.B) {
			l := startLab(b, sc)
			timeRuns(b, l, []int{1}, binary, "check", "--json", "--ecs")
		})
	}
}
