package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	promproducer "go.opentelemetry.io/contrib/bridges/prometheus"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/vigil-go/vigil/internal/conferr"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Metric exporter names accepted by MetricsConfig.Exporter and OTEL_METRICS_EXPORTER.
const (
	ExporterPrometheus = "prometheus"
	ExporterConsole    = "console"
)

// DefaultMetricInterval is the time between two exports of the periodic readers, as
// the specification gives it (OTEL_METRIC_EXPORT_INTERVAL).
const DefaultMetricInterval = 60 * time.Second

// MetricsConfig configures the MeterProvider, the OpenTelemetry global behind
// otel.Meter. Package observe fills it from OTEL_METRICS_EXPORTER and the
// OTEL_EXPORTER_OTLP_METRICS_* variables.
type MetricsConfig struct {
	// Exporter is prometheus (the default), otlp, console or none, or a comma list.
	// prometheus serves the instruments through Registerer (vigil's /metrics); otlp and
	// console push them, and vigil's own metrics from Gatherer, every Interval.
	Exporter string
	OTLP
	// Interval is the time between pushes (OTEL_METRIC_EXPORT_INTERVAL). Default 60s.
	Interval time.Duration
	// Disabled makes the provider record nothing (OTEL_SDK_DISABLED).
	Disabled bool

	// Registerer receives the prometheus exporter's collector; without one the
	// prometheus exporter is left out.
	Registerer promclient.Registerer
	// Gatherer is vigil's registry: its families are pushed with the instruments over
	// otlp and console, named after the semantic conventions where vigil's names are
	// derived from them (see SemconvNames).
	Gatherer promclient.Gatherer
	// MetricExporter, when set, replaces the push exporters (for tests).
	MetricExporter sdkmetric.Exporter

	// RedactKeys and AllowKeys are the secret policy's names, for export error text.
	RedactKeys, AllowKeys []string
	// Logger receives export failures (once per outage); default slog.Default().
	Logger *slog.Logger
	// Output is where the console exporter writes; default os.Stdout.
	Output io.Writer
}

// MeterProvider owns the SDK meter provider and its readers.
type MeterProvider struct {
	sdk       *sdkmetric.MeterProvider // nil when disabled
	mp        metric.MeterProvider
	exporters []string
	pushers   []*countingMetricExporter
	failures  atomic.Uint64

	matcher  *scrub.Matcher
	abortCtx context.Context
	abort    context.CancelFunc
	once     onceErr
}

