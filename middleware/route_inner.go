package middleware

import (
	"net/http"
	"strings"
)

// The middleware wrapping a router from outside sees every request, 404s and 405s
// included, but not the route: most routers record their match on a copy of the request
// (gorilla/mux, http.StripPrefix) or in a context only the handlers below them see (chi,
// gin, echo). A router's own middleware sees the match but not the requests the router
// turns away. So the outside records, and the inside publishes its match into the
// outside's route slot: RouteFrom, SetRoute, or a second vigil middleware nested in the
// first, which does exactly that instead of recording the request twice.

// RouteFrom returns a router middleware (for chi's or gorilla/mux's Use, or around any
// handler a router calls) that publishes the route of the request the router passes it
// to the vigil middleware wrapping the router from outside. route reads the router's
// match from that request, for example
//
//	func(r *http.Request) string { return chi.RouteContext(r.Context()).RoutePattern() }
//
// It is called when the route is needed (log lines, the end of the request), so a
// router that completes its match below its middleware, as chi does, is read complete.
// Nil means the http.ServeMux pattern. Outside an instrumented request RouteFrom does
// nothing. The value becomes a metric label: return patterns, never raw paths, and ""
// when nothing matched.
func RouteFrom(route func(*http.Request) string) func(http.Handler) http.Handler {
	if route == nil {
		route = muxRoute
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if v := routeSlot(r.Context()); v != nil {
				_ = v.publish(r, route)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// NoRoute wraps a not-found handler that a router reaches through a route of its own (a
// catch-all "/" in an http.ServeMux, a router's "*" route) so that the requests it
// answers are recorded under Unmatched with their status, not under the catch-all.
func NoRoute(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "")
		h.ServeHTTP(w, r)
	})
}

// serveNested handles a request that a vigil middleware further out already records
// (the "both" wiring: outside the router and in its Use, or around a mounted mux): it
// publishes this middleware's route for the outer one and passes the request on
// untouched, so the request is counted, traced and logged once. It reports false, doing
// nothing, when no vigil middleware is further out, or when r is another request made
// with the recorded one's context (a batch handler dispatching sub-requests), which is
// recorded on its own. Its caller has checked slotsMade.
func (h *HTTP) serveNested(next http.Handler, w http.ResponseWriter, r *http.Request) bool {
	v := findSlot(r.Context())
	if v == nil || !v.publish(r, h.route) {
		return false
	}
	next.ServeHTTP(w, r)
	return true
}

// publish makes fn(r) the request's route. r is the request as the router inside handed
// it on; when a mux mounted the router under a prefix it stripped (http.StripPrefix),
// the prefix is joined in front. It reports false, publishing nothing, when r is not
// the recorded request on its way down: another method, or a path that is not the
// recorded one or a tail of it.
func (v *routeValue) publish(r *http.Request, fn func(*http.Request) string) bool {
	base, outer := "", v.req
	if s := v.src.Load(); s != nil {
		base, outer = s.prefix, s.req
	}
	if outer == nil || outer.URL == nil || r.URL == nil || r.Method != outer.Method ||
		!strings.HasSuffix(outer.URL.Path, r.URL.Path) {
		return false
	}
	prefix := base + mountPrefix(r.Pattern, outer.URL.Path, r.URL.Path)
	v.src.Store(&routeSource{req: r, fn: fn, prefix: prefix})
	return true
}

// mountAt records, for a middleware that a ServeMux called (r.Pattern is set), the
// prefix that a handler between stripped: its routes are relative to it. The original
// path is the request line's. Only the outer pattern goes into the route, never the
// stripped text, which a path-rewriting handler could fill with client input. r is the
// request the middleware passes on (v.req); the default path (the middleware outermost,
// no pattern yet) costs one comparison.
func (v *routeValue) mountAt(r *http.Request) {
	if r.Pattern == "" || r.RequestURI == "" || r.URL == nil {
		return
	}
	orig := r.RequestURI
	if i := strings.IndexByte(orig, '?'); i >= 0 {
		orig = orig[:i]
	}
	if !strings.HasPrefix(orig, "/") { // absolute form: scheme://host/path
		if i := strings.Index(orig, "://"); i >= 0 {
			orig = orig[i+3:]
			if j := strings.IndexByte(orig, '/'); j >= 0 {
				orig = orig[j:]
			} else {
				orig = "/"
			}
		}
	}
	if prefix := mountPrefix(r.Pattern, orig, r.URL.EscapedPath()); prefix != "" {
		v.src.Store(&routeSource{req: r, fn: v.h.route, prefix: prefix})
	}
}

// mountPrefix returns the route prefix of a handler mounted under the ServeMux pattern
// that matched when the path was outerPath and that sees path: the pattern without its
// trailing slash when the pattern is a subtree ("/api/") and a handler between stripped
// the path ("/api/v1/x" -> "/v1/x"), else "" (nothing was stripped: a nested mux then
// has full patterns of its own).
func mountPrefix(pattern, outerPath, path string) string {
	route := patternRoute(pattern)
	if len(route) < 2 || route[len(route)-1] != '/' || outerPath == path || !strings.HasSuffix(outerPath, path) {
		return ""
	}
	return route[:len(route)-1]
}

// joinRoute puts a mount prefix in front of a route; an empty route (nothing matched)
// stays empty, so it becomes Unmatched rather than the prefix.
func joinRoute(prefix, route string) string {
	if prefix == "" || route == "" {
		return route
	}
	return prefix + route
}
