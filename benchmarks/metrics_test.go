package benchmarks

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-go/vigil/metrics"
)

// metricOps are the per-operation bodies of one implementation. Each func performs one
// operation; the harness calls it in b.Loop or under RunParallel.
type metricOps struct {
	impl string
	// counterBound increments a series bound once up front (2 labels).
	counterBound func()
	// counterLabelled looks the series up by its 2 label values, then increments it.
	counterLabelled func()
	// histogramBound observes into a series bound once up front.
	histogramBound func()
	// check fails tb unless the operations above reached the exported series.
	check func(tb testing.TB)
}

func clientGolangOps() metricOps {
	reg := prometheus.NewRegistry()
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs."}, []string{"queue", "result"})
	hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "job_duration_seconds", Help: "Job latency.", Buckets: prometheus.DefBuckets,
	}, []string{"queue"})
	reg.MustRegister(cv, hv)
	c := cv.WithLabelValues("mail", "ok")
	h := hv.WithLabelValues("mail")
	return metricOps{
		impl:            "client_golang",
		counterBound:    func() { c.Inc() },
		counterLabelled: func() { cv.WithLabelValues("mail", "ok").Inc() },
		histogramBound:  func() { h.Observe(0.042) },
		check: func(tb testing.TB) {
			if got := testutil.ToFloat64(c); got == 0 {
				tb.Error("client_golang counter not incremented")
			}
		},
	}
}

// vigilOps is the same through a vigil Registry; statsd is the StatsD address ("" for
// Prometheus only).
func vigilOps(tb testing.TB, impl, statsd string) metricOps {
	tb.Helper()
	reg, err := metrics.New(metrics.Config{
		DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true,
		StatsD: metrics.StatsDConfig{Addr: statsd, Format: "dogstatsd"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = reg.Shutdown(tb.Context()) })
	cf, err := reg.Counter("jobs_total", "Jobs.", "queue", "result")
	if err != nil {
		tb.Fatal(err)
	}
	hf, err := reg.NewHistogram(metrics.Opts{
		Name: "job_duration_seconds", Help: "Job latency.", Labels: []string{"queue"}, Buckets: prometheus.DefBuckets,
	})
	if err != nil {
		tb.Fatal(err)
	}
	c := cf.With("mail", "ok")
	h := hf.With("mail")
	return metricOps{
		impl:            impl,
		counterBound:    func() { c.Inc() },
		counterLabelled: func() { cf.With("mail", "ok").Inc() },
		histogramBound:  func() { h.Observe(0.042) },
		check: func(tb testing.TB) {
			n, err := testutil.GatherAndCount(reg.Prometheus(), "jobs_total", "job_duration_seconds")
			if err != nil {
				tb.Fatal(err)
			}
			if n != 2 {
				tb.Errorf("vigil registry exports %d series, want 2", n)
			}
		},
	}
}

func metricImpls(tb testing.TB) []metricOps {
	return []metricOps{
		clientGolangOps(),
		vigilOps(tb, "vigil", ""),
		vigilOps(tb, "vigil+statsd", discardUDP(tb)),
	}
}

var metricOpNames = []struct {
	name string
	op   func(metricOps) func()
}{
	{"counter-bound", func(m metricOps) func() { return m.counterBound }},
	{"counter-labelled", func(m metricOps) func() { return m.counterLabelled }},
	{"histogram-bound", func(m metricOps) func() { return m.histogramBound }},
}

// BenchmarkMetrics compares one metric operation in vigil (with and without StatsD
// emission) against client_golang.
func BenchmarkMetrics(b *testing.B) {
	impls := metricImpls(b)
	for _, op := range metricOpNames {
		b.Run("op="+op.name, func(b *testing.B) {
			for _, m := range impls {
				f := op.op(m)
				b.Run("impl="+m.impl, func(b *testing.B) {
					b.ReportAllocs()
					done := cpuPerOp(b)
					for b.Loop() {
						f()
					}
					done()
				})
			}
		})
	}
}

// BenchmarkMetricsParallel is BenchmarkMetrics with every P hitting the same series.
func BenchmarkMetricsParallel(b *testing.B) {
	impls := metricImpls(b)
	for _, op := range metricOpNames {
		b.Run("op="+op.name, func(b *testing.B) {
			for _, m := range impls {
				f := op.op(m)
				b.Run("impl="+m.impl, func(b *testing.B) {
					b.ReportAllocs()
					done := cpuPerOp(b)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							f()
						}
					})
					done()
				})
			}
		})
	}
}

// TestMetricOpsDoTheWork runs each operation once per implementation and checks the
// exported series.
func TestMetricOpsDoTheWork(t *testing.T) {
	for _, m := range metricImpls(t) {
		t.Run(m.impl, func(t *testing.T) {
			for _, op := range metricOpNames {
				op.op(m)()
			}
			m.check(t)
		})
	}
}
