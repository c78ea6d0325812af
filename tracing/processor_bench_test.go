package tracing

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// countingDiscard accepts every batch and marks its spans as taken, as the pipeline's
// exporter does.
type countingDiscard struct{ waiting *atomic.Int64 }

func (e countingDiscard) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.waiting.Add(-int64(len(s)))
	return nil
}
func (countingDiscard) Shutdown(context.Context) error { return nil }

// batcherProcessor is the batcher alone behind a span processor, for the comparison
// with the SDK's batch processor below.
type batcherProcessor struct {
	b       *batcher
	waiting *atomic.Int64
}

func (batcherProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p batcherProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.b.push(s, p.waiting, sdktrace.DefaultMaxQueueSize)
	}
}
func (p batcherProcessor) ForceFlush(ctx context.Context) error { return p.b.forceFlush(ctx) }
func (p batcherProcessor) Shutdown(ctx context.Context) error   { return p.b.stop(ctx) }

// BenchmarkProcessor ends sampled spans through the SDK's batch processor and through
// the batcher, with the same exporter (which keeps nothing) and defaults. ns/op shows
// little of the difference: the SDK's processor readies its goroutine once per span,
// which costs CPU time (and context switches) on other threads; compare the process's
// CPU time (time(1), or the harness's cpu-ns/op) of one variant per process.
func BenchmarkProcessor(b *testing.B) {
	for _, impl := range []string{"sdk", "batcher"} {
		b.Run("impl="+impl, func(b *testing.B) {
			waiting := new(atomic.Int64)
			var sp sdktrace.SpanProcessor
			if impl == "sdk" {
				sp = sdktrace.NewBatchSpanProcessor(countingDiscard{new(atomic.Int64)})
			} else {
				sp = batcherProcessor{newBatcher(countingDiscard{waiting}, sdktrace.DefaultMaxExportBatchSize,
					sdktrace.DefaultScheduleDelay*time.Millisecond, defaultTimeout, nil), waiting}
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
			defer tp.Shutdown(context.Background())
			tr := tp.Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, s := tr.Start(ctx, "work")
				s.End()
			}
		})
	}
}
