package observe

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-go/vigil/metrics"
)

func (o *Observer) initMetrics(context.Context) error {
	cfg := o.cfg.Metrics
	if cfg.Logger == nil {
		cfg.Logger = o.base
	}
	cfg.RedactKeys = append(cfg.RedactKeys, o.redactKeys()...)
	if cfg.Gatherers == nil {
		// What the program registers with prometheus.MustRegister or promauto is
		// served beside vigil's families (see Observer.Gatherer).
		cfg.Gatherers = []prometheus.Gatherer{prometheus.DefaultGatherer}
	}
	r, err := metrics.New(cfg)
	if err != nil {
		o.registry = detached()
		o.metricsH = o.registry.Handler()
		return err
	}
	o.registry = r
	o.metricsH = r.Handler()
	o.addPart("metrics", r.Shutdown)
	return nil
}

// MetricsHandler serves the Prometheus exposition of o's Gatherer (OpenMetrics when the
// scraper asks for it): vigil's metrics and client_golang's default registry together.
func (o *Observer) MetricsHandler() http.Handler { return o.metricsH }

// Gatherer returns what MetricsHandler serves: o's registry, then the families of
// prometheus.DefaultGatherer (or Config.Metrics.Gatherers; an empty non-nil list leaves
// the default registry out) that o's registry does not have, each family once, in a
// form strict OpenMetrics parsers accept (see metrics.Registry.Gatherer). For a program
// that serves promhttp.Handler() already, serve this instead; it holds that handler's
// families too:
//
//	http.Handle("/metrics", promhttp.HandlerFor(o.Gatherer(), promhttp.HandlerOpts{}))
//
// vigil does not register itself into the default registry: both have Go and process
// collectors, and promhttp.Handler() would then fail on the duplicates.
func (o *Observer) Gatherer() prometheus.Gatherer { return o.registry.Gatherer() }

// Gatherer returns a prometheus.Gatherer of the default Observer's metrics, resolved at
// each Gather, like MetricsHandler (see Observer.Gatherer).
func Gatherer() prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return Default().Gatherer().Gather() })
}

// forwardTo makes the handles made on the fallback o (package-level variables defined
// before Init) record into top's registry, or into o's own again when top is nil. Its
// middleware's own families stay. live.mu is held.
func (o *Observer) forwardTo(top *Observer) {
	var dst *metrics.Registry
	log := o.base
	if top != nil {
		dst, log = top.registry, top.base
	}
	if err := o.registry.Forward(dst, func(name string) bool { return o.internal[name] }); err != nil {
		log.Error("vigil: metrics defined before Init conflict with the new default's; they are not exported",
			slog.Any("error", err))
	}
}

// Counter defines (or returns the existing) counter family. A conflicting definition is
// logged and yields a working family that is not exported, so callers need no error check.
func (o *Observer) Counter(name, help string, labels ...string) *metrics.Counter {
	c, err := o.registry.Counter(name, help, labels...)
	if err != nil {
		o.definitionError(name, err)
		c, _ = detached().Counter(name, help, labels...)
	}
	return c
}

// Gauge defines (or returns the existing) gauge family; see Counter.
func (o *Observer) Gauge(name, help string, labels ...string) *metrics.Gauge {
	g, err := o.registry.Gauge(name, help, labels...)
	if err != nil {
		o.definitionError(name, err)
		g, _ = detached().Gauge(name, help, labels...)
	}
	return g
}

// Histogram defines (or returns the existing) histogram family with default buckets; see Counter.
func (o *Observer) Histogram(name, help string, labels ...string) *metrics.Histogram {
	h, err := o.registry.Histogram(name, help, labels...)
	if err != nil {
		o.definitionError(name, err)
		h, _ = detached().Histogram(name, help, labels...)
	}
	return h
}

// Timer defines (or returns the existing) timer family; see Counter.
func (o *Observer) Timer(name, help string, labels ...string) *metrics.Timer {
	t, err := o.registry.Timer(name, help, labels...)
	if err != nil {
		o.definitionError(name, err)
		t, _ = detached().Timer(name, help, labels...)
	}
	return t
}

func (o *Observer) definitionError(name string, err error) {
	o.base.Error("vigil: metric definition rejected; the returned metric is not exported",
		slog.String("metric", name), slog.Any("error", err))
}

// detached returns a fresh, unexported registry for families whose definition failed.
// Its Config names no backend, so it never starts a StatsD or push goroutine.
func detached() *metrics.Registry {
	r, _ := metrics.New(metrics.Config{
		DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	return r
}

// MetricsHandler serves the default Observer's metrics, resolved at each scrape: one
// mounted before Init serves the Init'd Observer's registry once Init has run.
func MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Default().MetricsHandler().ServeHTTP(w, r)
	})
}

// Counter defines a counter family on the default Observer. Defined before Init (in a
// package-level variable, say), it is defined on the fallback and forwarded when Init
// runs: the handle then records into the Init'd Observer's registry, exported by its
// MetricsHandler and StatsD, what it counted so far included; after Shutdown it records
// into the fallback again. The same holds for Gauge, Histogram and Timer, and for the
// series a handle's With returns.
func Counter(name, help string, labels ...string) *metrics.Counter {
	return Default().Counter(name, help, labels...)
}

// Gauge defines a gauge family on the default Observer.
func Gauge(name, help string, labels ...string) *metrics.Gauge {
	return Default().Gauge(name, help, labels...)
}

// Histogram defines a histogram family on the default Observer.
func Histogram(name, help string, labels ...string) *metrics.Histogram {
	return Default().Histogram(name, help, labels...)
}

// Timer defines a timer family on the default Observer.
func Timer(name, help string, labels ...string) *metrics.Timer {
	return Default().Timer(name, help, labels...)
}
