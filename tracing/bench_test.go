package tracing_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

// discard is an exporter that accepts everything, so the benchmark measures the span
// path and the processor, not a network.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkStartEnd compares a span start and end through the helpers with the raw SDK
// tracer set up the same way (parent-based always-on sampler, batch processor).
func BenchmarkStartEnd(b *testing.B) {
	for _, export := range []string{"batch", "none"} {
		b.Run("export="+export, func(b *testing.B) {
			cfg := tracing.Config{Exporter: "none"}
			sdkOpts := []sdktrace.TracerProviderOption{sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample()))}
			if export == "batch" {
				cfg.SpanExporter = discard{}
				sdkOpts = append(sdkOpts, sdktrace.WithBatcher(discard{}))
			}
			raw := sdktrace.NewTracerProvider(sdkOpts...)
			defer raw.Shutdown(context.Background())
			p, err := tracing.New(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Shutdown(context.Background())

			run := func(b *testing.B, start func(context.Context, string, ...trace.SpanStartOption) (context.Context, trace.Span)) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					_, s := start(ctx, "work")
					s.End()
				}
			}
			b.Run("impl=sdk", func(b *testing.B) { run(b, raw.Tracer(tracing.ScopeName).Start) })
			b.Run("impl=vigil", func(b *testing.B) { run(b, p.Start) })
			b.Run("impl=sdk-global", func(b *testing.B) {
				prev := otel.GetTracerProvider()
				defer otel.SetTracerProvider(prev)
				otel.SetTracerProvider(raw)
				run(b, otel.Tracer(tracing.ScopeName).Start)
			})
			b.Run("impl=vigil-global", func(b *testing.B) {
				prev := otel.GetTracerProvider()
				defer otel.SetTracerProvider(prev)
				otel.SetTracerProvider(p.TracerProvider())
				run(b, tracing.Start)
			})
		})
	}
}
