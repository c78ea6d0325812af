package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/limits"
)

// Unmatched is the route of every request no pattern matched (404s, 405s, redirects):
// one fixed value, so scanning for paths cannot mint series.
const Unmatched = "unmatched"

// The keys the middleware stores in the logging context; the errors package reads them
// back as Sentry tags.
const (
	attrRequestID = "request_id"
	attrRoute     = "route"
)

// patternRoute returns the route of an http.ServeMux pattern: the path template without
// the optional method and host ("GET example.com/orders/{id}" -> "/orders/{id}"), as
// OpenTelemetry's http.route wants. It slices and never allocates.
func patternRoute(pattern string) string {
	if pattern == "" {
		return ""
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		return pattern[i:]
	}
	return pattern
}

// muxRoute is the default route function: the pattern http.ServeMux matched. ServeMux
// sets Pattern on the request it was handed, which is the one the middleware passed on.
func muxRoute(r *http.Request) string { return patternRoute(r.Pattern) }

// routeValue is the "route" attribute of a request's logging context. The context is
// built before routing, so the value resolves when a record is written: lines the handler
// logs (after routing) carry the matched route without a second context value.
type routeValue struct {
	req *http.Request               // the request the middleware passes on; routers set Pattern on it
	h   *HTTP                       // its route function and hook guard
	set atomic.Pointer[string]      // SetRoute's value, which wins; &noRoute once a route function panicked
	src atomic.Pointer[routeSource] // the match a router inside published (RouteFrom, a nested middleware)
}

// routeSource is a route published from inside the router: a RouteFrom middleware or a
// nested vigil middleware registered the request the router handed it and the function
// that reads the match from it (or, for a middleware mounted under a stripped prefix,
// the middleware itself with that prefix). It is read lazily, like the middleware's own
// route, because a router may finish matching after its middleware ran (chi fills its
// route context while routing below the middleware).
type routeSource struct {
	req    *http.Request
	fn     func(*http.Request) string
	prefix string // the mount prefixes between the recording middleware and req
}

// noRoute is set on a request whose route function panicked, so it is not asked again.
var noRoute = ""

// current returns the route known so far: "" before routing. It is bounded as a label
// value is (limits.LabelValue): a route function that returns raw paths, or a SetRoute
// with a client's text, must not put kilobytes on every log line, span and series.
func (v *routeValue) current() string {
	if p := v.set.Load(); p != nil {
		return limits.Truncate(*p, limits.LabelValue)
	}
	// A match published from inside is the deeper router's: it wins, and its "" (that
	// router's 404) means unmatched, not the outer mux's subtree pattern.
	if s := v.src.Load(); s != nil {
		return limits.Truncate(joinRoute(s.prefix, v.call(s.fn, s.req)), limits.LabelValue)
	}
	if v.req == nil {
		return ""
	}
	if v.h.muxRoute {
		return limits.Truncate(muxRoute(v.req), limits.LabelValue)
	}
	return limits.Truncate(v.call(v.h.route, v.req), limits.LabelValue)
}

// call runs the route function with its panics contained: a panicking Route hook means
// "no route matched" for the rest of the request, which is still answered and recorded.
// The panic is counted once per request, however many log lines ask for the route.
func (v *routeValue) call(fn func(*http.Request) string, r *http.Request) (route string) {
	defer func() {
		if p := recover(); p != nil {
			v.set.CompareAndSwap(nil, &noRoute) // first: the report's own log line resolves the route too
			v.h.hooks.panicked(r.Context(), hookRoute, p)
			route = ""
		}
	}()
	return fn(r)
}

// final returns the route for labels once the handler returned.
func (v *routeValue) final() string {
	if s := v.current(); s != "" {
		return s
	}
	return Unmatched
}

// LogValue implements slog.LogValuer.
func (v *routeValue) LogValue() slog.Value { return slog.StringValue(v.current()) }

// String implements fmt.Stringer; ctxattrs.Lookup (the errors package) formats through it.
func (v *routeValue) String() string { return v.current() }

// SetRoute names the route of the request whose context ctx is, for routers whose match
// the middleware cannot read from the request (for example when the middleware wraps
// the router from outside). Call it from a handler or a router-level middleware; it
// reports whether ctx belongs to an instrumented request. The value must come from a
// bounded set (a pattern, never a raw path): it becomes a metric label.
func SetRoute(ctx context.Context, route string) bool {
	if v := routeSlot(ctx); v != nil {
		v.set.Store(&route)
		return true
	}
	return false
}

// slotsMade is set once a full (not MetricsOnly) middleware has put a route slot into a
// request's context. Until then no context holds one, and routeSlot answers without
// looking: a MetricsOnly middleware, which makes no context of its own, asks on every
// request whether an outer middleware records it (serveNested).
var slotsMade atomic.Bool

// routeSlot returns the route of the instrumented request whose context ctx is, or nil.
func routeSlot(ctx context.Context) *routeValue {
	if !slotsMade.Load() {
		return nil
	}
	return findSlot(ctx)
}

// findSlot is routeSlot once a slot may exist.
func findSlot(ctx context.Context) *routeValue {
	attrs := ctxattrs.From(ctx)
	for i := len(attrs) - 1; i >= 0; i-- {
		if attrs[i].Key != attrRoute || attrs[i].Value.Kind() != slog.KindLogValuer {
			continue
		}
		if v, ok := attrs[i].Value.LogValuer().(*routeValue); ok {
			return v
		}
	}
	return nil
}

// MuxRoute returns a Route function for a ServeMux that the middleware does not wrap
// directly. http.ServeMux records the matched pattern on the request it receives; when a
// handler between the middleware and the mux passes on a copy (r.WithContext, as
// http.TimeoutHandler and most authentication middlewares do), the middleware never sees
// it. MuxRoute asks mux which pattern the request matches instead, at the price of a
// second lookup per request (and per log line written before the handler returns).
// Under http.StripPrefix, wrap the inner mux with the middleware as well (see the
// package doc, "Routers"): the stripped request is a copy the outer middleware never sees.
func MuxRoute(mux *http.ServeMux) func(*http.Request) string {
	return func(r *http.Request) string {
		if r.Pattern != "" {
			return patternRoute(r.Pattern)
		}
		_, pattern := mux.Handler(r)
		return patternRoute(pattern)
	}
}
