package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/health"
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
	meter    *tracing.MeterProvider  // OpenTelemetry's global MeterProvider (otel_signals.go)
	logs     *tracing.LoggerProvider // OpenTelemetry's global LoggerProvider
	registry *metrics.Registry
	http     *httpParts
	grpc     *middleware.GRPC
	db       dbParts         // db.go; built at the first DBConnector, WrapConnector or WatchDB
	console  *consoleParts   // console.go; nil when the console is off
	health   *health.Checker // health.go

	// bridges are slog handlers other parts add to the application's logger fan-out.
	bridges []slog.Handler
	// parts are shut down in parallel, in no particular order.
	parts []part

	// propagator is the one built from Tracing.Propagators (OTEL_PROPAGATORS), set by
	// initTracing: the middleware, the transport and gRPC use it, and Init installs it
	// as OpenTelemetry's global propagator.
	propagator propagation.TextMapPropagator
	metricsH   http.Handler // o.registry's, built once
	grpcOnce   sync.Once    // builds grpcHooks, for the package-level gRPC options
	grpcHooks  *grpcHooks
	// internal are the fallback's own families (its middleware's), which stay in its
	// registry when the handles made on it follow the default (see forwardTo).
	internal map[string]bool

	shutdownOnce sync.Once
	shutdownErr  error
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
	in := cfg
	cfg, env := cfg.resolve()
	o = &Observer{cfg: cfg}
	o.initConsole(in, env) // console.go: first, as it hooks into the parts' configs
	var errs []error
	for _, step := range []func(context.Context) error{
		o.initLogging, o.initMetrics, o.initTracing, o.initSignals, o.initErrors, o.initHTTP, o.initGRPC, o.initHealth,
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
// tracer, meter and logger providers and propagator. Metric handles made before Init (package-level
// variables) record into its registry from then on, and a Middleware, Transport or gRPC
// option made before Init uses it from the next request on.
//
// Calling Init again makes the new Observer the default; the previous one keeps running
// until it is shut down. Live Observers form a stack: whatever order they are shut down
// in, the default and the globals belong to the most recent one still live, and once
// none is, the package is back to the fallback and the globals to what they were
// before the first Init.
func Init(ctx context.Context, cfg Config) (*Observer, error) {
	o, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	enter(o)
	healthEntered(o) // health.go: readiness follows o
	return o, nil
}

// shutdownGrace is how long Shutdown waits past the deadline for the parts to say what
// they lost: they stop at the deadline, and their report follows a moment later.
const shutdownGrace = 100 * time.Millisecond

// Shutdown flushes and stops every part in parallel and returns what was lost: each
// part's error names what it could not deliver (events not sent, spans dropped, metrics
// not pushed), and a part still running at the deadline is named as such.
//
// Shutdown is bounded: it returns by ctx's deadline, or when ctx has none, by
// Config.ShutdownTimeout (VIGIL_SHUTDOWN_TIMEOUT, 10s by default), plus at most 100ms for
// the parts' reports. Pass a deadline that fits the process's own shutdown budget:
//
//	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//	defer cancel()
//	err := o.Shutdown(ctx)
//
// If o was Init's, the package default, the globals and the handles made before Init
// first move to the most recent Observer still live, or back to the fallback; shutting
// down an Observer that is not the default leaves the default alone. Shutdown is
// idempotent: later calls return the first call's result.
func (o *Observer) Shutdown(ctx context.Context) error {
	if o == nil || o == fallbackObs.Load() {
		return nil // the fallback serves the package for the life of the process
	}
	o.shutdownOnce.Do(func() {
		leave(o)
		o.shutdownErr = o.shutdownParts(ctx)
	})
	return o.shutdownErr
}

// shutdownParts stops the parts in parallel within ctx's deadline, or o's
// ShutdownTimeout when ctx has none.
func (o *Observer) shutdownParts(ctx context.Context) error {
	if len(o.parts) == 0 {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		bound := o.cfg.ShutdownTimeout
		if bound <= 0 {
			bound = DefaultShutdownTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bound)
		defer cancel()
	}
	var (
		mu      sync.Mutex
		errs    = make([]error, len(o.parts))
		running = make([]bool, len(o.parts))
		left    = len(o.parts)
		done    = make(chan struct{})
	)
	for i, p := range o.parts {
		running[i] = true
		go func() {
			var err error
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%s: shutdown panicked: %v", p.name, r)
				}
				mu.Lock()
				defer mu.Unlock()
				errs[i], running[i] = err, false
				if left--; left == 0 {
					close(done)
				}
			}()
			if err = p.shutdown(ctx); err != nil && !strings.HasPrefix(err.Error(), p.name+":") {
				err = fmt.Errorf("%s: %w", p.name, err) // parts name themselves; say who for the rest
			}
		}()
	}
	select {
	case <-done:
	case <-ctx.Done():
		// Parts honour ctx themselves and report what they lost just after it ends; the
		// grace collects those reports, and the rest is the backstop for a part that
		// does not return at all.
		t := time.NewTimer(shutdownGrace)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	mu.Lock()
	defer mu.Unlock()
	var stuck []string
	for i, p := range o.parts {
		if running[i] {
			stuck = append(stuck, p.name)
		}
	}
	if len(stuck) > 0 {
		errs = append(errs, fmt.Errorf("observe: shutdown: %w; still running: %s", context.Cause(ctx), strings.Join(stuck, ", ")))
	}
	return errors.Join(errs...)
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

// fallbackObs is the Observer package functions use when no Init'd one is live, built
// on first use; see fallback.
var (
	fallbackOnce sync.Once
	fallbackObs  atomic.Pointer[Observer]
)

// fallback is what package functions use before Init and after Shutdown: JSON logs on
// stdout, a private metrics registry, spans with ids but no exporter, captures logged.
// It starts nothing and cannot fail: when even the fixed Config is refused, it is
// assembled from parts that cannot be.
func fallback() *Observer {
	if o := fallbackObs.Load(); o != nil {
		return o
	}
	fallbackOnce.Do(func() {
		o, err := New(context.Background(), fallbackConfig())
		if err != nil {
			// Unreachable unless a part rejects what the settings table accepted.
			o, err = New(context.Background(), bareConfig())
		}
		if err != nil {
			o = minimalObserver()
			o.base.Error("vigil: default observer: logging only", slog.Any("error", err))
		}
		o.internal = map[string]bool{}
		for _, name := range o.registry.Names() {
			o.internal[name] = true
		}
		live.mu.Lock()
		defer live.mu.Unlock()
		fallbackObs.Store(o)
		o.forwardTo(current.Load())
	})
	return fallbackObs.Load()
}

// minimalObserver is a fallback that logs JSON to stdout and records metrics nobody
// exports, built only from calls that cannot fail.
func minimalObserver() *Observer {
	o := &Observer{cfg: bareConfig()}
	o.logger = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	o.base = o.logger
	o.registry = detached()
	o.metricsH = o.registry.Handler()
	o.reporter, _ = verrors.New(verrors.Config{Logger: o.base}) // non-nil even with an error
	return o
}

// Default returns the Observer the package functions use: the most recent one Init
// returned that is not shut down yet, or, before Init and once every Init'd Observer is
// shut down, a fallback that logs JSON to stdout.
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
