package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	"go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/vigil-go/vigil/internal/conferr"
	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
)

// DefaultLogQueueSize bounds the log records waiting for export (OTEL_BLRP_MAX_QUEUE_SIZE).
const DefaultLogQueueSize = 2048

// LogsConfig configures the LoggerProvider, the OpenTelemetry global behind the log
// bridges. Package observe fills it from OTEL_LOGS_EXPORTER and the
// OTEL_EXPORTER_OTLP_LOGS_* variables, and plugs Handler into the application's
// logger, so that every line vigil writes to stdout also leaves as a log record.
type LogsConfig struct {
	// Exporter is none (the default), otlp or console, or a comma list.
	Exporter string
	OTLP
	// MaxQueueSize bounds the records waiting for export; more are dropped and counted.
	// Default 2048.
	MaxQueueSize int
	// Disabled makes the provider record nothing (OTEL_SDK_DISABLED).
	Disabled bool
	// LogExporter, when set, replaces the configured exporters (for tests).
	LogExporter sdklog.Exporter

	// RedactKeys and AllowKeys are the secret policy's names: Handler redacts attributes
	// so named and secrets inside text, as the stdout line does.
	RedactKeys, AllowKeys []string
	// Logger receives export failures (once per outage); default slog.Default(). It must
	// not be a logger that feeds Handler.
	Logger *slog.Logger
	// Output is where the console exporter writes; default os.Stdout.
	Output io.Writer
}

// LoggerProvider owns the SDK logger provider and its export pipelines.
type LoggerProvider struct {
	sdk       *sdklog.LoggerProvider // nil when nothing is exported
	lp        log.LoggerProvider
	pipelines []*logPipeline
	exporters []string
	matcher   *scrub.Matcher
	dropped   atomic.Uint64
	once      onceErr
}

