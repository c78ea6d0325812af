package observe_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-go/vigil/middleware"
)

// The README's router recipes at the facade, over a real server: the Observer's
// middleware wraps everything from outside, a chi router hands its match over with
// RouteFrom, and a mux mounted under http.StripPrefix is wrapped too. /metrics, the
// spans and the access lines carry the full route once per request; what the routers
// turn away is unmatched with its status.
func TestRouterRecipes(t *testing.T) {
	s, cfg := newSinks(t)
	o := s.start(cfg)

	api := http.NewServeMux()
	api.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
	blog := chi.NewRouter()
	blog.Use(middleware.RouteFrom(func(r *http.Request) string {
		return chi.RouteContext(r.Context()).RoutePattern()
	}))
	blog.Get("/blog/articles/{slug}", func(w http.ResponseWriter, r *http.Request) {})
	outer := http.NewServeMux()
	outer.Handle("/api/", http.StripPrefix("/api", o.Middleware(api)))
	outer.Handle("/blog/", blog)
	srv := httptest.NewServer(o.Middleware(outer))
	defer srv.Close()

	requests := []struct {
		method, path, route, status string
	}{
		{"GET", "/api/v1/orders/7", "/api/v1/orders/{id}", "200"},
		{"GET", "/blog/articles/routers", "/blog/articles/{slug}", "200"},
		{"GET", "/api/v2/nothing", "unmatched", "404"},
		{"GET", "/blog/nothing", "unmatched", "404"},
		{"POST", "/blog/articles/routers", "unmatched", "405"},
		{"GET", "/nothing", "unmatched", "404"},
	}
	for _, r := range requests {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got := resp.Status[:3]; got != r.status {
			t.Errorf("%s %s: status %s, want %s", r.method, r.path, got, r.status)
		}
	}

	exposition := s.scrape()
	for _, r := range requests {
		want := []string{`http_request_method="` + r.method + `"`, `http_route="` + r.route + `"`, `http_response_status_code="` + r.status + `"`}
		found := false
		for _, line := range strings.Split(exposition, "\n") {
			if !strings.HasPrefix(line, middleware.MetricServerDuration+"_count{") {
				continue
			}
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			found = found || all
		}
		if !found {
			t.Errorf("%s %s: no series with %v in\n%s", r.method, r.path, want, exposition)
		}
	}
	if n := strings.Count(exposition, `http_route="`+"/api/v1/orders/{id}"+`"`); n == 0 {
		t.Errorf("no /api/v1/orders/{id} series")
	}

	spans := s.waitSpans("one per request", len(requests))
	names := map[string]int{}
	for _, sp := range spans {
		names[sp.GetName()]++
	}
	for name, n := range map[string]int{"GET /api/v1/orders/{id}": 1, "GET /blog/articles/{slug}": 1, "GET": 3, "POST": 1} {
		if names[name] != n {
			t.Errorf("spans named %q: %d, want %d (all: %v)", name, names[name], n, names)
		}
	}
	if len(spans) != len(requests) {
		t.Errorf("%d spans for %d requests", len(spans), len(requests))
	}

	routes := map[string]bool{}
	for _, l := range s.logs() {
		if r, ok := l["route"].(string); ok {
			routes[r] = true
		}
	}
	for _, want := range []string{"/api/v1/orders/{id}", "/blog/articles/{slug}", "unmatched"} {
		if !routes[want] {
			t.Errorf("no log line with route %q: %v", want, routes)
		}
	}
}
