package observe_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getsentry/sentry-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigil-go/vigil/observe"
)

// hungSentry and hungCollector take what they are sent and never answer, whatever their
// context says: the worst backends there are. They live in memory, so the test below runs
// in a synctest bubble, where time is fake and moves only while every goroutine waits: its
// bounds are exact and no machine is too slow for them.
type hungSentry struct {
	release chan struct{}
	events  atomic.Int64
}

func (h *hungSentry) SendEvent(*sentry.Event)               { h.events.Add(1); <-h.release }
func (h *hungSentry) Flush(time.Duration) bool              { return false }
func (h *hungSentry) FlushWithContext(context.Context) bool { return false }
func (h *hungSentry) Configure(sentry.ClientOptions)        {}
func (h *hungSentry) Close()                                {}

type hungCollector struct {
	release chan struct{}
	batches atomic.Int64
}

func (h *hungCollector) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	h.batches.Add(1)
	<-h.release
	return errors.New("released")
}
func (h *hungCollector) Shutdown(context.Context) error { return nil }

// With Sentry and the collector hung, work costs no time at all and Shutdown returns at
// its deadline, or at ShutdownTimeout when its context has none, never later.
func TestShutdownWithEveryBackendHungReturnsAtDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ctx      func() (context.Context, context.CancelFunc)
		timeout  time.Duration // Config.ShutdownTimeout
		deadline time.Duration // when Shutdown must have returned
	}{
		{"context with a 300ms deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, 0, 300 * time.Millisecond},
		{"context already cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, 0, 0},
		{"no deadline, ShutdownTimeout 200ms", func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}, 200 * time.Millisecond, 200 * time.Millisecond},
		{"no deadline, the default ShutdownTimeout", func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}, 0, observe.DefaultShutdownTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sentrySide := &hungSentry{release: make(chan struct{})}
				collector := &hungCollector{release: make(chan struct{})}
				cfg := quiet(&syncBuffer{})
				cfg.NoGlobals = true
				cfg.ShutdownTimeout = tc.timeout
				cfg.Errors.Transport = sentrySide
				cfg.Tracing.Exporter, cfg.Tracing.SpanExporter = "", collector
				cfg.Metrics.DisableGoCollector, cfg.Metrics.DisableProcessCollector = true, true
				o, err := observe.New(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				for i := range 500 {
					ctx, span := o.Start(context.Background(), "work")
					o.Capture(ctx, fmt.Errorf("failure %d", i))
					o.Logger().InfoContext(ctx, "working", "i", i)
					span.End()
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("500 units of work took %v: one waited on a backend", d)
				}
				time.Sleep(time.Minute) // past every batch timer: both backends hold something
				if sentrySide.events.Load() == 0 || collector.batches.Load() == 0 {
					t.Fatalf("%d events and %d batches reached the hung backends, want some of each",
						sentrySide.events.Load(), collector.batches.Load())
				}

				ctx, cancel := tc.ctx()
				defer cancel()
				begin := time.Now()
				err = o.Shutdown(ctx)
				if d := time.Since(begin); d > tc.deadline {
					t.Errorf("Shutdown returned %v after its %v bound", d-tc.deadline, tc.deadline)
				}
				if err == nil {
					t.Error("Shutdown = nil with every backend hung")
				}
				t.Logf("Shutdown after %v: %v", time.Since(begin), err)
				// Let the abandoned sends end, so no goroutine outlives the bubble.
				close(sentrySide.release)
				close(collector.release)
			})
		})
	}
}