// NewLoggerProvider validates cfg and builds the provider with res as its resource.
// On error nothing is left running.
func NewLoggerProvider(ctx context.Context, cfg LogsConfig, res *resource.Resource) (*LoggerProvider, error) {
	p := &LoggerProvider{lp: lognoop.NewLoggerProvider(), matcher: scrub.Shared(cfg.RedactKeys, cfg.AllowKeys)}
	if cfg.Disabled {
		return p, nil
	}
	errs := &conferr.Error{Part: "logs (OpenTelemetry)"}
	var exps []string
	if cfg.Exporter != "" {
		var err error
		if exps, err = ParseSignalExporters(cfg.Exporter, ExporterOTLP, ExporterConsole); err != nil {
			errs.Add("Exporter", cfg.Exporter, err.Error())
		}
	}
	queue := DefaultLogQueueSize
	switch {
	case cfg.MaxQueueSize < 0:
		errs.Add("MaxQueueSize", cfg.MaxQueueSize, "must be positive")
	case cfg.MaxQueueSize > 0:
		queue = cfg.MaxQueueSize
	}
	o := resolveOTLP(cfg.OTLP, "/v1/logs", errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	var built []sdklog.Exporter
	add := func(name string, exp sdklog.Exporter) {
		p.pipelines = append(p.pipelines, newLogPipeline(exp, p, queue, o.timeout, logger, name))
		p.exporters = append(p.exporters, name)
	}
	if cfg.LogExporter != nil {
		add(fmt.Sprintf("%T", cfg.LogExporter), cfg.LogExporter)
		exps = nil
	}
	for _, name := range exps {
		var exp sdklog.Exporter
		var err error
		switch name {
		case ExporterConsole:
			out := cfg.Output
			if out == nil {
				out = os.Stdout
			}
			exp, err = stdoutlog.New(stdoutlog.WithWriter(out))
		case ExporterOTLP:
			exp, err = newLogExporter(ctx, o)
		}
		if err != nil {
			for _, e := range built {
				_ = e.Shutdown(context.WithoutCancel(ctx))
			}
			return nil, fmt.Errorf("logs (OpenTelemetry): %s exporter for %s: %w", name, o.endpoint, err)
		}
		built = append(built, exp)
		add(name, exp)
	}
	if len(p.pipelines) == 0 {
		return p, nil
	}
	opts := []sdklog.LoggerProviderOption{sdklog.WithResource(res),
		sdklog.WithAttributeValueLengthLimit(limits.SpanAttrValue)}
	for _, pl := range p.pipelines {
		opts = append(opts, sdklog.WithProcessor(pl))
	}
	p.sdk = sdklog.NewLoggerProvider(opts...)
	p.lp = p.sdk
	return p, nil
}

// newLogExporter builds the OTLP exporter from what vigil resolved, leaving the
// exporter's own environment handling (TLS, compression) in force.
func newLogExporter(ctx context.Context, o otlpSettings) (sdklog.Exporter, error) {
	if o.protocol == "grpc" {
		opts := []otlploggrpc.Option{otlploggrpc.WithEndpointURL(o.endpoint), otlploggrpc.WithTimeout(o.timeout)}
		if len(o.headers) > 0 {
			opts = append(opts, otlploggrpc.WithHeaders(o.headers))
		}
		return otlploggrpc.New(ctx, opts...)
	}
	opts := []otlploghttp.Option{otlploghttp.WithEndpointURL(o.endpoint), otlploghttp.WithTimeout(o.timeout)}
	if len(o.headers) > 0 {
		opts = append(opts, otlploghttp.WithHeaders(o.headers))
	}
	return otlploghttp.New(ctx, opts...)
}

// LoggerProvider returns the provider for log bridges (noop when nothing is exported).
func (p *LoggerProvider) LoggerProvider() log.LoggerProvider {
	if p == nil {
		return lognoop.NewLoggerProvider()
	}
	return p.lp
}

// Exporters returns the names of the active exporters.
func (p *LoggerProvider) Exporters() []string {
	if p == nil {
		return nil
	}
	return append([]string(nil), p.exporters...)
}

// Dropped returns how many log records were not exported: the queue was full, the
// export failed after the exporter's retries, or Shutdown's deadline cut it short.
func (p *LoggerProvider) Dropped() uint64 {
	if p == nil {
		return 0
	}
	return p.dropped.Load()
}

// ForceFlush exports the queued records and reports a failed export.
func (p *LoggerProvider) ForceFlush(ctx context.Context) error {
	if p == nil || p.sdk == nil {
		return nil
	}
	var before uint64
	for _, pl := range p.pipelines {
		before += pl.exp.failures.Load()
	}
	if err := p.sdk.ForceFlush(ctx); err != nil {
		return err
	}
	var after uint64
	for _, pl := range p.pipelines {
		after += pl.exp.failures.Load()
		if after != before {
			if err := pl.exp.fl.last(); err != nil {
				return fmt.Errorf("logs (OpenTelemetry): export failed: %s", p.matcher.Text(err.Error()))
			}
		}
	}
	if after != before {
		return errors.New("logs (OpenTelemetry): export failed")
	}
	return nil
}

// Shutdown flushes and stops the exporters within ctx's deadline; what could not be
// sent is counted in Dropped and named in the error. Later calls return the first
// call's result.
func (p *LoggerProvider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.once.do(func() error {
		if p.sdk == nil {
			return nil
		}
		for _, pl := range p.pipelines {
			pl.stopped.Store(true)
		}
		abort := func() {
			for _, pl := range p.pipelines {
				pl.exp.abort()
			}
		}
		sdkErr, stopErr := signalStop(ctx, "logs (OpenTelemetry): export", abort, p.sdk.Shutdown)
		stuck := uint64(0)
		if stopErr != nil {
			for _, pl := range p.pipelines {
				stuck += uint64(max(pl.waiting.Load(), 0))
			}
		}
		if loss := p.lossText(stuck); loss != "" {
			return &lossError{msg: loss, err: stopErr}
		}
		if stopErr != nil {
			return fmt.Errorf("logs (OpenTelemetry): shutdown: %w", stopErr)
		}
		if sdkErr != nil {
			return fmt.Errorf("logs (OpenTelemetry): shutdown: %w", sdkErr)
		}
		return nil
	})
}

func (p *LoggerProvider) lossText(stuck uint64) string {
	var causes [numDropCauses]uint64
	causes[dropDeadline] = stuck
	var lastErr error
	for _, pl := range p.pipelines {
		for i := range causes {
			causes[i] += pl.causes[i].Load()
		}
		if err := pl.exp.fl.last(); err != nil && lastErr == nil {
			lastErr = err
		}
	}
	var total uint64
	var parts []string
	for i, n := range causes {
		if n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%d %s", n, dropCauseText[i]))
		}
	}
	if total == 0 {
		return ""
	}
	msg := fmt.Sprintf("logs (OpenTelemetry): %d log %s dropped: %s", total, plural(total, "record", "records"),
		strings.Join(parts, ", "))
	if lastErr != nil {
		msg += " (last error: " + p.matcher.Text(lastErr.Error()) + ")"
	}
	return msg
}

