package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	verrors "github.com/vigil-go/vigil/errors"
)

var errPayment = errors.New("payment declined")

// captureImpl reports err and returns once the calling goroutine is free again.
type captureImpl struct {
	impl    string
	capture func(ctx context.Context, err error)
	// sent returns how many events reached the transport (after flushing).
	sent func() int64
	// settle waits for work left on other goroutines (vigil builds and sends events on
	// its own goroutine), so a benchmark that calls it every so often counts that work
	// too (see settleEvery).
	settle func()
	// dropped is how many captures the queue had no room for (vigil only).
	dropped func() int64
}

// sentryCapture is sentry-go's hub.CaptureException with a transport that drops events.
func sentryCapture(tb testing.TB) captureImpl {
	tb.Helper()
	sink := &eventSink{}
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: testDSN, Transport: sink})
	if err != nil {
		tb.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	return captureImpl{
		impl:    "sentry-go",
		capture: func(_ context.Context, err error) { hub.CaptureException(err) },
		sent: func() int64 {
			hub.Flush(time.Second)
			return sink.count()
		},
		settle:  func() {}, // sentry-go builds and hands over the event on the caller
		dropped: func() int64 { return 0 },
	}
}

// vigilCapture is errors.Reporter.Capture with the same transport, writing its log
// line to io.Discard, with a one-minute dedup window and no practical rate cap.
func vigilCapture(tb testing.TB) captureImpl {
	tb.Helper()
	sink := &eventSink{}
	r, err := verrors.New(verrors.Config{
		DSN:                testDSN,
		Transport:          sink,
		DedupWindow:        time.Minute,
		MaxEventsPerSecond: 1e9,
		Logger:             vigilLogger(tb, io.Discard),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return captureImpl{
		impl:    "vigil",
		capture: func(ctx context.Context, err error) { r.Capture(ctx, err) },
		sent: func() int64 {
			_ = r.Shutdown(context.Background())
			return sink.count()
		},
		settle:  func() { r.Flush(context.Background()) },
		dropped: func() int64 { return int64(r.Stats().QueueFull) },
	}
}

// settleEvery is how many captures a benchmark makes between waits for the sender. It is
// below vigil's default queue size (100), so the queue never fills and every distinct
// error is built and sent, as with sentry-go; dropped/op (0) shows it.
const settleEvery = 64

// BenchmarkCapture reports an error: case=distinct makes a new error each time (the
// wrapping costs the same on both sides), so every capture is sent; case=storm reports
// the same error over and over, which vigil deduplicates and sentry-go sends every time.
func BenchmarkCapture(b *testing.B) {
	builds := []func(testing.TB) captureImpl{sentryCapture, vigilCapture}
	ctx := context.Background()
	b.Run("case=distinct", func(b *testing.B) {
		for _, build := range builds {
			c := build(b) // a fresh reporter per case: no queue or dedup state carried over
			b.Run("impl="+c.impl, func(b *testing.B) {
				b.ReportAllocs()
				dropped0 := c.dropped()
				i := 0
				done := cpuPerOp(b)
				for b.Loop() {
					i++
					c.capture(ctx, fmt.Errorf("order %d: %w", i, errPayment))
					if i%settleEvery == 0 {
						c.settle()
					}
				}
				done()
				c.settle()
				b.ReportMetric(float64(c.dropped()-dropped0)/float64(b.N), "dropped/op")
			})
		}
	})
	b.Run("case=storm", func(b *testing.B) {
		for _, build := range builds {
			c := build(b)
			b.Run("impl="+c.impl, func(b *testing.B) {
				err := fmt.Errorf("order 42: %w", errPayment)
				b.ReportAllocs()
				dropped0 := c.dropped()
				i := 0
				done := cpuPerOp(b)
				for b.Loop() {
					i++
					c.capture(ctx, err)
					if i%settleEvery == 0 {
						c.settle()
					}
				}
				done()
				c.settle()
				b.ReportMetric(float64(c.dropped()-dropped0)/float64(b.N), "dropped/op")
			})
		}
	})
}

// TestCapturesDoTheWork checks that distinct errors are all sent by both, and that a
// storm of one error is sent every time by sentry-go and a bounded number of times by
// vigil.
func TestCapturesDoTheWork(t *testing.T) {
	const n = 20
	for _, build := range []func(testing.TB) captureImpl{sentryCapture, vigilCapture} {
		distinct := build(t)
		for i := range n {
			distinct.capture(context.Background(), fmt.Errorf("order %d: %w", i, errPayment))
		}
		if got := distinct.sent(); got != n {
			t.Errorf("%s: %d distinct errors sent %d events, want %d", distinct.impl, n, got, n)
		}
		storm := build(t)
		err := fmt.Errorf("order 42: %w", errPayment)
		for range n {
			storm.capture(context.Background(), err)
		}
		got := storm.sent()
		switch storm.impl {
		case "sentry-go":
			if got != n {
				t.Errorf("sentry-go: storm of %d sent %d events, want %d", n, got, n)
			}
		default:
			if got < 1 || got > 2 {
				t.Errorf("%s: storm of %d sent %d events, want 1 (or 2 with a count)", storm.impl, n, got)
			}
		}
	}
}
