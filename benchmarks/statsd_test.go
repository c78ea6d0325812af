package benchmarks

import (
	"bytes"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"

	"github.com/vigil-go/vigil/metrics"
)

// distinctKeys is the key count of the "many series" case.
const distinctKeys = 1000

var (
	keyValues = func() []string {
		v := make([]string, distinctKeys)
		for i := range v {
			v[i] = "k" + strconv.Itoa(i)
		}
		return v
	}()
	// keyTags are the same keys as datadog-go takes them, built once as a caller would.
	keyTags = func() [][]string {
		t := make([][]string, distinctKeys)
		for i, k := range keyValues {
			t[i] = []string{"key:" + k}
		}
		return t
	}()
)

// statsdOps is one StatsD implementation: a counter increment and a timer sample, each
// for the series of key i (0 ≤ i < distinctKeys), and a flush for tests.
type statsdOps struct {
	impl  string
	incr  func(i int)
	timer func(i int)
	flush func()
}

func datadogOps(tb testing.TB, impl, addr string, opts ...statsd.Option) statsdOps {
	tb.Helper()
	opts = append([]statsd.Option{statsd.WithoutTelemetry(), statsd.WithoutOriginDetection()}, opts...)
	c, err := statsd.New(addr, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return statsdOps{
		impl:  impl,
		incr:  func(i int) { _ = c.Incr("jobs", keyTags[i], 1) },
		timer: func(i int) { _ = c.Timing("job_duration", 1500*time.Microsecond, keyTags[i], 1) },
		flush: func() { _ = c.Flush() },
	}
}

func vigilStatsDOps(tb testing.TB, addr string, flushEvery time.Duration) statsdOps {
	tb.Helper()
	reg, err := metrics.New(metrics.Config{
		DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true,
		StatsD: metrics.StatsDConfig{Addr: addr, Format: "dogstatsd", FlushInterval: flushEvery},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = reg.Shutdown(tb.Context()) })
	c, err := reg.Counter("jobs", "Jobs.", "key")
	if err != nil {
		tb.Fatal(err)
	}
	t, err := reg.Timer("job_duration", "Job latency.", "key")
	if err != nil {
		tb.Fatal(err)
	}
	return statsdOps{
		impl:  "vigil",
		incr:  func(i int) { c.With(keyValues[i]).Inc() },
		timer: func(i int) { t.With(keyValues[i]).Observe(1500 * time.Microsecond) },
		// The Registry flushes on its interval and at Shutdown.
		flush: func() { _ = reg.Shutdown(tb.Context()) },
	}
}

// statsdBuilders: datadog-go as configured by default (aggregation of counts, gauges
// and sets), with every kind aggregated, and with aggregation off; then vigil.
var statsdBuilders = []func(tb testing.TB, addr string, flushEvery time.Duration) statsdOps{
	func(tb testing.TB, addr string, _ time.Duration) statsdOps {
		return datadogOps(tb, "datadog-go+aggregation", addr, statsd.WithClientSideAggregation())
	},
	func(tb testing.TB, addr string, _ time.Duration) statsdOps {
		return datadogOps(tb, "datadog-go+extended-aggregation", addr, statsd.WithExtendedClientSideAggregation())
	},
	func(tb testing.TB, addr string, _ time.Duration) statsdOps {
		return datadogOps(tb, "datadog-go", addr, statsd.WithoutClientSideAggregation())
	},
	vigilStatsDOps,
}

func statsdImpls(tb testing.TB, addr string) []statsdOps {
	var impls []statsdOps
	for _, build := range statsdBuilders {
		impls = append(impls, build(tb, addr, 0))
	}
	return impls
}

var statsdCases = []struct {
	name string
	keys int
	op   func(statsdOps) func(int)
}{
	{"incr/keys=1", 1, func(s statsdOps) func(int) { return s.incr }},
	{"incr/keys=1000", distinctKeys, func(s statsdOps) func(int) { return s.incr }},
	{"timer/keys=1", 1, func(s statsdOps) func(int) { return s.timer }},
}

// BenchmarkStatsD compares emitting to StatsD (a socket nobody reads) through vigil's
// Registry against datadog-go. The vigil side also updates its Prometheus series: that is
// what one call does for a user who has both.
func BenchmarkStatsD(b *testing.B) {
	impls := statsdImpls(b, discardUDP(b))
	for _, c := range statsdCases {
		b.Run("op="+c.name, func(b *testing.B) {
			for _, s := range impls {
				f := c.op(s)
				b.Run("impl="+s.impl, func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					done := cpuPerOp(b)
					for b.Loop() {
						f(i)
						if i++; i == c.keys {
							i = 0
						}
					}
					done()
				})
			}
		})
	}
}

// BenchmarkStatsDParallel is BenchmarkStatsD with every P emitting at once.
func BenchmarkStatsDParallel(b *testing.B) {
	impls := statsdImpls(b, discardUDP(b))
	for _, c := range statsdCases {
		b.Run("op="+c.name, func(b *testing.B) {
			for _, s := range impls {
				f := c.op(s)
				b.Run("impl="+s.impl, func(b *testing.B) {
					b.ReportAllocs()
					done := cpuPerOp(b)
					b.RunParallel(func(pb *testing.PB) {
						i := 0
						for pb.Next() {
							f(i)
							if i++; i == c.keys {
								i = 0
							}
						}
					})
					done()
				})
			}
		})
	}
}

// TestStatsDOpsDoTheWork points each implementation at a socket the test reads and
// checks that both the counter and the timer arrive.
func TestStatsDOpsDoTheWork(t *testing.T) {
	for _, build := range statsdBuilders {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		s := build(t, pc.LocalAddr().String(), 20*time.Millisecond)
		t.Run(s.impl, func(t *testing.T) {
			s.incr(0)
			s.timer(0)
			s.flush()
			var got []byte
			buf := make([]byte, 65536)
			_ = pc.SetReadDeadline(time.Now().Add(3 * time.Second))
			// vigil names its timers with their unit (job_duration_ms); datadog-go does not.
			for !bytes.Contains(got, []byte("jobs:")) || !bytes.Contains(got, []byte("job_duration")) {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					break
				}
				got = append(got, buf[:n]...)
			}
			for _, name := range []string{"jobs:", "job_duration"} {
				if !bytes.Contains(got, []byte(name)) {
					t.Errorf("%s never arrived; got %q", name, got)
				}
			}
		})
	}
}
