package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"

	"github.com/vigil-go/vigil/middleware"
)

// routeCase is one request and the route and status it must be recorded under.
type routeCase struct {
	method, path string
	route        string
	status       int
}

// checkRoutes sends the requests through h and checks what a user sees: each request
// counted once, in http_server_request_duration_seconds under its route and status, and
// one span per request named "METHOD route" (just the method when unmatched) with
// http.route.
func checkRoutes(t *testing.T, s *stack, h http.Handler, cases []routeCase) {
	t.Helper()
	want := map[string]float64{}
	for _, c := range cases {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, w.Code, c.status)
		}
		want[sample{labels: serverLabels(c.method, c.route, strconv.Itoa(c.status))}.String()]++
	}
	got := map[string]float64{}
	for _, smp := range gather(t, s.reg, middleware.MetricServerDuration) {
		got[smp.String()] += smp.value
	}
	if len(got) != len(want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("series %s = %v, want %v (all: %v)", k, got[k], n, got)
		}
	}
	spans := s.exp.GetSpans()
	if len(spans) != len(cases) {
		t.Fatalf("%d spans for %d requests", len(spans), len(cases))
	}
	for i, c := range cases {
		name := c.method + " " + c.route
		if c.route == middleware.Unmatched {
			name = c.method
		}
		var route string
		for _, a := range spans[i].Attributes {
			if a.Key == attribute.Key("http.route") {
				route = a.Value.AsString()
			}
		}
		if spans[i].Name != name || route != c.route {
			t.Errorf("%s %s: span %q with http.route %q, want %q and %q", c.method, c.path, spans[i].Name, route, name, c.route)
		}
	}
}

// A ServeMux mounted in another: with full patterns the inner mux sets the pattern on
// the same request; under http.StripPrefix on a copy, which the middleware wrapping the
// inner mux sees and joins to the outer pattern ("/api/" + "/v1/orders/{id}").
func TestServeMuxRoutes(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {}
	full := http.NewServeMux()
	full.HandleFunc("GET /api/v1/orders/{id}", ok)
	stripped := http.NewServeMux()
	stripped.HandleFunc("GET /v1/orders/{id}", ok)
	stripped.HandleFunc("GET /v1/{$}", ok)
	nested := http.NewServeMux()
	nested.HandleFunc("GET /orders/{id}", ok)

	standard := []routeCase{
		{"GET", "/api/v1/orders/7", "/api/v1/orders/{id}", 200},
		{"GET", "/api/v1/orders/8", "/api/v1/orders/{id}", 200},
		{"GET", "/api/nothing", middleware.Unmatched, 404},
		{"POST", "/api/v1/orders/7", middleware.Unmatched, 405},
		{"GET", "/elsewhere", middleware.Unmatched, 404},
	}
	for _, tt := range []struct {
		name  string
		build func(h *middleware.HTTP) http.Handler
		cases []routeCase
	}{
		{"full patterns, outside", func(h *middleware.HTTP) http.Handler {
			outer := http.NewServeMux()
			outer.Handle("/api/", full)
			return h.Handler(outer)
		}, standard},
		{"full patterns, inside", func(h *middleware.HTTP) http.Handler {
			outer := http.NewServeMux()
			outer.Handle("/api/", h.Handler(full))
			outer.Handle("/", h.Handler(middleware.NoRoute(http.NotFoundHandler())))
			return outer
		}, standard},
		{"full patterns, both", func(h *middleware.HTTP) http.Handler {
			outer := http.NewServeMux()
			outer.Handle("/api/", h.Handler(full))
			return h.Handler(outer)
		}, standard},
		{"StripPrefix, inside", func(h *middleware.HTTP) http.Handler {
			outer := http.NewServeMux()
			outer.Handle("/api/", http.StripPrefix("/api", h.Handler(stripped)))
			outer.Handle("/", h.Handler(middleware.NoRoute(http.NotFoundHandler())))
			return outer
		}, append(standard, routeCase{"GET", "/api/v1/", "/api/v1/{$}", 200})},
		{"StripPrefix, both", func(h *middleware.HTTP) http.Handler {
			outer := http.NewServeMux()
			outer.Handle("/api/", http.StripPrefix("/api", h.Handler(stripped)))
			return h.Handler(outer)
		}, append(standard, routeCase{"GET", "/api/v1/", "/api/v1/{$}", 200})},
		{"StripPrefix twice, each mux wrapped", func(h *middleware.HTTP) http.Handler {
			v1 := http.NewServeMux()
			v1.Handle("/v1/", http.StripPrefix("/v1", h.Handler(nested)))
			outer := http.NewServeMux()
			outer.Handle("/api/", http.StripPrefix("/api", h.Handler(v1)))
			return h.Handler(outer)
		}, []routeCase{
			{"GET", "/api/v1/orders/7", "/api/v1/orders/{id}", 200},
			{"GET", "/api/v1/nothing", middleware.Unmatched, 404},
			{"GET", "/api/nothing", middleware.Unmatched, 404},
		}},
		// Outside only, the copy StripPrefix makes is out of sight: the outer pattern
		// is all there is. Wrap the inner mux too (the rows above).
		{"StripPrefix, outside only", func(h *middleware.HTTP) http.Handler {
			outer := http.NewServeMux()
			outer.Handle("/api/", http.StripPrefix("/api", stripped))
			return h.Handler(outer)
		}, []routeCase{
			{"GET", "/api/v1/orders/7", "/api/", 200},
			{"GET", "/elsewhere", middleware.Unmatched, 404},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, nil)
			checkRoutes(t, s, tt.build(s.h), tt.cases)
		})
	}
}

