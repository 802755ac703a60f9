// Package cputime reads the CPU time the process has used: on a machine
// shared with other work the wall time of an operation grows with the load,
// its CPU time does not, so benchmarks and `zhengzhao bench` report both.
package cputime

import "testing"

// Report starts counting the process's CPU time and returns the function
// that reports it per operation of b as "cpu-µs/op".
func Report(b *testing.B) (stop func()) {
	start := Process()
	return func() {
		b.ReportMetric(float64((Process()-start).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
	}
}
