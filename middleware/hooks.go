package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/metrics"
)

// MetricHookPanics counts the panics of user-supplied callbacks that the middleware
// contained, by hook: "route" (HTTPConfig.Route), "propagator" (the configured
// TextMapPropagator's Extract and Inject) and "logger" (the access-log Logger's handler).
// The request or call goes on as if the hook had returned nothing: the route falls back
// to Unmatched, no trace context is read or written, the access line is lost.
const MetricHookPanics = "vigil_hook_panics_total"

// The hooks, as indexes into hookNames.
const (
	hookRoute = iota
	hookPropagator
	hookLogger
	numHooks
)

var hookNames = [numHooks]string{"route", "propagator", "logger"}

// hookGuard counts and reports panics of user callbacks. The first panic of each hook is
// logged (to the configured logger, or slog.Default when that logger is the culprit);
// later ones are only counted, so a hook that panics on every request cannot flood the log.
type hookGuard struct {
	counts  [numHooks]*metrics.Counter // nil without a registry
	logged  [numHooks]atomic.Bool
	logger  *slog.Logger // nil: slog.Default()
	matcher *scrub.Matcher
}

func newHookGuard(reg *metrics.Registry, logger *slog.Logger, m *scrub.Matcher) (*hookGuard, error) {
	g := &hookGuard{logger: logger, matcher: m}
	if reg == nil {
		return g, nil
	}
	c, err := reg.NewCounter(metrics.Opts{Name: MetricHookPanics,
		Help:   "Panics of user-supplied callbacks (route, propagator, logger) contained by vigil's middleware.",
		Labels: []string{"hook"}})
	if err != nil {
		return nil, fmt.Errorf("middleware: defining %s: %w", MetricHookPanics, err)
	}
	for i, name := range hookNames {
		g.counts[i] = c.With(name) // bound now: every hook exports 0 from the start
	}
	return g, nil
}

// panicked records that hook panicked with v. It never panics itself.
func (g *hookGuard) panicked(ctx context.Context, hook int, v any) {
	if c := g.counts[hook]; c != nil {
		c.Inc()
	}
	if !g.logged[hook].CompareAndSwap(false, true) {
		return
	}
	logger := g.logger
	if logger == nil || hook == hookLogger {
		logger = slog.Default()
	}
	defer func() { _ = recover() }() // a logger that panics here has been counted already
	logger.LogAttrs(ctx, slog.LevelError, "vigil: a user callback panicked; the request goes on without it (logged once per hook, counted in "+MetricHookPanics+")",
		slog.String("hook", hookNames[hook]), slog.String("panic", safefmt.Text(v, g.matcher)))
}

// callRoute runs the route function with its panics contained, in MetricsOnly mode
// (routeValue.call is the full middleware's): a panicking Route hook counts as "no route
// matched", so the request is still recorded.
func (h *HTTP) callRoute(r *http.Request) string {
	if h.muxRoute {
		return muxRoute(r)
	}
	return h.callUserRoute(r)
}

func (h *HTTP) callUserRoute(r *http.Request) (route string) {
	defer func() {
		if v := recover(); v != nil {
			h.hooks.panicked(r.Context(), hookRoute, v)
			route = ""
		}
	}()
	return h.route(r)
}

// extract reads the caller's trace context; a panicking propagator leaves ctx as it was.
func (h *HTTP) extract(ctx context.Context, hdr http.Header) (out context.Context) {
	defer func() {
		if v := recover(); v != nil {
			h.hooks.panicked(ctx, hookPropagator, v)
			out = ctx
		}
	}()
	return h.prop.Extract(ctx, headerCarrier(hdr))
}

// inject writes the trace context into an outgoing request's headers; a panicking
// propagator sends the request without it.
func (h *HTTP) inject(ctx context.Context, hdr http.Header) {
	defer func() {
		if v := recover(); v != nil {
			h.hooks.panicked(ctx, hookPropagator, v)
		}
	}()
	h.prop.Inject(ctx, propagation.HeaderCarrier(hdr))
}

// logAccessContained writes the access line; a panicking log handler loses the line,
// never the request.
func (h *HTTP) logAccessContained(st *serverRequest, f *serverFacts, route string, status int, d time.Duration, in int64, panicked any, aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			h.hooks.panicked(st, hookLogger, v)
		}
	}()
	h.logAccess(st, h.fill(f, st, route, status, in), d, panicked, aborted)
}

// extract reads the caller's trace context from the call's metadata; a panicking
// propagator leaves ctx as it was (grpc-go does not recover a stats handler's panic: it
// would kill the process).
func (g *GRPC) extract(ctx context.Context, c *incomingCarrier) (out context.Context) {
	defer func() {
		if v := recover(); v != nil {
			g.hooks.panicked(ctx, hookPropagator, v)
			out = ctx
		}
	}()
	return g.prop.Extract(ctx, c)
}

// inject writes the trace context into the outgoing metadata; a panicking propagator
// sends the call without it.
func (g *GRPC) inject(ctx context.Context, c *outgoingCarrier) {
	defer func() {
		if v := recover(); v != nil {
			g.hooks.panicked(ctx, hookPropagator, v)
		}
	}()
	g.prop.Inject(ctx, c)
}

// accessLineContained writes the call's access line; a panicking log handler loses the
// line, never the call.
func (g *GRPC) accessLineContained(ctx context.Context, c *rpcCall, server bool, f *rpcFacts, d time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			g.hooks.panicked(ctx, hookLogger, v)
		}
	}()
	g.accessLine(ctx, c, server, f, d)
}
