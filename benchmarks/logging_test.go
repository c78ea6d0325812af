package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vigil-go/vigil/logging"
)

// spanContext is a context holding a sampled span, so vigil's handler does its trace
// correlation on every record.
func spanContext() context.Context {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
}

// logCall writes one Info record with n attributes (5 or 10), one of them a secret that
// vigil redacts. slog goes through LogAttrs, the form that does not box attributes into
// interfaces, so the handlers' own costs are what is compared.
type logCall func(ctx context.Context, n int)

func slogCall(l *slog.Logger) logCall {
	return func(ctx context.Context, n int) {
		if n == 5 {
			l.LogAttrs(ctx, slog.LevelInfo, "request served",
				slog.String("method", "GET"),
				slog.Int("status", 200),
				slog.Duration("elapsed", 1500*time.Microsecond),
				slog.String("password", "hunter2"),
				slog.Bool("cached", true))
			return
		}
		l.LogAttrs(ctx, slog.LevelInfo, "request served",
			slog.String("method", "GET"),
			slog.Int("status", 200),
			slog.Duration("elapsed", 1500*time.Microsecond),
			slog.String("password", "hunter2"),
			slog.Bool("cached", true),
			slog.String("route", "/orders/{id}"),
			slog.String("request_id", "01J9Z3K6Q8V7W2X4Y5Z6A7B8C9"),
			slog.Int64("bytes", 1234),
			slog.String("user_agent", "Mozilla/5.0 (X11; Linux x86_64)"),
			slog.Float64("ratio", 0.25))
	}
}

func zapCall(l *zap.Logger) logCall {
	return func(_ context.Context, n int) {
		if n == 5 {
			l.Info("request served",
				zap.String("method", "GET"),
				zap.Int("status", 200),
				zap.Duration("elapsed", 1500*time.Microsecond),
				zap.String("password", "hunter2"),
				zap.Bool("cached", true))
			return
		}
		l.Info("request served",
			zap.String("method", "GET"),
			zap.Int("status", 200),
			zap.Duration("elapsed", 1500*time.Microsecond),
			zap.String("password", "hunter2"),
			zap.Bool("cached", true),
			zap.String("route", "/orders/{id}"),
			zap.String("request_id", "01J9Z3K6Q8V7W2X4Y5Z6A7B8C9"),
			zap.Int64("bytes", 1234),
			zap.String("user_agent", "Mozilla/5.0 (X11; Linux x86_64)"),
			zap.Float64("ratio", 0.25))
	}
}

func zapLogger(w io.Writer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zapcore.InfoLevel))
}

func vigilLogger(tb testing.TB, w io.Writer) *slog.Logger {
	tb.Helper()
	l, err := logging.New(logging.Config{Output: w, Format: "json", Service: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

type logImpl struct {
	impl string
	call logCall
}

// logImpls: slog's JSON handler (the target's baseline), zap (a reference point), and
// vigil's handler with trace correlation and redaction, all writing to w.
func logImpls(tb testing.TB, w io.Writer) []logImpl {
	return []logImpl{
		{"slog.JSONHandler", slogCall(slog.New(slog.NewJSONHandler(w, nil)))},
		{"zap", zapCall(zapLogger(w))},
		{"vigil", slogCall(vigilLogger(tb, w))},
	}
}

// BenchmarkLogging writes one JSON line with 5 or 10 attributes to io.Discard.
func BenchmarkLogging(b *testing.B) {
	impls := logImpls(b, io.Discard)
	ctx := spanContext()
	for _, n := range []int{5, 10} {
		b.Run("attrs="+strconv.Itoa(n), func(b *testing.B) {
			for _, l := range impls {
				b.Run("impl="+l.impl, func(b *testing.B) {
					b.ReportAllocs()
					done := cpuPerOp(b)
					for b.Loop() {
						l.call(ctx, n)
					}
					done()
				})
			}
		})
	}
}

// TestLoggersDoTheWork checks each implementation writes one JSON line per call with
// every attribute, and that vigil's carries the trace id and redacts the password.
func TestLoggersDoTheWork(t *testing.T) {
	for _, n := range []int{5, 10} {
		var buf bytes.Buffer
		for _, l := range logImpls(t, &buf) {
			buf.Reset()
			l.call(spanContext(), n)
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%s: not one JSON line: %v: %s", l.impl, err, buf.Bytes())
			}
			for _, k := range []string{"method", "status", "elapsed", "password", "cached"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("%s attrs=%d: no %q in %s", l.impl, n, k, buf.Bytes())
				}
			}
			if n == 10 {
				if _, ok := rec["ratio"]; !ok {
					t.Errorf("%s attrs=10: no ratio in %s", l.impl, buf.Bytes())
				}
			}
			if l.impl == "vigil" {
				if rec["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" {
					t.Errorf("vigil: trace_id = %v", rec["trace_id"])
				}
				if rec["password"] != "[REDACTED]" {
					t.Errorf("vigil: password = %v", rec["password"])
				}
			}
		}
	}
}
