package metrics

// SKELETON: the metrics helper replaces this file with the real design. The exported API
// below is frozen (other packages compile against it); add to it, do not change it.
// This stand-in is functional (client_golang vecs) so dependants can test against it.

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures the Registry. Fields win over VIGIL_* variables.
type Config struct {
	SeriesLimit int // per family; default 2000
	StatsD      StatsDConfig
	Push        PushConfig

	DisableGoCollector, DisableProcessCollector, DisableHostCollector bool

	Service string
	Logger  *slog.Logger
}

// StatsDConfig configures the StatsD backend (VIGIL_STATSD_*).
type StatsDConfig struct {
	Addr          string
	Format        string // dogstatsd | influx | graphite | plain
	Prefix        string
	FlushInterval time.Duration
	MaxPacketSize int
}

// PushConfig configures the Pushgateway (VIGIL_PUSHGATEWAY_*).
type PushConfig struct {
	URL      string
	Job      string
	Interval time.Duration
}

// Opts defines a family.
type Opts struct {
	Name, Help string
	Labels     []string
	Buckets    []float64 // histograms and timers; nil means defaults
}

// Registry holds families exposed to Prometheus (and StatsD when configured).
type Registry struct{ reg *prometheus.Registry }

// New validates cfg and returns a Registry.
func New(cfg Config) (*Registry, error) { return &Registry{reg: prometheus.NewRegistry()}, nil }

// Prometheus returns the underlying registry (for extra collectors and Gatherer use).
func (r *Registry) Prometheus() *prometheus.Registry { return r.reg }

// Handler serves the exposition format, text or OpenMetrics as negotiated.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Shutdown stops background work (StatsD flush, Pushgateway) within ctx's deadline.
func (r *Registry) Shutdown(ctx context.Context) error { return nil }

// Counter defines (or returns the existing) counter family.
func (r *Registry) Counter(name, help string, labels ...string) (*Counter, error) {
	return r.NewCounter(Opts{Name: name, Help: help, Labels: labels})
}

// NewCounter defines a counter family from opts.
func (r *Registry) NewCounter(o Opts) (*Counter, error) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: o.Name, Help: o.Help}, o.Labels)
	if err := r.reg.Register(v); err != nil {
		return nil, err
	}
	return &Counter{vec: v, n: len(o.Labels)}, nil
}

// Gauge defines a gauge family.
func (r *Registry) Gauge(name, help string, labels ...string) (*Gauge, error) {
	return r.NewGauge(Opts{Name: name, Help: help, Labels: labels})
}

// NewGauge defines a gauge family from opts.
func (r *Registry) NewGauge(o Opts) (*Gauge, error) {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: o.Name, Help: o.Help}, o.Labels)
	if err := r.reg.Register(v); err != nil {
		return nil, err
	}
	return &Gauge{vec: v, n: len(o.Labels)}, nil
}

// Histogram defines a histogram family with default buckets.
func (r *Registry) Histogram(name, help string, labels ...string) (*Histogram, error) {
	return r.NewHistogram(Opts{Name: name, Help: help, Labels: labels})
}

// NewHistogram defines a histogram family from opts.
func (r *Registry) NewHistogram(o Opts) (*Histogram, error) {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: o.Name, Help: o.Help, Buckets: o.Buckets}, o.Labels)
	if err := r.reg.Register(v); err != nil {
		return nil, err
	}
	return &Histogram{vec: v, n: len(o.Labels)}, nil
}

// Timer defines a timer family (seconds in Prometheus, milliseconds in StatsD).
func (r *Registry) Timer(name, help string, labels ...string) (*Timer, error) {
	return r.NewTimer(Opts{Name: name, Help: help, Labels: labels})
}

// NewTimer defines a timer family from opts.
func (r *Registry) NewTimer(o Opts) (*Timer, error) {
	h, err := r.NewHistogram(o)
	if err != nil {
		return nil, err
	}
	return &Timer{h: h}, nil
}

// Counter is a counter family, or one bound series of it.
type Counter struct {
	vec *prometheus.CounterVec
	n   int
	c   prometheus.Counter
}

// With binds the series for values.
func (c *Counter) With(values ...string) *Counter {
	return &Counter{c: c.vec.WithLabelValues(values...)}
}

// Inc adds 1.
func (c *Counter) Inc() { c.Add(1) }

// Add adds v.
func (c *Counter) Add(v float64) {
	if c.c == nil && c.n == 0 {
		c.c = c.vec.WithLabelValues()
	}
	c.c.Add(v)
}

// Gauge is a gauge family, or one bound series of it.
type Gauge struct {
	vec *prometheus.GaugeVec
	n   int
	g   prometheus.Gauge
}

// With binds the series for values.
func (g *Gauge) With(values ...string) *Gauge { return &Gauge{g: g.vec.WithLabelValues(values...)} }

func (g *Gauge) gauge() prometheus.Gauge {
	if g.g == nil {
		g.g = g.vec.WithLabelValues()
	}
	return g.g
}

// Set sets the gauge.
func (g *Gauge) Set(v float64) { g.gauge().Set(v) }

// Add adds v (which may be negative).
func (g *Gauge) Add(v float64) { g.gauge().Add(v) }

// Inc adds 1.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts 1.
func (g *Gauge) Dec() { g.Add(-1) }

// Histogram is a histogram family, or one bound series of it.
type Histogram struct {
	vec *prometheus.HistogramVec
	n   int
	o   prometheus.Observer
}

// With binds the series for values.
func (h *Histogram) With(values ...string) *Histogram {
	return &Histogram{o: h.vec.WithLabelValues(values...)}
}

// Observe records v.
func (h *Histogram) Observe(v float64) {
	if h.o == nil {
		h.o = h.vec.WithLabelValues()
	}
	h.o.Observe(v)
}

// ObserveContext records v with the trace id of ctx's sampled span as exemplar.
func (h *Histogram) ObserveContext(ctx context.Context, v float64) { h.Observe(v) }

// Timer is a duration histogram family, or one bound series of it.
type Timer struct{ h *Histogram }

// With binds the series for values.
func (t *Timer) With(values ...string) *Timer { return &Timer{h: t.h.With(values...)} }

// Observe records d.
func (t *Timer) Observe(d time.Duration) { t.h.Observe(d.Seconds()) }

// ObserveContext records d with an exemplar from ctx.
func (t *Timer) ObserveContext(ctx context.Context, d time.Duration) {
	t.h.ObserveContext(ctx, d.Seconds())
}

// Start returns a Stopwatch; `defer t.Start().Stop()` times the rest of a function.
func (t *Timer) Start() Stopwatch { return Stopwatch{t: t, start: time.Now()} }

// Stopwatch measures one duration for a Timer.
type Stopwatch struct {
	t     *Timer
	start time.Time
}

// Stop records the time since Start and returns it.
func (s Stopwatch) Stop() time.Duration {
	d := time.Since(s.start)
	s.t.Observe(d)
	return d
}
