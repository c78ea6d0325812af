package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-go/vigil/middleware"
)

// With chi, mount the middleware with r.Use so chi's route context is in the request,
// and read the pattern with a Route function.
func TestChiRoute(t *testing.T) {
	s := newStack(t, func(c *middleware.HTTPConfig) {
		c.Route = func(r *http.Request) string {
			if rc := chi.RouteContext(r.Context()); rc != nil {
				return rc.RoutePattern()
			}
			return ""
		}
	})
	r := chi.NewRouter()
	r.Use(s.h.Handler)
	r.Get("/articles/{slug}", func(w http.ResponseWriter, r *http.Request) {
		s.logger.InfoContext(r.Context(), "reading article")
	})
	r.Route("/users/{id}", func(r chi.Router) {
		r.Get("/posts/{post}", func(w http.ResponseWriter, r *http.Request) {})
	})
	for _, path := range []string{"/articles/go-1-26", "/users/7/posts/9", "/nothing"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	dur := gather(t, s.reg, middleware.MetricServerDuration)
	for _, want := range []map[string]string{
		serverLabels("GET", "/articles/{slug}", "200"),
		serverLabels("GET", "/users/{id}/posts/{post}", "200"),
		serverLabels("GET", "unmatched", "404"),
	} {
		if _, ok := find(dur, want); !ok {
			t.Errorf("series %v missing: %v", want, dur)
		}
	}
	if l := s.logs.Lines(t)[0]; l["msg"] != "reading article" || l["route"] != "/articles/{slug}" {
		t.Errorf("handler line = %v", l)
	}
}

// A middleware between vigil and the mux that passes on a copy of the request hides
// r.Pattern; MuxRoute finds the route anyway.
func TestMuxRouteBehindContextMiddleware(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(r.Context())) // as an auth middleware would
	})
	for _, tt := range []struct {
		name  string
		route func(*http.Request) string
		want  string
	}{
		{"default loses the pattern", nil, "unmatched"},
		{"MuxRoute", middleware.MuxRoute(mux), "/items/{id}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, func(c *middleware.HTTPConfig) { c.Route = tt.route })
			s.h.Handler(auth).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/3", nil))
			if _, ok := find(gather(t, s.reg, middleware.MetricServerDuration), serverLabels("GET", tt.want, "200")); !ok {
				t.Errorf("want route %s: %v", tt.want, gather(t, s.reg, middleware.MetricServerDuration))
			}
		})
	}
}
