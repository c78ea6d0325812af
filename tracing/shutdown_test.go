package tracing_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/tracing"
)

// Shutdown's error is what a user sees of the spans that never reached a collector: it
// names them, by cause, and is nil only when none was lost.
func TestShutdownNamesTheLoss(t *testing.T) {
	tests := []struct {
		name      string
		endpoint  func(t *testing.T) string
		flush     bool // ForceFlush before Shutdown, so that exports fail first
		timeout   time.Duration
		want      string
		lastErr   string
		deadlined bool
	}{
		{
			name:     "clean",
			endpoint: func(t *testing.T) string { return otlptest.StartHTTP(t).URL },
			timeout:  time.Second,
		},
		{
			name:     "hung collector, export timeout first",
			endpoint: func(t *testing.T) string { return "http://" + otlptest.StartBlackHole(t).Addr },
			flush:    true,
			timeout:  100 * time.Millisecond,
			want:     "tracing: 10 spans dropped: 10 export failed (last error: ",
			lastErr:  "processor export timeout",
		},
		{
			name:      "hung collector",
			endpoint:  func(t *testing.T) string { return "http://" + otlptest.StartBlackHole(t).Addr },
			timeout:   time.Minute, // only the deadline ends the export
			want:      "tracing: 10 spans dropped: 10 not flushed when the deadline passed",
			deadlined: true,
		},
		{
			name:     "refused",
			endpoint: func(t *testing.T) string { return "http://" + otlptest.RefusedAddr(t) },
			flush:    true,
			timeout:  100 * time.Millisecond,
			want:     "tracing: 10 spans dropped: 10 export failed (last error: ",
			lastErr:  "connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			endpoint := tt.endpoint(t)
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			p, err := tracing.New(context.Background(), tracing.Config{
				Endpoint: endpoint, Protocol: "http/protobuf",
				ExportTimeout: tt.timeout, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			for range 10 {
				_, s := p.Start(context.Background(), "work")
				s.End()
			}
			if tt.flush {
				_ = p.ForceFlush(context.Background())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err = p.Shutdown(ctx)
			t.Logf("Shutdown took %v: %v", time.Since(start).Round(time.Millisecond), err)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Shutdown = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.lastErr)):
				t.Fatalf("Shutdown = %v\nwant %q...%q", err, tt.want, tt.lastErr)
			case tt.deadlined && strings.Contains(err.Error(), "last error"):
				// Shutdown's own cancellation is not news about the collector.
				t.Fatalf("Shutdown = %v, want no last error", err)
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.deadlined {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) = %v, want %v", got, tt.deadlined)
			}
		})
	}
}
