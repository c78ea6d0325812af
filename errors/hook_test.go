package errors_test

import (
	"context"
	stderrors "errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	verrors "github.com/vigil-go/vigil/errors"
)

// OnEvent sees each event as Sentry would, scrubbed, with no DSN set; OnDuplicate
// names the event a suppressed capture repeats.
func TestOnEventWithoutDSN(t *testing.T) {
	var (
		mu   sync.Mutex
		evs  []*sentry.Event
		dups []string
	)
	r, err := verrors.New(verrors.Config{
		Logger:      discardLogger(),
		OnEvent:     func(ev *sentry.Event) { mu.Lock(); evs = append(evs, ev); mu.Unlock() },
		OnDuplicate: func(id string) { mu.Lock(); dups = append(dups, id); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	var ids []string
	for range 3 {
		ids = append(ids, r.Capture(context.Background(), stderrors.New("login failed: password=hunter2")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Flush(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(evs) != 1 || string(evs[0].EventID) != ids[0] {
		t.Fatalf("events %v for ids %v", evs, ids)
	}
	if v := evs[0].Exception[0].Value; v != "login failed: password=[REDACTED]" {
		t.Errorf("OnEvent saw %q", v)
	}
	if len(dups) != 2 || dups[0] != ids[0] || dups[1] != ids[0] || ids[1] != ids[0] {
		t.Errorf("duplicates %v, ids %v", dups, ids)
	}
	if st := r.Status(); st.Sending {
		t.Errorf("status %+v: nothing is sent without a DSN", st)
	}
}

// A panicking OnEvent is logged; the Reporter goes on.
func TestOnEventPanics(t *testing.T) {
	logs := &logBuffer{}
	r, err := verrors.New(verrors.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil)), OnEvent: func(*sentry.Event) { panic("viewer bug") }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	r.Capture(context.Background(), stderrors.New("a"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Flush(ctx)
	if r.Capture(context.Background(), stderrors.New("b")) == "" {
		t.Error("the Reporter stopped")
	}
	r.Flush(ctx)
	logs.Find(t, "msg", "vigil: errors OnEvent panicked")
}
