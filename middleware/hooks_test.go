package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"

	"github.com/vigil-go/vigil/middleware"
)

// panickingPropagator panics on every use, as a buggy custom propagator would.
type panickingPropagator struct{}

func (panickingPropagator) Inject(context.Context, propagation.TextMapCarrier) { panic("inject bug") }
func (panickingPropagator) Extract(context.Context, propagation.TextMapCarrier) context.Context {
	panic("extract bug")
}
func (panickingPropagator) Fields() []string { return []string{"traceparent"} }

// panickingHandler is a log handler that panics on every record.
type panickingHandler struct{}

func (panickingHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panickingHandler) Handle(context.Context, slog.Record) error { panic("handler bug") }
func (h panickingHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panickingHandler) WithGroup(string) slog.Handler           { return h }

// A panicking user callback never escapes the middleware: the handler still answers,
// the request is recorded (under "unmatched" when the route hook failed), the in-flight
// gauge returns to 0, and the panic is counted per hook and logged once.
func TestUserHooksAreContained(t *testing.T) {
	tests := []struct {
		name      string
		mod       func(*middleware.HTTPConfig)
		hook      string
		wantRoute string
		wantLog   bool // the once-per-hook line reaches the test's logger
	}{
		{"route", func(c *middleware.HTTPConfig) {
			c.Route = func(*http.Request) string { panic("route bug") }
		}, "route", "unmatched", true},
		{"route aborts", func(c *middleware.HTTPConfig) {
			c.Route = func(*http.Request) string { panic(http.ErrAbortHandler) }
		}, "route", "unmatched", true},
		{"route, metrics only", func(c *middleware.HTTPConfig) {
			c.MetricsOnly = true
			c.Route = func(*http.Request) string { panic("route bug") }
		}, "route", "unmatched", true},
		{"propagator", func(c *middleware.HTTPConfig) { c.Propagator = panickingPropagator{} }, "propagator", "/orders/{id}", true},
		{"logger", func(c *middleware.HTTPConfig) { c.Logger = slog.New(panickingHandler{}) }, "logger", "/orders/{id}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, tt.mod)
			h := s.h.Handler(demoMux(t))
			const n = 5
			for range n {
				req := httptest.NewRequest("GET", "/orders/7", nil)
				req.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
				// A real server: a panic escaping the middleware would drop the connection.
				rec := httptest.NewRecorder()
				func() {
					defer func() {
						if v := recover(); v != nil {
							t.Fatalf("panic escaped the middleware: %v", v)
						}
					}()
					h.ServeHTTP(rec, req)
				}()
				if rec.Code != 200 || rec.Body.String() != `{"id":"7"}` {
					t.Fatalf("response %d %q: the handler did not answer", rec.Code, rec.Body)
				}
			}
			if v, ok := find(gather(t, s.reg, middleware.MetricHookPanics), map[string]string{"hook": tt.hook}); !ok || v != n {
				t.Errorf("%s{hook=%q} = %v (present %v), want %d", middleware.MetricHookPanics, tt.hook, v, ok, n)
			}
			for _, sm := range gather(t, s.reg, middleware.MetricServerActive) {
				if sm.value != 0 {
					t.Errorf("%s%v = %v after every request returned", middleware.MetricServerActive, sm, sm.value)
				}
			}
			if v, ok := find(gather(t, s.reg, middleware.MetricServerDuration), serverLabels("GET", tt.wantRoute, "200")); !ok || v != n {
				t.Errorf("duration series for route %q: %v (present %v), want %d", tt.wantRoute, v, ok, n)
			}
			if !tt.wantLog {
				return
			}
			reports := 0
			for _, l := range s.logs.Lines(t) {
				if strings.Contains(l["msg"].(string), "user callback panicked") {
					reports++
					if l["hook"] != tt.hook || l["panic"] == nil {
						t.Errorf("report line %v", l)
					}
				}
			}
			if reports != 1 {
				t.Errorf("%d report lines, want 1 (once per hook)", reports)
			}
		})
	}
}

// A panicking propagator on the client side sends the request without trace context.
func TestTransportPropagatorContained(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	s := newStack(t, func(c *middleware.HTTPConfig) { c.Propagator = panickingPropagator{} })
	client := &http.Client{Transport: s.h.Transport(nil)}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	if v, _ := find(gather(t, s.reg, middleware.MetricHookPanics), map[string]string{"hook": "propagator"}); v != 1 {
		t.Errorf("propagator panics = %v, want 1", v)
	}
}

// The counter exists (at 0) as soon as the middleware does, so alerts can use it.
func TestHookPanicsExportedFromTheStart(t *testing.T) {
	s := newStack(t, nil)
	got := gather(t, s.reg, middleware.MetricHookPanics)
	if len(got) != 3 {
		t.Fatalf("%s series: %v", middleware.MetricHookPanics, got)
	}
	for _, sm := range got {
		if sm.value != 0 {
			t.Errorf("%v = %v", sm, sm.value)
		}
	}
}
