package errors_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"sync"
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

// recordingTransport is a Sentry that accepts every event at once, in memory, for tests
// whose subject is time (dedup windows, rate caps): in a synctest bubble, time moves only
// when the test sleeps, so a loaded machine cannot stretch a window.
type recordingTransport struct {
	mu     sync.Mutex
	events []*sentry.Event
}

func (t *recordingTransport) SendEvent(ev *sentry.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, ev)
}
func (t *recordingTransport) Events() []*sentry.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*sentry.Event(nil), t.events...)
}
func (t *recordingTransport) Flush(time.Duration) bool              { return true }
func (t *recordingTransport) FlushWithContext(context.Context) bool { return true }
func (t *recordingTransport) Configure(sentry.ClientOptions)        {}
func (t *recordingTransport) Close()                                {}

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

// A storm of distinct errors sends the burst MaxEventsPerSecond allows and counts the rest;
// the cap refills with time. In the bubble no time passes while the storm runs, however
// slow the machine, so the burst is exact.
func TestStormOfDistinctErrorsIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &recordingTransport{}
		r, _ := newReporter(t, verrors.Config{Transport: tr, MaxEventsPerSecond: 5, Logger: slog.New(slog.DiscardHandler)})
		storm := func(round int) {
			for i := range 1000 {
				r.Capture(context.Background(), fmt.Errorf("round %d: request %d failed", round, i))
			}
			flush(t, r)
		}
		storm(1)
		if n := len(tr.Events()); n != 5 {
			t.Errorf("%d events, want the burst of 5", n)
		}
		if s := r.Stats(); s.RateCapped != 995 || s.Sent != 5 {
			t.Errorf("stats %+v: want 5 sent, 995 counted as capped", s)
		}
		time.Sleep(time.Second)
		storm(2)
		if n := len(tr.Events()); n != 10 {
			t.Errorf("%d events after a second and a second storm, want 10", n)
		}
		if s := r.Stats(); s.RateCapped+s.Sent != 2000 {
			t.Errorf("stats %+v: every capture must be sent or counted", s)
		}
	})
}

// Identical errors within DedupWindow are one event; the next one after the window says how
// many it stood for.
func TestDedupCarriesTheSuppressedCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &recordingTransport{}
		r, _ := newReporter(t, verrors.Config{Transport: tr, DedupWindow: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		err := stderrors.New("flaky")
		for i := range 5 { // one call site: one fingerprint
			switch i {
			case 2:
				time.Sleep(49 * time.Millisecond) // still inside the window
			case 3:
				time.Sleep(time.Millisecond) // the window has passed
			}
			r.Capture(context.Background(), err)
		}
		flush(t, r)
		evs := tr.Events()
		if len(evs) != 2 {
			t.Fatalf("%d events, want 2: the first and the first after the window", len(evs))
		}
		if got := fmt.Sprint(evs[1].Contexts["dedup"]["suppressed_before"]); got != "2" {
			t.Errorf("second event suppressed_before = %v, want 2", got)
		}
		if s := r.Stats(); s.Deduplicated != 3 || s.Sent != 2 {
			t.Errorf("stats %+v: want 2 sent, 3 deduplicated", s)
		}
	})
}
