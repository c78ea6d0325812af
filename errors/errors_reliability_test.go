package errors_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/envtest"
	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/logging"
)

// full reports whether the reliability tests run at full scale (.ci/stages/30-fuzz.sh).
func full() bool { return os.Getenv("VIGIL_RELIABILITY_FULL") == "1" }

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A black-holed Sentry under sustained distinct captures from several goroutines: each
// Capture returns without waiting on the network, the heap stays within a fixed budget
// whatever the number of captures (the queue is bounded and drops are counted), and
// Shutdown returns by its deadline leaving no goroutine behind.
func TestReliabilityBlackHoledSentryHeapBudget(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	srv := sentrytest.NewServer(t)
	srv.Hang()
	r, err := verrors.New(verrors.Config{DSN: srv.DSN(), DedupWindow: -1, MaxEventsPerSecond: -1,
		Timeout: time.Minute, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	const workers = 4
	perWorker := 5_000
	if full() {
		perWorker = 100_000
	}
	const budget = 8 << 20 // bytes of live heap the reporter may keep, whatever the load
	before := heapInUse()
	var wg sync.WaitGroup
	slowest := make([]time.Duration, workers)
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				t0 := time.Now()
				r.Capture(context.Background(), fmt.Errorf("worker %d failure %d", w, i), slog.Int("i", i))
				slowest[w] = max(slowest[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	grown := int64(heapInUse()) - int64(before)
	n := uint64(workers * perWorker)
	worst := max(slowest[0], slowest[1], slowest[2], slowest[3])
	t.Logf("reliability: %d captures against a black-holed Sentry in %v (%.1f µs each, slowest %v); heap grew %d KB (budget %d KB)",
		n, took, float64(took.Microseconds())/float64(n)*workers, worst, grown>>10, budget>>10)
	// The timeout is a minute and the server never answers: a Capture that waited on the
	// network would take that long. Machine speed shows in the log line above, not here.
	if worst > envtest.Blocked {
		t.Errorf("slowest Capture took %v: it waited on the network", worst)
	}
	if grown > budget {
		t.Errorf("heap grew by %d KB for %d captures; budget %d KB", grown>>10, n, budget>>10)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = r.Shutdown(ctx)
	d := time.Since(start)
	t.Logf("reliability: Shutdown(300ms) against a black hole returned in %v: %v", d, err)
	// Only its context can end this Shutdown (see above); TestShutdownReturnsAtDeadline
	// checks, in fake time, that it returns at the deadline itself.
	if d > 300*time.Millisecond+envtest.Blocked {
		t.Errorf("Shutdown returned after %v, deadline was 300ms: it waited on the network", d)
	}
	s := r.Stats()
	t.Logf("reliability: stats %+v", s)
	if s.Captured != n || s.QueueFull == 0 || s.Sent != 0 {
		t.Errorf("stats %+v: want %d captured, queue drops counted, none sent", s, n)
	}
	if accounted := s.QueueFull + s.Failed + s.Closed; accounted+1 < n {
		// At most the one event in flight is cut off without being counted yet.
		t.Errorf("%d of %d captures accounted as dropped", accounted, n)
	}
}

// Sentry's 429 answers in every form: Retry-After in seconds, as an HTTP date or as
// garbage (sentry-go then backs off 60s), and X-Sentry-Rate-Limits for the error
// category or all categories. Nothing is sent during the backoff, each drop is counted,
// and a limit on another category does not hold errors back.
func TestReliabilityRateLimitForms(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		held    bool
	}{
		{"Retry-After seconds", map[string]string{"Retry-After": "60"}, true},
		{"Retry-After HTTP date", map[string]string{"Retry-After": time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)}, true},
		{"Retry-After garbage", map[string]string{"Retry-After": "soon, maybe"}, true},
		{"Retry-After missing", map[string]string{}, true},
		{"X-Sentry-Rate-Limits error", map[string]string{"X-Sentry-Rate-Limits": "60:error:organization"}, true},
		{"X-Sentry-Rate-Limits all", map[string]string{"X-Sentry-Rate-Limits": "60::organization"}, true},
		{"X-Sentry-Rate-Limits garbage", map[string]string{"X-Sentry-Rate-Limits": "x;y:z:,,"}, false},
		{"X-Sentry-Rate-Limits other category", map[string]string{"X-Sentry-Rate-Limits": "60:transaction:project"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sentrytest.NewServer(t)
			srv.RateLimit(tt.headers)
			r, _ := newReporter(t, verrors.Config{DSN: srv.DSN(), Logger: slog.New(slog.DiscardHandler)})
			r.Capture(context.Background(), stderrors.New("first"))
			flush(t, r)
			for i := range 5 {
				r.Capture(context.Background(), fmt.Errorf("later %d", i))
			}
			flush(t, r)
			want := 1
			if !tt.held {
				want = 6
			}
			if n := srv.Requests(); n != want {
				t.Errorf("%d requests, want %d", n, want)
			}
			if s := r.Stats(); s.RateLimited != 6 || s.Sent != 0 {
				t.Errorf("stats %+v, want all 6 counted as rate limited", s)
			}
		})
	}
}

// After a short Retry-After the backoff ends: the next event is sent.
func TestReliabilityRateLimitExpires(t *testing.T) {
	srv := sentrytest.NewServer(t)
	srv.RateLimit(map[string]string{"Retry-After": "1"})
	r, _ := newReporter(t, verrors.Config{DSN: srv.DSN(), Logger: slog.New(slog.DiscardHandler)})
	r.Capture(context.Background(), stderrors.New("first"))
	flush(t, r)
	srv.SetHandlerHook(nil)
	r.Capture(context.Background(), stderrors.New("held back"))
	flush(t, r)
	if n := srv.Requests(); n != 1 {
		t.Fatalf("%d requests during the backoff, want 1", n)
	}
	time.Sleep(1100 * time.Millisecond)
	r.Capture(context.Background(), stderrors.New("after"))
	ev := srv.WaitForEvents(t, 1, 5*time.Second)
	if ev[0].Exception[0].Value != "after" {
		t.Errorf("sent %q", ev[0].Exception[0].Value)
	}
}

type panicValuer struct{}

func (panicValuer) LogValue() slog.Value { panic("LogValue boom") }

type panicErr struct{}

func (panicErr) Error() string { panic("Error boom") }

type panicUnwrap struct{}

func (panicUnwrap) Error() string { return "unwrap panics" }
func (panicUnwrap) Unwrap() error { panic("Unwrap boom") }

type selfUnwrap struct{ msg string }

func (e *selfUnwrap) Error() string { return e.msg }
func (e *selfUnwrap) Unwrap() error { return e }

type typedNilErr struct{}

func (*typedNilErr) Error() string { return "typed nil" }

type node struct {
	Name string
	Next *node
}

// Hostile values reach Capture and the bridge: nothing crashes the host, every capture
// is logged as one JSON line, and the sendable ones reach Sentry.
func TestReliabilityHostileValues(t *testing.T) {
	srv := sentrytest.NewServer(t)
	var out logBuffer
	logger, err := logging.New(logging.Config{Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := newReporter(t, verrors.Config{DSN: srv.DSN(), Logger: logger, DedupWindow: -1})
	cycle := &node{Name: "a"}
	cycle.Next = cycle
	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	var typedNil *typedNilErr
	hostile := slog.Group("g", "valuer", panicValuer{}, "cycle", cycle, "map", selfMap,
		"err", panicErr{}, "nil", nil, "newline", "a\nb")
	ctx := context.Background()
	values := []any{nil, error(nil), error(typedNil), typedNil, panicErr{}, panicUnwrap{},
		&selfUnwrap{"loops"}, panicValuer{}, cycle, selfMap, fmt.Errorf("wrapped: %w", panicErr{})}
	for _, v := range values {
		r.Capture(ctx, v, hostile)
	}
	slog.New(r.Handler()).ErrorContext(verrors.WithRequest(ctx, mustRequest(t)), "bridge", "error", panicErr{}, "v", panicValuer{}, "m", selfMap)
	flush(t, r)
	lines := out.Lines(t) // fails on anything but JSON lines
	if len(lines) < len(values)-2 {
		t.Errorf("%d log lines for %d captures", len(lines), len(values))
	}
	if s := r.Stats(); s.Failed != 0 {
		t.Errorf("stats %+v: an event failed to build or send", s)
	}
	t.Logf("reliability: %d hostile captures, %d events sent, %d log lines", len(values), len(srv.Events()), len(lines))
	for _, ev := range srv.Events() {
		for _, ex := range ev.Exception {
			if strings.Contains(ex.Value, "\x00") {
				t.Errorf("exception value %q", ex.Value)
			}
		}
	}
}

func mustRequest(t *testing.T) *http.Request {
	req, err := http.NewRequest(http.MethodGet, "http://svc/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
