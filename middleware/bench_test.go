package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// discardWriter is a ResponseWriter that costs nothing, so the figures are the
// middleware's own.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkServer compares, in one run, a bare ServeMux with client_golang's
// InstrumentHandlerDuration (code and method labels), vigil's metrics-only mode, and
// vigil's full stack (sampled span, metrics, JSON access log, request id, error scope).
func BenchmarkServer(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	newReg := func() *metrics.Registry {
		r, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
		return r
	}

	promVec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds"}, []string{"code", "method"})
	prometheus.NewRegistry().MustRegister(promVec)

	metricsOnly, err := middleware.NewHTTP(middleware.HTTPConfig{Registry: newReg(), MetricsOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(discardExporter{})))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	logger, _ := logging.New(logging.Config{Output: io.Discard, Level: slog.LevelInfo, Format: "json"})
	reporter, _ := verrors.New(verrors.Config{Logger: logger})
	full, err := middleware.NewHTTP(middleware.HTTPConfig{Registry: newReg(), TracerProvider: tp, Logger: logger, Capture: reporter.Capture})
	if err != nil {
		b.Fatal(err)
	}

	for _, impl := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"promhttp", promhttp.InstrumentHandlerDuration(promVec, mux)},
		{"vigil-metrics-only", metricsOnly.Handler(mux)},
		{"vigil-full", full.Handler(mux)},
	} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/orders/42", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				impl.h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkTransport measures the client wrapper around a RoundTripper that answers at
// once.
func BenchmarkTransport(b *testing.B) {
	reg, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(discardExporter{})))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	h, _ := middleware.NewHTTP(middleware.HTTPConfig{Registry: reg, TracerProvider: tp})
	resp := &http.Response{StatusCode: 200, Body: http.NoBody}
	base := roundTripFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	for _, impl := range []struct {
		name string
		rt   http.RoundTripper
	}{{"bare", base}, {"vigil", h.Transport(base)}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "http://api.example.com/v1/items", nil)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = impl.rt.RoundTrip(req)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
