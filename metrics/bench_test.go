package metrics

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// benchRegistry returns a registry without collectors; with statsd it sends to a local
// UDP socket that nobody reads (the kernel drops), so the flusher runs for real.
func benchRegistry(b *testing.B, statsd bool) *Registry {
	cfg := Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if statsd {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pc.Close() })
		cfg.StatsD = StatsDConfig{Addr: pc.LocalAddr().String(), FlushInterval: 100 * time.Millisecond}
	}
	r, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Shutdown(b.Context()) })
	return r
}

// BenchmarkCounterInc: a bound series' Inc against client_golang's Counter.Inc.
func BenchmarkCounterInc(b *testing.B) {
	b.Run("impl=client_golang", func(b *testing.B) {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c", Help: "c"})
		b.ReportAllocs()
		for b.Loop() {
			c.Inc()
		}
	})
	for _, statsd := range []bool{false, true} {
		b.Run("impl=vigil/statsd="+onOff(statsd), func(b *testing.B) {
			r := benchRegistry(b, statsd)
			c, _ := r.Counter("c", "c", "method", "route")
			s := c.With("GET", "/orders/{id}")
			b.ReportAllocs()
			for b.Loop() {
				s.Inc()
			}
		})
	}
}

// BenchmarkCounterWithInc: looking the series up by two label values, then Inc.
func BenchmarkCounterWithInc(b *testing.B) {
	b.Run("impl=client_golang", func(b *testing.B) {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c", Help: "c"}, []string{"method", "route"})
		v.WithLabelValues("GET", "/orders/{id}").Inc()
		b.ReportAllocs()
		for b.Loop() {
			v.WithLabelValues("GET", "/orders/{id}").Inc()
		}
	})
	for _, statsd := range []bool{false, true} {
		b.Run("impl=vigil/statsd="+onOff(statsd), func(b *testing.B) {
			r := benchRegistry(b, statsd)
			c, _ := r.Counter("c", "c", "method", "route")
			c.With("GET", "/orders/{id}").Inc()
			b.ReportAllocs()
			for b.Loop() {
				c.With("GET", "/orders/{id}").Inc()
			}
		})
	}
}

// BenchmarkHistogramObserve: a bound series' Observe against client_golang's.
func BenchmarkHistogramObserve(b *testing.B) {
	b.Run("impl=client_golang", func(b *testing.B) {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Help: "h"})
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(0.042)
		}
	})
	for _, statsd := range []bool{false, true} {
		b.Run("impl=vigil/statsd="+onOff(statsd), func(b *testing.B) {
			r := benchRegistry(b, statsd)
			h, _ := r.Histogram("h", "h", "route")
			s := h.With("/orders/{id}")
			b.ReportAllocs()
			for b.Loop() {
				s.Observe(0.042)
			}
		})
	}
}

// BenchmarkGaugeAdd: the in-flight gauge pattern.
func BenchmarkGaugeAdd(b *testing.B) {
	b.Run("impl=client_golang", func(b *testing.B) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g", Help: "g"})
		b.ReportAllocs()
		for b.Loop() {
			g.Inc()
			g.Dec()
		}
	})
	b.Run("impl=vigil/statsd=off", func(b *testing.B) {
		r := benchRegistry(b, false)
		g, _ := r.Gauge("g", "g")
		b.ReportAllocs()
		for b.Loop() {
			g.Inc()
			g.Dec()
		}
	})
}

// BenchmarkTimerStartStop: the `defer t.Start().Stop()` form.
func BenchmarkTimerStartStop(b *testing.B) {
	for _, statsd := range []bool{false, true} {
		b.Run("impl=vigil/statsd="+onOff(statsd), func(b *testing.B) {
			r := benchRegistry(b, statsd)
			t, _ := r.Timer("t", "t")
			b.ReportAllocs()
			for b.Loop() {
				t.Start().Stop()
			}
		})
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// BenchmarkCounterIncForwarded: a handle made before Init (a registry forwarded to the
// real one) against one made after.
func BenchmarkCounterIncForwarded(b *testing.B) {
	for _, forwarded := range []bool{false, true} {
		b.Run("forwarded="+onOff(forwarded), func(b *testing.B) {
			pre, real := benchRegistry(b, false), benchRegistry(b, false)
			c, _ := pre.Counter("c", "c")
			if forwarded {
				if err := pre.Forward(real, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				c.Inc()
			}
		})
	}
}
