package benchmarks

import (
	"context"
	"strconv"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

// spanImpl starts a span; the caller ends it.
type spanImpl struct {
	impl  string
	start func(ctx context.Context, name string) (context.Context, trace.Span)
	// flush exports what has ended and returns how many spans reached the exporter.
	flush func() int64
}

func rawSDKSpans(tb testing.TB, ratio float64) spanImpl {
	sink := &spanSink{}
	tp := sdkProvider(tb, ratio, sink)
	tr := tp.Tracer("bench")
	return spanImpl{
		impl:  "otel-sdk",
		start: func(ctx context.Context, name string) (context.Context, trace.Span) { return tr.Start(ctx, name) },
		flush: func() int64 { _ = tp.ForceFlush(context.Background()); return sink.count() },
	}
}

func vigilSpans(tb testing.TB, ratio float64) spanImpl {
	tb.Helper()
	sink := &spanSink{}
	p, err := tracing.New(context.Background(), tracing.Config{
		SpanExporter: sink,
		SampleRatio:  &ratio,
		MaxQueueSize: queueSize,
		Service:      "bench",
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return spanImpl{
		impl:  "vigil",
		start: func(ctx context.Context, name string) (context.Context, trace.Span) { return p.Start(ctx, name) },
		flush: func() int64 { _ = p.Shutdown(context.Background()); return sink.count() },
	}
}

func spanImpls(tb testing.TB, ratio float64) []spanImpl {
	return []spanImpl{rawSDKSpans(tb, ratio), vigilSpans(tb, ratio)}
}

// BenchmarkSpan starts and ends one root span, sampled (ratio 1) and not (ratio 0),
// through vigil's helper and through the SDK tracer it wraps, configured alike.
func BenchmarkSpan(b *testing.B) {
	ctx := context.Background()
	for _, ratio := range []float64{1, 0} {
		impls := spanImpls(b, ratio)
		b.Run("sampled="+strconv.FormatBool(ratio == 1), func(b *testing.B) {
			for _, s := range impls {
				b.Run("impl="+s.impl, func(b *testing.B) {
					b.ReportAllocs()
					done := cpuPerOp(b)
					for b.Loop() {
						_, span := s.start(ctx, "charge")
						span.End()
					}
					done()
				})
			}
		})
	}
}

// BenchmarkSpanParallel is the sampled case with every P starting spans into the same
// batch queue.
func BenchmarkSpanParallel(b *testing.B) {
	ctx := context.Background()
	for _, s := range spanImpls(b, 1) {
		b.Run("sampled=true/impl="+s.impl, func(b *testing.B) {
			b.ReportAllocs()
			done := cpuPerOp(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, span := s.start(ctx, "charge")
					span.End()
				}
			})
			done()
		})
	}
}

// TestSpansDoTheWork checks that sampled spans reach the exporter on both sides and
// unsampled ones do not, while still carrying ids for log correlation.
func TestSpansDoTheWork(t *testing.T) {
	for _, ratio := range []float64{1, 0} {
		for _, s := range spanImpls(t, ratio) {
			ctx, span := s.start(context.Background(), "charge")
			if !trace.SpanContextFromContext(ctx).HasTraceID() {
				t.Errorf("%s ratio=%v: span has no trace id", s.impl, ratio)
			}
			span.End()
			got := s.flush()
			if want := int64(ratio); got != want {
				t.Errorf("%s ratio=%v: exported %d spans, want %d", s.impl, ratio, got, want)
			}
		}
	}
}

var _ sdktrace.SpanExporter = (*spanSink)(nil)
