package errors_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/logging"
)

// discardTransport is the no-op transport both implementations send to, so the
// benchmarks compare building and handing over an event, not the network.
type discardTransport struct{}

func (discardTransport) Configure(sentry.ClientOptions)        {}
func (discardTransport) SendEvent(*sentry.Event)               {}
func (discardTransport) Flush(time.Duration) bool              { return true }
func (discardTransport) FlushWithContext(context.Context) bool { return true }
func (discardTransport) Close()                                {}

const benchDSN = "https://0123456789abcdef@o0.ingest.sentry.io/1"

var errBench = fmt.Errorf("load order 42: %w", stderrors.New("connection refused"))

func sentryHub(b *testing.B) *sentry.Hub {
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: benchDSN, Transport: discardTransport{}, Release: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(client.Close)
	return sentry.NewHub(client, sentry.NewScope())
}

// vigilReporter logs every capture as JSON to io.Discard unless cfg has a Logger: the
// capture line is part of the work Capture promises, so it is measured.
func vigilReporter(b *testing.B, cfg verrors.Config) *verrors.Reporter {
	cfg.DSN, cfg.Transport, cfg.Release = benchDSN, discardTransport{}, "bench"
	if cfg.Logger == nil {
		// The logger observe hands the Reporter: vigil's JSON handler.
		l, err := logging.New(logging.Config{Output: io.Discard, Service: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		cfg.Logger = l
	}
	r, err := verrors.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return r
}

// BenchmarkCapture: distinct events (dedup and the rate cap off), each built and handed
// to the transport. vigil builds the event on its sending goroutine; the loop waits for
// that goroutine every 256 captures, so the time includes all of its work and no event
// is dropped.
func BenchmarkCapture(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=sentry-go", func(b *testing.B) {
		hub := sentryHub(b)
		b.ReportAllocs()
		for b.Loop() {
			hub.CaptureException(errBench)
		}
	})
	b.Run("impl=vigil", func(b *testing.B) {
		r := vigilReporter(b, verrors.Config{DedupWindow: -1, MaxEventsPerSecond: -1, QueueSize: 512})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Capture(ctx, errBench)
			if i++; i%256 == 0 {
				r.Flush(ctx)
			}
		}
		r.Flush(ctx)
		if s := r.Stats(); s.Sent != s.Captured {
			b.Fatalf("not every capture was sent: %+v", s)
		}
	})
}

// BenchmarkCaptureStorm: the same error over and over, with vigil's defaults (dedup on).
// sentry-go has no client-side dedup and builds every event.
func BenchmarkCaptureStorm(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=sentry-go", func(b *testing.B) {
		hub := sentryHub(b)
		b.ReportAllocs()
		for b.Loop() {
			hub.CaptureException(errBench)
		}
	})
	b.Run("impl=vigil", func(b *testing.B) {
		r := vigilReporter(b, verrors.Config{})
		b.ReportAllocs()
		for b.Loop() {
			r.Capture(ctx, errBench)
		}
		r.Flush(ctx)
		if s := r.Stats(); s.Sent != 1 {
			b.Fatalf("storm sent %d events, want 1", s.Sent)
		}
	})
	// The same with a logger that drops the line, to show what the line itself costs.
	b.Run("impl=vigil/log=discard", func(b *testing.B) {
		r := vigilReporter(b, verrors.Config{Logger: slog.New(slog.DiscardHandler)})
		b.ReportAllocs()
		for b.Loop() {
			r.Capture(ctx, errBench)
		}
	})
}

// BenchmarkWithRequest is the per-request cost the middleware pays when nothing is captured.
func BenchmarkWithRequest(b *testing.B) {
	req, _ := http.NewRequest("GET", "http://example.com/", nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = verrors.WithRequest(ctx, req)
	}
}
