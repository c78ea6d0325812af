package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/credentials"

	"github.com/vigil-go/vigil/internal/scrub"
)

// ScopeName is the instrumentation scope of the spans this package starts.
const ScopeName = "github.com/vigil-go/vigil"

// Provider owns the SDK tracer provider and its export pipelines.
type Provider struct {
	tp        trace.TracerProvider
	sdk       *sdktrace.TracerProvider
	tracer    trace.Tracer
	pipelines []*pipeline
	status    []*statusExporter // one per pipeline, for ExportStatus (tap.go)
	matcher   *scrub.Matcher    // the secret policy, for Redact (tap.go)
	exporters []string
	prop      propagation.TextMapPropagator
	disabled  bool
	dropped   atomic.Uint64

	shutdownOnce sync.Once
	shutdownErr  error
}

// New validates cfg and builds the provider. The error names every invalid field or
// variable with its value; nothing is left running when it is returned.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	s, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	p := &Provider{disabled: s.disabled, prop: s.propagator, matcher: s.matcher}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(newResource(s.resource)), sdktrace.WithRawSpanLimits(cfg.SpanLimits.sdk())}
	switch {
	case s.disabled:
		// Ids are still generated so that logs and errors correlate; nothing is recorded.
		opts = append(opts, sdktrace.WithSampler(sdktrace.NeverSample()))
	case cfg.SpanExporter != nil:
		opts = append(opts, sdktrace.WithSampler(s.sampler))
		p.addPipeline(cfg.SpanExporter, s, log)
		p.exporters = []string{fmt.Sprintf("%T", cfg.SpanExporter)}
	default:
		opts = append(opts, sdktrace.WithSampler(s.sampler))
		for _, name := range s.exporters {
			exp, err := newExporter(ctx, name, s, cfg.Output)
			if err != nil {
				_ = p.shutdownPipelines(context.WithoutCancel(ctx))
				return nil, err
			}
			p.addPipeline(exp, s, log)
			p.exporters = append(p.exporters, name)
		}
	}
	for _, pl := range p.pipelines {
		opts = append(opts, sdktrace.WithSpanProcessor(pl))
	}
	if cfg.OnEnd != nil && !s.disabled {
		opts = append(opts, sdktrace.WithSpanProcessor(&tap{fn: cfg.OnEnd, matcher: s.matcher, log: log}))
	}
	p.sdk = sdktrace.NewTracerProvider(opts...)
	p.tp = p.sdk
	p.tracer = p.sdk.Tracer(ScopeName)
	return p, nil
}

func (p *Provider) addPipeline(exp sdktrace.SpanExporter, s settings, log *slog.Logger) {
	// Batches are split by size below the pipeline, so one request's spans cannot push
	// an export over the receiver's limit (batch.go).
	st := &statusExporter{next: exp, matcher: s.matcher}
	p.status = append(p.status, st) // tap.go
	p.pipelines = append(p.pipelines, newPipeline(newSplitExporter(st), s, &p.dropped, log))
}

// newExporter builds one of the SDK's exporters from resolved settings. Every setting
// is passed explicitly, so the exporter's own reading of the environment (which
// ignores invalid values) cannot disagree with what was validated here.
func newExporter(ctx context.Context, name string, s settings, out io.Writer) (sdktrace.SpanExporter, error) {
	if name == ExporterStdout {
		if out == nil {
			out = os.Stdout
		}
		exp, err := stdouttrace.New(stdouttrace.WithWriter(out))
		if err != nil {
			return nil, fmt.Errorf("tracing: stdout exporter: %w", err)
		}
		return exp, nil
	}
	scheme := "https"
	if s.insecure {
		scheme = "http"
	}
	endpoint := (&url.URL{Scheme: scheme, Host: s.host, Path: s.path}).String()
	var exp sdktrace.SpanExporter
	var err error
	if s.protocol == "grpc" {
		opts := []otlptracegrpc.Option{
			otlptracegrpc.WithEndpointURL(endpoint),
			otlptracegrpc.WithHeaders(s.headers),
			otlptracegrpc.WithTimeout(s.timeout),
		}
		if s.tls != nil && !s.insecure {
			opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(s.tls.Clone())))
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	} else {
		enc := otlptracehttp.EncodingProtobuf
		if s.protocol == "http/json" {
			enc = otlptracehttp.EncodingJSON
		}
		// Our own transport, not the exporter's package-wide one, so that Shutdown can
		// close its keep-alive connections: otherwise each leaves a connection, two
		// goroutines and a descriptor behind for the transport's idle timeout. An
		// exporter given a client ignores its TLS variables, so the TLS settings
		// resolved from them (Config.Certificate, ...) go on the transport here.
		tr := &http.Transport{
			TLSClientConfig:       s.tls.Clone(),
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
		var hexp sdktrace.SpanExporter
		hexp, err = otlptracehttp.New(ctx,
			otlptracehttp.WithEndpointURL(endpoint),
			otlptracehttp.WithEncoding(enc),
			otlptracehttp.WithHeaders(s.headers),
			otlptracehttp.WithTimeout(s.timeout),
			otlptracehttp.WithHTTPClient(&http.Client{Transport: tr, Timeout: s.timeout}))
		if err == nil {
			exp = &closingExporter{SpanExporter: hexp, tr: tr}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP %s exporter for %s: %w", s.protocol, endpoint, err)
	}
	return exp, nil
}

// TracerProvider returns the provider for instrumentation.
// A nil Provider returns OpenTelemetry's global provider.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil {
		return otel.GetTracerProvider()
	}
	return p.tp
}

