package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
	"github.com/vigil-go/vigil/tracing"
)

// Observer owns one configured set of telemetry parts. Init returns one and makes it the
// package default; tests and libraries that need isolation use New.
type Observer struct {
	cfg Config

	logger   *slog.Logger // the application's logger: JSON plus the Sentry bridge
	base     *slog.Logger // the parts' own logger: JSON only, so capture lines never loop
	reporter *verrors.Reporter
	tracer   *tracing.Provider
	registry *metrics.Registry
	http     *httpParts
	grpc     *middleware.GRPC

	// bridges are slog handlers other parts add to the application's logger fan-out.
	bridges []slog.Handler
	// parts are shut down in parallel, in no particular order.
	parts []part

	shutdownOnce sync.Once
	shutdownErr  error
	restore      func() // undoes what Init did to globals
}

type part struct {
	name     string
	shutdown func(context.Context) error
}

// New builds an Observer from cfg without touching process globals or the package
// default. It validates the whole Config first and returns one error naming every bad
// field or variable; on error nothing is left running.
func New(ctx context.Context, cfg Config) (o *Observer, err error) {
	defer func() {
		// A bug in a part must not take the host program down at startup.
		if p := recover(); p != nil {
			o, err = nil, fmt.Errorf("observe: Init panicked: %v", p)
		}
	}()
	cfg, env := cfg.resolve()
	o = &Observer{cfg: cfg}
	var errs []error
	for _, step := range []func(context.Context) error{
		o.initLogging, o.initMetrics, o.initTracing, o.initErrors, o.initHTTP, o.initGRPC,
	} {
		if err := step(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := o.finishLogging(); err != nil {
		errs = append(errs, err)
	}
	if err := configError(env, errs); err != nil {
		_ = o.shutdownParts(context.WithoutCancel(ctx))
		return nil, err
	}
	return o, nil
}

// Init builds an Observer from cfg and makes it the package default; unless
// cfg.NoGlobals is set it also becomes slog's default logger and OpenTelemetry's global
// tracer provider and propagator. Calling Init again replaces the default (the previous
// Observer keeps running until it is shut down).
func Init(ctx context.Context, cfg Config) (*Observer, error) {
	o, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if !cfg.NoGlobals {
		o.restore = o.setGlobals()
	}
	current.Store(o)
	return o, nil
}

// Shutdown flushes and stops every part within ctx's deadline, in parallel, and returns
// what failed. It is idempotent: later calls return the first call's result. If o is the
// package default, the default reverts to the pre-Init behaviour.
func (o *Observer) Shutdown(ctx context.Context) error {
	if o == nil {
		return nil
	}
	o.shutdownOnce.Do(func() {
		current.CompareAndSwap(o, nil)
		if o.restore != nil {
			o.restore()
		}
		o.shutdownErr = o.shutdownParts(ctx)
	})
	return o.shutdownErr
}

func (o *Observer) shutdownParts(ctx context.Context) error {
	errs := make([]error, len(o.parts))
	var wg sync.WaitGroup
	for i, p := range o.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("%s: shutdown panicked: %v", p.name, r)
				}
			}()
			if err := p.shutdown(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", p.name, err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return errors.Join(errs...)
	case <-ctx.Done():
		// Parts honour ctx themselves; this is the backstop for one that does not.
		return fmt.Errorf("observe: shutdown: %w", ctx.Err())
	}
}

func (o *Observer) addPart(name string, shutdown func(context.Context) error) {
	o.parts = append(o.parts, part{name: name, shutdown: shutdown})
}

// Logger returns the application's logger.
func (o *Observer) Logger() *slog.Logger { return o.logger }

// Capture reports v (an error, a recovered panic value or a string) to Sentry when
// configured and always logs it; it returns the event id ("" when nothing was sent).
func (o *Observer) Capture(ctx context.Context, v any, attrs ...slog.Attr) string {
	return o.reporter.Capture(ctx, v, attrs...)
}

// Start starts a span; end it with span.End().
func (o *Observer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return o.tracer.Start(ctx, name, opts...)
}

// Registry returns the metrics registry.
func (o *Observer) Registry() *metrics.Registry { return o.registry }

// Reporter returns the error reporter.
func (o *Observer) Reporter() *verrors.Reporter { return o.reporter }

// Tracing returns the tracing provider.
func (o *Observer) Tracing() *tracing.Provider { return o.tracer }

// current is the package default set by Init; nil means the fallback.
var current atomic.Pointer[Observer]

var (
	fallbackOnce sync.Once
	fallbackObs  *Observer
)

// fallback is what package functions use before Init and after Shutdown: JSON logs on
// stdout, a private metrics registry, spans with ids but no exporter, captures logged.
func fallback() *Observer {
	fallbackOnce.Do(func() {
		o, err := New(context.Background(), fallbackConfig())
		if err != nil {
			// Unreachable unless a part rejects what the settings table accepted.
			o, _ = New(context.Background(), bareConfig())
		}
		fallbackObs = o
	})
	return fallbackObs
}

// Default returns the Observer the package functions use: the last one Init returned,
// or before Init and after Shutdown a fallback that logs JSON to stdout.
func Default() *Observer {
	if o := current.Load(); o != nil {
		return o
	}
	return fallback()
}

// Shutdown shuts the package default down (see Observer.Shutdown). Before Init it does nothing.
func Shutdown(ctx context.Context) error {
	if o := current.Load(); o != nil {
		return o.Shutdown(ctx)
	}
	return nil
}

// Logger returns the default Observer's logger.
func Logger() *slog.Logger { return Default().Logger() }

// Capture reports v with the default Observer. Use it in recover blocks:
//
//	defer func() {
//		if r := recover(); r != nil {
//			observe.Capture(ctx, r)
//		}
//	}()
func Capture(ctx context.Context, v any, attrs ...slog.Attr) string {
	return Default().Capture(ctx, v, attrs...)
}

// Start starts a span with the default Observer.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return Default().Start(ctx, name, opts...)
}
