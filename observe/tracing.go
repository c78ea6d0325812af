package observe

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-go/vigil/tracing"
)

func (o *Observer) initTracing(ctx context.Context) error {
	cfg := o.cfg.Tracing
	if cfg.Logger == nil {
		cfg.Logger = o.base
	}
	p, err := tracing.New(ctx, cfg)
	if err != nil {
		// Spans keep getting ids (for log and error correlation) while Init reports err.
		p, _ = tracing.New(ctx, tracing.Config{Exporter: tracing.ExporterNone, Disabled: true})
		o.tracer = p
		o.propagator = &ownPropagator{p.Propagator()}
		return err
	}
	o.tracer = p
	o.propagator = &ownPropagator{p.Propagator()}
	o.addPart("tracing", p.Shutdown)
	o.registerTracingMetrics(p)
	return nil
}

// registerTracingMetrics exposes the provider's drop count, read at scrape time.
func (o *Observer) registerTracingMetrics(p *tracing.Provider) {
	dropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "vigil_tracing_spans_dropped_total",
		Help: "Sampled spans not exported: queue full, export failed after retries, or cut off by shutdown.",
	}, func() float64 { return float64(p.Dropped()) })
	if err := o.registry.Prometheus().Register(dropped); err != nil {
		o.base.Error("vigil: tracing drop counter not registered", slog.Any("error", err))
	}
}