// NewMeterProvider validates cfg and builds the provider with res as its resource
// (SignalResource). On error nothing is left running.
func NewMeterProvider(ctx context.Context, cfg MetricsConfig, res *resource.Resource) (*MeterProvider, error) {
	abortCtx, abort := context.WithCancel(context.Background())
	p := &MeterProvider{abortCtx: abortCtx, abort: abort, matcher: scrub.Shared(cfg.RedactKeys, cfg.AllowKeys)}
	if cfg.Disabled {
		p.mp = noop.NewMeterProvider()
		return p, nil
	}
	errs := &conferr.Error{Part: "metrics (OpenTelemetry)"}
	exps := []string{ExporterPrometheus}
	if cfg.Exporter != "" {
		var err error
		if exps, err = ParseSignalExporters(cfg.Exporter, ExporterPrometheus, ExporterOTLP, ExporterConsole); err != nil {
			errs.Add("Exporter", cfg.Exporter, err.Error())
		}
	}
	interval := DefaultMetricInterval
	switch {
	case cfg.Interval < 0:
		errs.Add("Interval", cfg.Interval, "must be positive")
	case cfg.Interval > 0:
		interval = cfg.Interval
	}
	o := resolveOTLP(cfg.OTLP, "/v1/metrics", errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	opts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	var producer sdkmetric.Producer
	if cfg.Gatherer != nil {
		producer = &semconvProducer{next: promproducer.NewMetricProducer(promproducer.WithGatherer(otelFree{cfg.Gatherer}))}
	}
	push := func(name string, exp sdkmetric.Exporter) {
		ce := &countingMetricExporter{Exporter: exp, p: p, log: log, name: name}
		p.pushers = append(p.pushers, ce)
		ropts := []sdkmetric.PeriodicReaderOption{sdkmetric.WithInterval(interval), sdkmetric.WithTimeout(o.timeout)}
		if producer != nil {
			ropts = append(ropts, sdkmetric.WithProducer(producer))
		}
		opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(ce, ropts...)))
		p.exporters = append(p.exporters, name)
	}
	var built []sdkmetric.Exporter
	fail := func(err error) (*MeterProvider, error) {
		for _, e := range built {
			_ = e.Shutdown(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	if cfg.MetricExporter != nil {
		push(fmt.Sprintf("%T", cfg.MetricExporter), cfg.MetricExporter)
	}
	for _, name := range exps {
		switch {
		case name == ExporterPrometheus:
			if cfg.Registerer == nil {
				continue
			}
			// The instruments join vigil's registry; vigil's own families keep their
			// collectors there, so no family appears twice. Their otel_scope_name label
			// is also what keeps them out of the push readers' copy of vigil's registry
			// (otelFree), which collect them directly.
			// No target_info: vigil's /metrics is unchanged for programs without
			// instruments, and Prometheus knows the target from its scrape config.
			exp, err := otelprom.New(otelprom.WithRegisterer(cfg.Registerer), otelprom.WithoutTargetInfo())
			if err != nil {
				return fail(fmt.Errorf("metrics (OpenTelemetry): prometheus exporter: %w", err))
			}
			opts = append(opts, sdkmetric.WithReader(exp))
			p.exporters = append(p.exporters, name)
		case cfg.MetricExporter != nil:
			// Replaced by the test exporter.
		case name == ExporterConsole:
			out := cfg.Output
			if out == nil {
				out = os.Stdout
			}
			exp, err := stdoutmetric.New(stdoutmetric.WithWriter(out))
			if err != nil {
				return fail(fmt.Errorf("metrics (OpenTelemetry): console exporter: %w", err))
			}
			built = append(built, exp)
			push(name, exp)
		case name == ExporterOTLP:
			exp, err := newMetricExporter(ctx, o)
			if err != nil {
				return fail(fmt.Errorf("metrics (OpenTelemetry): OTLP %s exporter for %s: %w", o.protocol, o.endpoint, err))
			}
			built = append(built, exp)
			push(name, exp)
		}
	}
	p.sdk = sdkmetric.NewMeterProvider(opts...)
	p.mp = p.sdk
	return p, nil
}

// newMetricExporter builds the OTLP exporter from what vigil resolved. No HTTP client
// or TLS configuration is passed, so the exporter's own OTEL_EXPORTER_OTLP_* handling
// (certificates, client keys, compression) stays in force.
func newMetricExporter(ctx context.Context, o otlpSettings) (sdkmetric.Exporter, error) {
	if o.protocol == "grpc" {
		opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpointURL(o.endpoint), otlpmetricgrpc.WithTimeout(o.timeout)}
		if len(o.headers) > 0 {
			opts = append(opts, otlpmetricgrpc.WithHeaders(o.headers))
		}
		return otlpmetricgrpc.New(ctx, opts...)
	}
	opts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpointURL(o.endpoint), otlpmetrichttp.WithTimeout(o.timeout)}
	if len(o.headers) > 0 {
		opts = append(opts, otlpmetrichttp.WithHeaders(o.headers))
	}
	return otlpmetrichttp.New(ctx, opts...)
}

// MeterProvider returns the provider for instrumentation (noop when disabled). A nil
// *MeterProvider returns a noop provider.
func (p *MeterProvider) MeterProvider() metric.MeterProvider {
	if p == nil {
		return noop.NewMeterProvider()
	}
	return p.mp
}

// Exporters returns the names of the active exporters.
func (p *MeterProvider) Exporters() []string {
	if p == nil {
		return nil
	}
	return append([]string(nil), p.exporters...)
}

// ExportFailures returns how many pushes of metrics failed (after the exporter's
// retries) or were cut off by Shutdown: the data points of each were not delivered.
func (p *MeterProvider) ExportFailures() uint64 {
	if p == nil {
		return 0
	}
	return p.failures.Load()
}

