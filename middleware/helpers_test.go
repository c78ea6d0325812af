package middleware_test

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-go/vigil/internal/logtest"

	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// logBuffer is the tests' log sink.
type logBuffer = logtest.Buffer

// accessLines returns the access-log lines only.
func accessLines(t *testing.T, b *logBuffer) []map[string]any {
	var out []map[string]any
	for _, l := range b.Lines(t) {
		if l["msg"] == "http request" {
			out = append(out, l)
		}
	}
	return out
}

// captureLog records what the middleware reports.
type captureLog struct {
	mu     sync.Mutex
	values []any
	ids    []string // request_id found in each capture's context
	routes []string
}

func (c *captureLog) fn(ctx context.Context, v any, attrs ...slog.Attr) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.values = append(c.values, v)
	c.ids = append(c.ids, middleware.RequestID(ctx))
	route := ""
	for _, a := range logging.Attrs(ctx) {
		if a.Key == "route" {
			route = a.Value.Resolve().String()
		}
	}
	c.routes = append(c.routes, route)
	return "event-1"
}

func (c *captureLog) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.values)
}

// stack is a middleware wired to in-memory backends.
type stack struct {
	reg    *metrics.Registry
	exp    *tracetest.InMemoryExporter
	logs   *logBuffer
	cap    *captureLog
	h      *middleware.HTTP
	logger *slog.Logger
}

func newStack(t testing.TB, mod func(*middleware.HTTPConfig)) *stack {
	t.Helper()
	reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	logs := &logBuffer{}
	logger, err := logging.New(logging.Config{Output: logs, Level: slog.LevelDebug, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	c := &captureLog{}
	cfg := middleware.HTTPConfig{Registry: reg, TracerProvider: tp, Logger: logger, Capture: c.fn}
	if mod != nil {
		mod(&cfg)
	}
	h, err := middleware.NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{reg: reg, exp: exp, logs: logs, cap: c, h: h, logger: logger}
}

// sample is one series of a family: its labels and its count (histograms) or value.
type sample struct {
	labels map[string]string
	value  float64
}

func (s sample) String() string {
	var kv []string
	for k, v := range s.labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

func gather(t testing.TB, reg *metrics.Registry, name string) []sample {
	t.Helper()
	fams, err := reg.Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			out = append(out, sample{labels: labelMap(m), value: value(m)})
		}
	}
	return out
}

func labelMap(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

// find returns the value of the series with exactly labels, and whether it exists.
func find(samples []sample, labels map[string]string) (float64, bool) {
	for _, s := range samples {
		if len(s.labels) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			if s.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

func serverLabels(method, route, code string) map[string]string {
	return map[string]string{
		"http_request_method": method, "http_route": route,
		"http_response_status_code": code, "http_response_status_class": code[:1] + "xx",
	}
}
