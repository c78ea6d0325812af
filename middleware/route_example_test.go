package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// printRoutes prints the http_route of every request series in reg.
func printRoutes(reg *metrics.Registry) {
	fams, _ := reg.Prometheus().Gather()
	for _, f := range fams {
		if f.GetName() != middleware.MetricServerDuration {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "http_route" {
					fmt.Println(l.GetValue())
				}
			}
		}
	}
}

// chi keeps its match in a context only the handlers below it see: RouteFrom in r.Use
// hands it to the middleware wrapping the router, which also counts chi's 404s.
func ExampleRouteFrom() {
	reg, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	h, _ := middleware.NewHTTP(middleware.HTTPConfig{Registry: reg})

	r := chi.NewRouter()
	r.Use(middleware.RouteFrom(func(r *http.Request) string {
		return chi.RouteContext(r.Context()).RoutePattern()
	}))
	r.Get("/articles/{slug}", func(w http.ResponseWriter, r *http.Request) {})
	srv := h.Handler(r)

	for _, path := range []string{"/articles/go-1-26", "/nothing"} {
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	printRoutes(reg)
	// Output:
	// /articles/{slug}
	// unmatched
}

// A mux mounted under http.StripPrefix matches a copy of the request: wrapped too, it
// hands its pattern to the outer middleware, with the outer pattern joined in front.
func ExampleHTTP_Handler_stripPrefix() {
	reg, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	h, _ := middleware.NewHTTP(middleware.HTTPConfig{Registry: reg})

	api := http.NewServeMux()
	api.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
	outer := http.NewServeMux()
	outer.Handle("/api/", http.StripPrefix("/api", h.Handler(api)))
	srv := h.Handler(outer)

	srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/orders/7", nil))
	printRoutes(reg)
	// Output:
	// /api/v1/orders/{id}
}
