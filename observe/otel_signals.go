package observe

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	slogmulti "github.com/samber/slog-multi"
	"go.opentelemetry.io/otel"

	"github.com/vigil-go/vigil/tracing"
)

// initSignals builds the MeterProvider and the LoggerProvider that become
// OpenTelemetry's globals beside the TracerProvider, and plugs the log bridge into the
// application's logger. It runs after initMetrics (the prometheus exporter joins
// o.registry) and initTracing (the three signals share one resource).
func (o *Observer) initSignals(ctx context.Context) error {
	res := tracing.SignalResource(o.cfg.Tracing)

	mc := o.cfg.OTelMetrics
	mc.Registerer, mc.Gatherer = o.registry.Prometheus(), o.registry.Prometheus()
	mc.RedactKeys, mc.AllowKeys = o.redactKeys(), o.allowKeys()
	if mc.Logger == nil {
		mc.Logger = o.base
	}
	if mc.Output == nil {
		mc.Output = o.cfg.Tracing.Output
	}
	var errs []error
	mp, err := tracing.NewMeterProvider(ctx, mc, res)
	if err != nil {
		errs = append(errs, err)
		mp, _ = tracing.NewMeterProvider(ctx, tracing.MetricsConfig{Disabled: true}, res)
	} else {
		o.addPart("metrics (OpenTelemetry)", mp.Shutdown)
	}
	o.meter = mp

	lc := o.cfg.OTelLogs
	lc.RedactKeys, lc.AllowKeys = o.redactKeys(), o.allowKeys()
	if lc.Logger == nil {
		lc.Logger = o.base // never the application's logger: export failures must not loop
	}
	if lc.Output == nil {
		lc.Output = o.cfg.Tracing.Output
	}
	lp, err := tracing.NewLoggerProvider(ctx, lc, res)
	if err != nil {
		errs = append(errs, err)
		lp, _ = tracing.NewLoggerProvider(ctx, tracing.LogsConfig{Disabled: true}, res)
	} else {
		o.addPart("logs (OpenTelemetry)", lp.Shutdown)
		if len(lp.Exporters()) > 0 {
			h := lp.Handler(o.cfg.Logging.Level)
			o.bridges = append(o.bridges, h)
			// The lines the parts built after this one write (access log, captured
			// errors) leave as records too, as they reach stdout. The parts built
			// before (metrics, tracing, these providers) keep the plain logger, so an
			// export failure is never itself exported.
			o.base = slog.New(slogmulti.Fanout(o.base.Handler(), h))
		}
	}
	o.logs = lp
	o.registerSignalMetrics(mp, lp)
	return errors.Join(errs...)
}

// registerSignalMetrics exposes the new signals' losses, read at scrape time, named
// like vigil_tracing_spans_dropped_total.
func (o *Observer) registerSignalMetrics(mp *tracing.MeterProvider, lp *tracing.LoggerProvider) {
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vigil_otel_metrics_export_failures_total",
			Help: "Pushes of metrics over OTLP (or console) that failed after retries or were cut off by shutdown; their data points were not delivered.",
		}, func() float64 { return float64(mp.ExportFailures()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vigil_otel_logs_dropped_total",
			Help: "Log records not exported over OTLP (or console): queue full, export failed after retries, or cut off by shutdown.",
		}, func() float64 { return float64(lp.Dropped()) }),
	} {
		if err := o.registry.Prometheus().Register(c); err != nil {
			o.base.Error("vigil: OpenTelemetry drop counter not registered", slog.Any("error", err))
		}
	}
}

// OTelMetrics returns the provider behind OpenTelemetry's global MeterProvider.
func (o *Observer) OTelMetrics() *tracing.MeterProvider { return o.meter }

// OTelLogs returns the provider behind OpenTelemetry's global LoggerProvider.
func (o *Observer) OTelLogs() *tracing.LoggerProvider { return o.logs }

// resolveSignals completes the metrics and logs settings from the generic
// OTEL_EXPORTER_OTLP_* variables, which the settings table reads into the Tracing
// fields: each applies to every signal, and the signal's own variable or field wins
// (headers key by key). OTEL_SDK_DISABLED turns every signal off; the fallback exports
// nothing.
func (c *Config) resolveSignals(env *envResult) {
	sdkOff := false
	if v, ok := env.values["OTEL_SDK_DISABLED"]; ok {
		sdkOff, _ = strconv.ParseBool(strings.ToLower(v))
	}
	if c.fixed || sdkOff {
		c.OTelMetrics.Disabled, c.OTelLogs.Disabled = true, true
	}
	for _, o := range []*tracing.OTLP{&c.OTelMetrics.OTLP, &c.OTelLogs.OTLP} {
		if v, ok := env.values["OTEL_EXPORTER_OTLP_ENDPOINT"]; ok && o.BaseEndpoint == "" {
			o.BaseEndpoint = v
		}
		if v, ok := env.values["OTEL_EXPORTER_OTLP_PROTOCOL"]; ok && o.Protocol == "" {
			o.Protocol = v
		}
		if v, ok := env.values["OTEL_EXPORTER_OTLP_INSECURE"]; ok && !o.Insecure {
			o.Insecure = strings.EqualFold(v, "true")
		}
		if v, ok := env.values["OTEL_EXPORTER_OTLP_TIMEOUT"]; ok && o.ExportTimeout == 0 {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
				o.ExportTimeout = time.Duration(ms) * time.Millisecond
			}
		}
		if v, ok := env.values["OTEL_EXPORTER_OTLP_HEADERS"]; ok {
			if h, err := tracing.ParseHeaders(v); err == nil {
				o.Headers = mergeHeaders(o.Headers, h)
			}
		}
	}
}

// mergeHeaders adds the keys of h that have is missing.
func mergeHeaders(have, h map[string]string) map[string]string {
	out := maps.Clone(have)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range h {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// Parsers of the metrics and logs rows of the settings table.

func metricsExporters(v string) (string, error) {
	_, err := tracing.ParseSignalExporters(v, tracing.ExporterPrometheus, tracing.ExporterOTLP, tracing.ExporterConsole)
	return v, err
}

func logsExporters(v string) (string, error) {
	_, err := tracing.ParseSignalExporters(v, tracing.ExporterOTLP, tracing.ExporterConsole)
	return v, err
}

// signalHeaders adds a signal variable's headers whose keys the field does not set.
func signalHeaders(field func(*Config) *map[string]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		h, err := tracing.ParseHeaders(v)
		if err != nil {
			return err
		}
		p := field(c)
		*p = mergeHeaders(*p, h)
		return nil
	}
}

// switchSignals installs want's MeterProvider and LoggerProvider as OpenTelemetry's
// globals, as switchGlobals does the tracer provider: a global the program replaced
// after vigil set it is left alone.
func switchSignals(fresh bool, want globals, in *globals) {
	if fresh || sameValue(otel.GetMeterProvider(), in.mp) {
		otel.SetMeterProvider(want.mp)
		in.mp = want.mp
	}
	if fresh || sameValue(otel.GetLoggerProvider(), in.lp) {
		otel.SetLoggerProvider(want.lp)
		in.lp = want.lp
	}
}

// sameValue is a == b, false (not a panic) when the program installed a value of an
// incomparable type.
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return a == b
	}
	if reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}
