package logging_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/logging"
)

// BenchmarkInfoContext compares this package's handler, with trace correlation, a
// context attribute and redaction on, against slog's own JSON handler in the same run.
func BenchmarkInfoContext(b *testing.B) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
	vigil, err := logging.New(logging.Config{Output: io.Discard, Service: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	impls := []struct {
		name string
		l    *slog.Logger
	}{
		{"impl=slog.JSONHandler", slog.New(slog.NewJSONHandler(io.Discard, nil))},
		{"impl=vigil", vigil},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.l.InfoContext(ctx, "request served",
					slog.String("method", "GET"),
					slog.Int("status", 200),
					slog.Duration("elapsed", 1500*time.Microsecond),
					slog.String("password", "hunter2"),
					slog.Bool("cached", true))
			}
		})
	}
}

// BenchmarkHandle measures the handler alone on a record built once: the cost of a line
// with trace correlation and five attributes, one of them redacted, per preset.
func BenchmarkHandle(b *testing.B) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request served", 0)
	rec.AddAttrs(slog.String("method", "GET"),
		slog.Int("status", 200),
		slog.Duration("elapsed", 1500*time.Microsecond),
		slog.String("password", "hunter2"),
		slog.Bool("cached", true))
	for _, fields := range []string{"", "otel", "ecs", "gcp:p", "datadog"} {
		h, err := logging.NewHandler(logging.Config{Output: io.Discard, Service: "bench", Fields: fields})
		if err != nil {
			b.Fatal(err)
		}
		name := fields
		if name == "" {
			name = "vigil"
		}
		b.Run("fields="+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Handle(ctx, rec)
			}
		})
	}
}
