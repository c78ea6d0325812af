package routers

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// stack is the middleware with its metrics served on /metrics and its spans kept in
// memory.
type stack struct {
	reg *metrics.Registry
	exp *tracetest.InMemoryExporter
	h   *middleware.HTTP
}

func newStack(t *testing.T, route func(*http.Request) string) *stack {
	t.Helper()
	reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	logger, err := logging.New(logging.Config{Output: discard{}, Level: slog.LevelInfo, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := middleware.NewHTTP(middleware.HTTPConfig{Registry: reg, TracerProvider: tp, Logger: logger, Route: route})
	if err != nil {
		t.Fatal(err)
	}
	return &stack{reg: reg, exp: exp, h: h}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// routeCase is one request and the route and status it must be recorded under.
type routeCase struct {
	method, path string
	route        string
	status       int
}

// scraped returns the request counts of http_server_request_duration_seconds as the
// /metrics endpoint shows them, keyed "METHOD route status".
func (s *stack) scraped(t *testing.T) map[string]uint64 {
	t.Helper()
	w := httptest.NewRecorder()
	s.reg.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]uint64{}
	for _, m := range fams[middleware.MetricServerDuration].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if c := l["http_response_status_code"]; l["http_response_status_class"] != c[:1]+"xx" {
			t.Errorf("series %v: class does not follow the code", l)
		}
		out[l["http_request_method"]+" "+l["http_route"]+" "+l["http_response_status_code"]] += m.GetHistogram().GetSampleCount()
	}
	return out
}

// check sends the requests through h and checks what a user sees: each request counted
// once on /metrics under its route and status, and one span per request named
// "METHOD route" (the method alone when unmatched) with that http.route.
func check(t *testing.T, s *stack, h http.Handler, cases []routeCase) {
	t.Helper()
	want := map[string]uint64{}
	for _, c := range cases {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, w.Code, c.status)
		}
		want[c.method+" "+c.route+" "+strconv.Itoa(c.status)]++
	}
	if got := s.scraped(t); !equal(got, want) {
		t.Errorf("/metrics requests:\n got %v\nwant %v", sorted(got), sorted(want))
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
			if a.Key == "http.route" {
				route = a.Value.AsString()
			}
		}
		if spans[i].Name != name || route != c.route {
			t.Errorf("%s %s: span %q with http.route %q, want %q and %q", c.method, c.path, spans[i].Name, route, name, c.route)
		}
	}
}

func equal(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sorted(m map[string]uint64) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+strconv.FormatUint(v, 10))
	}
	sort.Strings(out)
	return out
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}

func mustRequest(method, path string) *http.Request {
	return httptest.NewRequest(method, path, nil)
}