// logPipeline is one exporter behind the SDK's BatchProcessor. As the span pipeline
// does, it admits a record only while fewer than the queue size are waiting, so the
// processor's own queue (which silently overwrites the oldest) is never full and every
// drop is counted here; an emit never waits for the exporter.
type logPipeline struct {
	bp      *sdklog.BatchProcessor
	exp     *countingLogExporter
	p       *LoggerProvider
	limit   int64
	waiting atomic.Int64
	stopped atomic.Bool
	causes  [numDropCauses]atomic.Uint64
}

func newLogPipeline(exp sdklog.Exporter, p *LoggerProvider, queue int, timeout time.Duration, logger *slog.Logger, name string) *logPipeline {
	pl := &logPipeline{p: p, limit: int64(queue)}
	ctx, cancel := context.WithCancel(context.Background())
	pl.exp = &countingLogExporter{Exporter: exp, pl: pl, log: logger, name: name, abortCtx: ctx, abort: cancel}
	pl.bp = sdklog.NewBatchProcessor(pl.exp, sdklog.WithMaxQueueSize(queue), sdklog.WithExportTimeout(timeout))
	return pl
}

func (pl *logPipeline) drop(cause int, n uint64) {
	pl.causes[cause].Add(n)
	pl.p.dropped.Add(n)
}

func (pl *logPipeline) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

func (pl *logPipeline) OnEmit(ctx context.Context, r *sdklog.Record) error {
	if pl.stopped.Load() {
		pl.drop(dropClosed, 1)
		return nil
	}
	if pl.waiting.Add(1) > pl.limit {
		pl.waiting.Add(-1)
		pl.drop(dropQueueFull, 1)
		return nil
	}
	return pl.bp.OnEmit(ctx, r)
}

func (pl *logPipeline) Shutdown(ctx context.Context) error {
	err := pl.bp.Shutdown(ctx)
	// What the processor still held when it gave up is lost.
	if n := pl.waiting.Swap(0); n > 0 {
		pl.drop(dropDeadline, uint64(n))
	}
	return err
}

func (pl *logPipeline) ForceFlush(ctx context.Context) error { return pl.bp.ForceFlush(ctx) }

// countingLogExporter counts failed and abandoned records as dropped and logs
// failures once per outage.
type countingLogExporter struct {
	sdklog.Exporter
	pl       *logPipeline
	log      *slog.Logger
	name     string
	abortCtx context.Context
	abort    context.CancelFunc
	failures atomic.Uint64
	fl       failureLog
}

func (e *countingLogExporter) Export(ctx context.Context, records []sdklog.Record) error {
	n := uint64(len(records))
	e.pl.waiting.Add(-int64(n))
	if e.abortCtx.Err() != nil {
		e.pl.drop(dropDeadline, n)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.abortCtx, cancel)
	defer stop()
	err := e.Exporter.Export(ctx, records)
	if err != nil {
		aborted := e.abortCtx.Err() != nil
		if aborted {
			e.pl.drop(dropDeadline, n)
		} else {
			e.pl.drop(dropExport, n)
		}
		e.failures.Add(1)
		if !aborted && e.fl.failed(err) {
			e.log.Warn("logs (OpenTelemetry): export failed; log records are dropped until it recovers",
				slog.String("exporter", e.name), slog.Int("records", len(records)),
				slog.String("error", e.pl.p.matcher.Text(err.Error())))
		}
		return nil
	}
	if e.fl.ok() {
		e.log.Info("logs (OpenTelemetry): export recovered", slog.String("exporter", e.name),
			slog.Uint64("dropped_total", e.pl.p.dropped.Load()))
	}
	return nil
}