// A path-rewriting handler between two muxes must not put client text in the route:
// only the outer pattern is joined, never the stripped text.
func TestStrippedTextStaysOutOfTheRoute(t *testing.T) {
	inner := http.NewServeMux()
	inner.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {})
	s := newStack(t, nil)
	outer := http.NewServeMux()
	outer.Handle("/t/{tenant}/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/orders" // drops /t/{tenant}, whatever the tenant
		r2.URL.RawPath = ""
		s.h.Handler(inner).ServeHTTP(w, r2)
	}))
	checkRoutes(t, s, s.h.Handler(outer), []routeCase{
		{"GET", "/t/acme/orders", "/t/{tenant}/orders", 200},
		{"GET", "/t/umbrella/orders", "/t/{tenant}/orders", 200},
	})
}

// chiRoute reads chi's match; RoutePattern is nil-safe, so it returns "" where chi's
// context is not in the request (outside the router).
func chiRoute(r *http.Request) string { return chi.RouteContext(r.Context()).RoutePattern() }

// chi keeps its match in a route context that only the handlers below the router see:
// from outside, the router must publish it (RouteFrom, or the middleware in r.Use too).
func TestChiRoutes(t *testing.T) {
	newRouter := func(use ...func(http.Handler) http.Handler) *chi.Mux {
		r := chi.NewRouter()
		r.Use(use...)
		ok := func(w http.ResponseWriter, r *http.Request) {}
		r.Get("/articles/{slug}", ok)
		r.Route("/users/{id}", func(r chi.Router) { r.Get("/posts/{post}", ok) })
		admin := chi.NewRouter()
		admin.Get("/stats", ok)
		r.Mount("/admin", admin)
		return r
	}
	routed := []routeCase{
		{"GET", "/articles/go-1-26", "/articles/{slug}", 200},
		{"GET", "/users/7/posts/9", "/users/{id}/posts/{post}", 200},
		{"GET", "/admin/stats", "/admin/stats", 200},
		{"GET", "/nothing", middleware.Unmatched, 404},
		{"POST", "/articles/go-1-26", middleware.Unmatched, 405},
	}
	for _, tt := range []struct {
		name  string
		build func(h *middleware.HTTP) http.Handler
		cases []routeCase
	}{
		{"outside, RouteFrom in Use", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newRouter(middleware.RouteFrom(chiRoute)))
		}, routed},
		{"inside, Use", func(h *middleware.HTTP) http.Handler {
			return newRouter(h.Handler)
		}, routed},
		{"both", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newRouter(h.Handler))
		}, routed},
		// Without a publisher inside, nothing of chi's match reaches the outside.
		{"outside only", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newRouter())
		}, []routeCase{
			{"GET", "/articles/go-1-26", middleware.Unmatched, 200},
			{"GET", "/nothing", middleware.Unmatched, 404},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, func(c *middleware.HTTPConfig) { c.Route = chiRoute })
			checkRoutes(t, s, tt.build(s.h), tt.cases)
		})
	}
}

