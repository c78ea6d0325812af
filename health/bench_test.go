package health_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/vigil-go/vigil/health"
)

// BenchmarkReadyzCached is the cost of a probe answered from the cached run (every
// probe but one per interval), with three checks.
func BenchmarkReadyzCached(b *testing.B) {
	hc := health.New(health.Config{Interval: 1 << 62, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, name := range []string{"postgres", "redis", "search"} {
		if err := hc.Add(name, func(context.Context) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	h := hc.ReadyzHandler()
	req := httptest.NewRequest("GET", "/readyz", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}

// BenchmarkLivez is the cost of a liveness probe.
func BenchmarkLivez(b *testing.B) {
	h := health.New(health.Config{}).LivezHandler()
	req := httptest.NewRequest("GET", "/livez", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}
