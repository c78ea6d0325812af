package errors_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/sentrytest"
)

// Shutdown's error is what a user sees of the events that never reached Sentry: it must
// name them, by cause, and be nil only when none was lost.
func TestShutdownNamesTheLoss(t *testing.T) {
	tests := []struct {
		name      string
		server    func(*sentrytest.Server)
		queue     int
		events    int
		deadline  time.Duration // 0: context.Background()
		want      string        // the error's text up to " (last error"; "" means nil
		lastErr   string        // inside "(last error: ...)"
		deadlined bool          // errors.Is(err, context.DeadlineExceeded)
		stats     func(verrors.Stats) bool
	}{
		{
			name:   "clean",
			events: 5,
			stats:  func(s verrors.Stats) bool { return s.Sent == 5 },
		},
		{
			name:      "hung Sentry",
			server:    (*sentrytest.Server).Hang,
			events:    10,
			queue:     100,
			deadline:  300 * time.Millisecond,
			want:      "errors: 10 events not delivered: 10 still queued when the deadline passed",
			lastErr:   "context deadline exceeded",
			deadlined: true,
			stats:     func(s verrors.Stats) bool { return s.Closed == 10 && s.Failed == 0 },
		},
		{
			name:      "hung Sentry, queue overflowing",
			server:    (*sentrytest.Server).Hang,
			events:    10,
			queue:     3,
			deadline:  300 * time.Millisecond,
			want:      "errors: 10 events not delivered: 6 queue full, 4 still queued when the deadline passed",
			lastErr:   "context deadline exceeded",
			deadlined: true,
			stats:     func(s verrors.Stats) bool { return s.QueueFull == 6 && s.Closed == 4 },
		},
		{
			name: "Sentry failing",
			server: func(s *sentrytest.Server) {
				s.SetHandlerHook(func(w http.ResponseWriter, r *http.Request) bool {
					_, _ = io.Copy(io.Discard, r.Body)
					w.WriteHeader(http.StatusServiceUnavailable)
					return true
				})
			},
			events:  3,
			want:    "errors: 3 events not delivered: 3 failed",
			lastErr: "Sentry answered 503 Service Unavailable",
			stats:   func(s verrors.Stats) bool { return s.Failed == 3 },
		},
		{
			name:    "rate-limited by Sentry",
			server:  func(s *sentrytest.Server) { s.RateLimit(map[string]string{"Retry-After": "60"}) },
			events:  3,
			want:    "errors: 3 events not delivered: 3 rate-limited by Sentry",
			lastErr: "Sentry answered 429 Too Many Requests",
			stats:   func(s verrors.Stats) bool { return s.RateLimited == 3 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs after the server closed
			srv := sentrytest.NewServer(t)
			if tt.server != nil {
				tt.server(srv)
			}
			queue := tt.queue
			if queue == 0 {
				queue = 16
			}
			r, err := verrors.New(verrors.Config{DSN: srv.DSN(), QueueSize: queue,
				DedupWindow: -1, MaxEventsPerSecond: -1, Timeout: time.Minute,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.events {
				r.Capture(context.Background(), fmt.Errorf("event %d", i))
				if i == 0 && tt.deadline > 0 {
					// The first event is in flight, hung, before the others arrive: the
					// queue's drops do not depend on scheduling.
					waitFor(t, func() bool { return srv.Requests() == 1 })
				}
			}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			err = r.Shutdown(ctx)
			t.Logf("Shutdown took %v: %v", time.Since(start).Round(time.Millisecond), err)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Shutdown = %v, want nil", err)
				}
			} else {
				if err == nil {
					t.Fatalf("Shutdown = nil, want %q", tt.want)
				}
				// At the deadline the aborted request's error may not be in yet on a
				// loaded machine; the counts by cause are always exact.
				msg := err.Error()
				hasLast := strings.HasPrefix(msg, tt.want+" (last error: ") && strings.Contains(msg, tt.lastErr)
				if !strings.HasPrefix(msg, tt.want) || !hasLast && !tt.deadlined {
					t.Errorf("Shutdown = %q\nwant %q (last error: ...%s...)", msg, tt.want, tt.lastErr)
				}
			}
			if got := stderrors.Is(err, context.DeadlineExceeded); got != tt.deadlined {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) = %v, want %v", got, tt.deadlined)
			}
			if st := r.Stats(); !tt.stats(st) {
				t.Errorf("stats %+v", st)
			}
			if again := r.Shutdown(context.Background()); (again == nil) != (err == nil) {
				t.Errorf("second Shutdown = %v, first %v", again, err)
			}
		})
	}
}

// waitFor polls cond: it waits for something the test caused to be observed, and its
// limit only turns a hang into a failure.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}