// Lines the handler logs carry the route published from inside, and so does the
// access line.
func TestPublishedRouteInLogLines(t *testing.T) {
	s := newStack(t, func(c *middleware.HTTPConfig) { c.Route = chiRoute })
	r := chi.NewRouter()
	r.Use(middleware.RouteFrom(chiRoute))
	r.Get("/articles/{slug}", func(w http.ResponseWriter, r *http.Request) {
		s.logger.InfoContext(r.Context(), "reading article")
	})
	s.h.Handler(r).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/articles/x", nil))
	lines := s.logs.Lines(t)
	if len(lines) != 2 {
		t.Fatalf("lines = %v", lines)
	}
	for _, l := range lines {
		if l["route"] != "/articles/{slug}" {
			t.Errorf("line %v: route %v", l["msg"], l["route"])
		}
	}
}

// NoRoute marks what a router's not-found handler answers as unmatched, and SetRoute
// from inside wins over the published match.
func TestNoRouteAndSetRoute(t *testing.T) {
	s := newStack(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/docs/", middleware.NoRoute(http.NotFoundHandler()))
	mux.HandleFunc("GET /named/{x}", func(w http.ResponseWriter, r *http.Request) {
		middleware.SetRoute(r.Context(), "named")
	})
	checkRoutes(t, s, s.h.Handler(middleware.RouteFrom(nil)(mux)), []routeCase{
		{"GET", "/docs/anything", middleware.Unmatched, 404},
		{"GET", "/named/1", "named", 200},
	})
}

// A panicking route function published from inside counts as a route hook panic and
// leaves the request unmatched, still recorded once.
func TestPublishedRoutePanics(t *testing.T) {
	s := newStack(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {})
	pub := middleware.RouteFrom(func(*http.Request) string { panic("boom") })
	checkRoutes(t, s, s.h.Handler(pub(mux)), []routeCase{{"GET", "/x", middleware.Unmatched, 200}})
	if v, _ := find(gather(t, s.reg, "vigil_hook_panics_total"), map[string]string{"hook": "route"}); v != 1 {
		t.Errorf("route hook panics = %v, want 1", v)
	}
}

// A handler that dispatches other requests with its request's context (a batch
// endpoint) gets each recorded on its own, and keeps its own route.
func TestSubRequestsAreNotNested(t *testing.T) {
	s := newStack(t, nil)
	mux := http.NewServeMux()
	var wrapped http.Handler
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /batch", func(w http.ResponseWriter, r *http.Request) {
		for _, p := range []string{"/orders/1", "/orders/2"} {
			sub := httptest.NewRequest("GET", p, nil).WithContext(r.Context())
			wrapped.ServeHTTP(httptest.NewRecorder(), sub)
		}
	})
	wrapped = s.h.Handler(mux)
	w := httptest.NewRecorder()
	wrapped.ServeHTTP(w, httptest.NewRequest("POST", "/batch", nil))
	dur := gather(t, s.reg, middleware.MetricServerDuration)
	for _, want := range []struct {
		labels map[string]string
		n      float64
	}{
		{serverLabels("POST", "/batch", "200"), 1},
		{serverLabels("GET", "/orders/{id}", "200"), 2},
	} {
		if v, _ := find(dur, want.labels); v != want.n {
			t.Errorf("series %v = %v, want %v (all: %v)", want.labels, v, want.n, dur)
		}
	}
}