// Propagator returns the propagator Config.Propagators names, built once: the one
// that observe hands the server middleware, the client transport, gRPC and
// OpenTelemetry's global. A nil Provider returns OpenTelemetry's global propagator.
func (p *Provider) Propagator() propagation.TextMapPropagator {
	if p == nil {
		return otel.GetTextMapPropagator()
	}
	return p.prop
}

// Start starts a span from the provider's tracer. A nil Provider uses the global one.
func (p *Provider) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if p == nil {
		return Start(ctx, name, opts...)
	}
	return p.tracer.Start(ctx, name, opts...)
}

// Dropped returns how many sampled spans were not exported: the queue was full, the
// export failed after the exporter's retries, or Shutdown's deadline cut it short.
func (p *Provider) Dropped() uint64 {
	if p == nil {
		return 0
	}
	return p.dropped.Load()
}

// Exporters returns the names of the active exporters (empty when none or disabled;
// the Go type of Config.SpanExporter when that is set).
func (p *Provider) Exporters() []string {
	if p == nil {
		return nil
	}
	return append([]string(nil), p.exporters...)
}

// Disabled reports whether the provider records nothing (Config.Disabled or OTEL_SDK_DISABLED).
func (p *Provider) Disabled() bool { return p == nil || p.disabled }

// ForceFlush exports every ended span within ctx's deadline and reports a failed export.
func (p *Provider) ForceFlush(ctx context.Context) error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, pl := range p.pipelines {
		errs = append(errs, pl.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown flushes and stops the exporters within ctx's deadline. It returns by then
// even if the collector does not answer; what could not be sent is counted in Dropped,
// and no goroutine of the provider is left running (unless ctx has no deadline and is
// cancelled, when the cancelled exports finish in the background). Later calls return
// the first call's result.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.shutdownOnce.Do(func() {
		p.shutdownErr = p.shutdownPipelines(ctx)
		// The pipelines are already stopped, so this only marks the provider shut down.
		_ = p.sdk.Shutdown(context.WithoutCancel(ctx))
	})
	return p.shutdownErr
}

// shutdownPipelines stops all pipelines in parallel: the SDK's own Shutdown stops at
// the first processor that misses the deadline, leaving the rest running.
func (p *Provider) shutdownPipelines(ctx context.Context) error {
	errs := make([]error, len(p.pipelines))
	var wg sync.WaitGroup
	for i, pl := range p.pipelines {
		wg.Go(func() { errs[i] = pl.Shutdown(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TraceID returns the hex trace id of the span in ctx, or "".
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}

// SpanID returns the hex span id of the span in ctx, or "".
func SpanID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasSpanID() {
		return sc.SpanID().String()
	}
	return ""
}

// closingExporter closes its HTTP transport's idle connections once shut down.
type closingExporter struct {
	sdktrace.SpanExporter
	tr *http.Transport
}

func (e *closingExporter) Shutdown(ctx context.Context) error {
	err := e.SpanExporter.Shutdown(ctx)
	e.tr.CloseIdleConnections()
	return err
}
