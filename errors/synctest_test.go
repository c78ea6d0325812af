package errors_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getsentry/sentry-go"

	verrors "github.com/vigil-go/vigil/errors"
)

// hangingTransport is a Sentry that takes an event and never answers, and ignores every
// context: the worst transport a user can configure. It lives in memory, so the tests below
// run in a synctest bubble, where time is fake and moves only while every goroutine waits:
// their bounds are exact and no machine is too slow for them.
type hangingTransport struct {
	release chan struct{}
	sent    atomic.Int64
}

func (t *hangingTransport) SendEvent(*sentry.Event) {
	t.sent.Add(1)
	<-t.release
}
func (t *hangingTransport) Flush(time.Duration) bool              { return true }
func (t *hangingTransport) FlushWithContext(context.Context) bool { return true }
func (t *hangingTransport) Configure(sentry.ClientOptions)        {}
func (t *hangingTransport) Close()                                {}

func TestShutdownReturnsAtDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		captures int
		deadline time.Duration
	}{
		{"one event in flight", 1, time.Second},
		{"queue overflowing", 50, 200 * time.Millisecond},
		{"deadline already passed", 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := &hangingTransport{release: make(chan struct{})}
				r, err := verrors.New(verrors.Config{Transport: tr, QueueSize: 4, DedupWindow: -1,
					MaxEventsPerSecond: -1, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				for i := range tc.captures {
					r.Capture(context.Background(), fmt.Errorf("failure %d", i))
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("captures took %v: Capture waited on the transport", d)
				}
				synctest.Wait() // the sender has taken the first event and hangs in it
				if n := tr.sent.Load(); n != 1 {
					t.Errorf("%d events handed to the transport, want 1", n)
				}

				ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
				defer cancel()
				begin := time.Now()
				err = r.Shutdown(ctx)
				if d := time.Since(begin); d > tc.deadline {
					t.Errorf("Shutdown returned %v after its %v deadline", d-tc.deadline, tc.deadline)
				}
				if err == nil {
					t.Errorf("Shutdown = nil; %d captures never left the process", tc.captures)
				}
				t.Logf("Shutdown after %v: %v", time.Since(begin), err)
				// Let the abandoned send end, so no goroutine outlives the bubble.
				close(tr.release)
			})
		})
	}
}
