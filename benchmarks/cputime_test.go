package benchmarks

import "testing"

// cpuPerOp starts counting the process's CPU time; the func it returns, called after
// the benchmark's loop, reports it per op as cpu-ns/op. On a busy machine a benchmark's
// wall time (ns/op) includes the time its threads waited for a CPU; its CPU time does
// not, so cpu-ns/op stays close to the work done while other processes share the
// cores. It counts every thread of the process: the span exporter's goroutine, a pipe's
// reader, the garbage collector, which are costs of the stack measured too.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		end := processCPU()
		if start < 0 || end < 0 || b.N == 0 {
			return
		}
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}
