package tracing_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigil-go/vigil/tracing"
)

// hangingExporter is a collector that takes a batch and never answers. It lives in memory,
// so the test below runs in a synctest bubble, where time is fake and moves only while every
// goroutine waits: its bounds are exact and no machine is too slow for them.
type hangingExporter struct {
	release   chan struct{}
	ignoreCtx bool // the worst exporter: not even its context ends the wait
	batches   atomic.Int64
}

func (e *hangingExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	e.batches.Add(1)
	if e.ignoreCtx {
		<-e.release
		return errors.New("released")
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-e.release:
		return errors.New("released")
	}
}
func (e *hangingExporter) Shutdown(context.Context) error { return nil }

func TestShutdownReturnsAtDeadline(t *testing.T) {
	const queue = 50
	for _, tc := range []struct {
		name      string
		spans     int
		inFlight  bool // a batch is in the exporter when Shutdown starts
		ignoreCtx bool
		deadline  time.Duration
	}{
		{"queue overflowing, a batch in flight", 2000, true, false, 300 * time.Millisecond},
		{"queued, never exported", queue, false, false, 2 * time.Second},
		{"deadline already passed", 200, true, false, 0},
		{"exporter ignores its context", queue, true, true, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				exp := &hangingExporter{release: make(chan struct{}), ignoreCtx: tc.ignoreCtx}
				p, err := tracing.New(context.Background(), tracing.Config{SpanExporter: exp,
					MaxQueueSize: queue, ExportTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				for range tc.spans {
					_, s := p.Start(context.Background(), "work")
					s.End()
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("ending %d spans took %v: End waited on the exporter", tc.spans, d)
				}
				if tc.inFlight {
					time.Sleep(time.Minute) // past any batch timeout: the export has begun
					if n := exp.batches.Load(); n != 1 {
						t.Fatalf("%d batches handed to the exporter, want 1", n)
					}
				}

				ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
				defer cancel()
				begin := time.Now()
				err = p.Shutdown(ctx)
				if d := time.Since(begin); d > tc.deadline {
					t.Errorf("Shutdown returned %v after its %v deadline", d-tc.deadline, tc.deadline)
				}
				if err == nil {
					t.Error("Shutdown = nil; no span reached the collector")
				}
				t.Logf("Shutdown after %v: %v; %d of %d spans counted dropped when it returned",
					time.Since(begin), err, p.Dropped(), tc.spans)
				// Let an abandoned export end (so no goroutine outlives the bubble): then every
				// span ended is accounted for, none having reached the collector.
				close(exp.release)
				synctest.Wait()
				if d := p.Dropped(); d != uint64(tc.spans) {
					t.Errorf("Dropped = %d, want every span ended (%d)", d, tc.spans)
				}
			})
		})
	}
}