// ForceFlush pushes the current values now and reports a failed push.
func (p *MeterProvider) ForceFlush(ctx context.Context) error {
	if p == nil || p.sdk == nil {
		return nil
	}
	before := p.failures.Load()
	if err := p.sdk.ForceFlush(ctx); err != nil {
		return err
	}
	if p.failures.Load() != before {
		return p.lossErr(nil)
	}
	return nil
}

// Shutdown pushes a last time and stops the readers within ctx's deadline: shortly
// before it, a push still running is cancelled and counted, so Shutdown returns by the
// deadline with no goroutine of the provider left. The error names the failed pushes
// since the start; later calls return the first call's result.
func (p *MeterProvider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.once.do(func() error {
		if p.sdk == nil {
			return nil
		}
		sdkErr, stopErr := signalStop(ctx, "metrics (OpenTelemetry): export", p.abort, p.sdk.Shutdown)
		if p.failures.Load() > 0 {
			return p.lossErr(stopErr)
		}
		if stopErr != nil {
			return fmt.Errorf("metrics (OpenTelemetry): shutdown: %w", stopErr)
		}
		if sdkErr != nil && !errors.Is(sdkErr, sdkmetric.ErrReaderShutdown) {
			return fmt.Errorf("metrics (OpenTelemetry): shutdown: %w", sdkErr)
		}
		return nil
	})
}

func (p *MeterProvider) lossErr(cause error) error {
	n := p.failures.Load()
	msg := fmt.Sprintf("metrics (OpenTelemetry): %d %s not delivered", n, plural(n, "export", "exports"))
	for _, e := range p.pushers {
		if err := e.fl.last(); err != nil {
			msg += " (last error: " + p.matcher.Text(err.Error()) + ")"
			break
		}
	}
	return &lossError{msg: msg, err: cause}
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// countingMetricExporter counts failed pushes and logs them once per outage.
type countingMetricExporter struct {
	sdkmetric.Exporter
	p    *MeterProvider
	log  *slog.Logger
	name string
	fl   failureLog
}

func (e *countingMetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if e.p.abortCtx.Err() != nil {
		e.p.failures.Add(1)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.p.abortCtx, cancel)
	defer stop()
	err := e.Exporter.Export(ctx, rm)
	if err != nil {
		e.p.failures.Add(1)
		if e.fl.failed(err) {
			e.log.Warn("metrics (OpenTelemetry): export failed; metrics are not delivered until it recovers",
				slog.String("exporter", e.name), slog.String("error", e.p.matcher.Text(err.Error())))
		}
		// nil: the failure is counted and logged here, not once per push by the
		// process-wide OpenTelemetry error handler.
		return nil
	}
	if e.fl.ok() {
		e.log.Info("metrics (OpenTelemetry): export recovered", slog.String("exporter", e.name),
			slog.Uint64("failures_total", e.p.failures.Load()))
	}
	return nil
}

// otelFree gathers vigil's registry without the families the prometheus exporter
// serves there (the OpenTelemetry instruments, which carry otel_scope_name, and
// target_info): the push readers collect those instruments themselves.
type otelFree struct{ g promclient.Gatherer }

func (f otelFree) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := f.g.Gather()
	out := mfs[:0]
	for _, mf := range mfs {
		if mf.GetName() == "target_info" || fromOTel(mf) {
			continue
		}
		out = append(out, mf)
	}
	return out, err
}

// fromOTel tells by its first series: a family's series share their label names.
func fromOTel(mf *dto.MetricFamily) bool {
	if len(mf.GetMetric()) == 0 {
		return false
	}
	for _, l := range mf.GetMetric()[0].GetLabel() {
		if l.GetName() == "otel_scope_name" {
			return true
		}
	}
	return false
}

// onceErr runs a function once and remembers its error.
type onceErr struct {
	mu   sync.Mutex
	done bool
	err  error
}

func (o *onceErr) do(f func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.done {
		o.err, o.done = f(), true
	}
	return o.err
}
