package errors_test

import (
	"bytes"
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/envtest"
	"github.com/vigil-go/vigil/internal/logtest"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/sentrytest"
)

// logBuffer is the tests' log sink.
type logBuffer = logtest.Buffer

func newReporter(t *testing.T, cfg verrors.Config) (*verrors.Reporter, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	r, err := verrors.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	return r, logs
}

func flush(t *testing.T, r *verrors.Reporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !r.Flush(ctx) {
		t.Fatal("Flush timed out")
	}
}

var errNotFound = stderrors.New("not found")

func TestCaptureSendsExceptionChain(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, logs := newReporter(t, verrors.Config{DSN: srv.DSN(), Service: "checkout", Release: "v1.2.3", Environment: "test"})

	err := fmt.Errorf("load order 42: %w", stderrors.Join(fmt.Errorf("db: %w", errNotFound), stderrors.New("cache miss")))
	id := captureHere(r, err)
	if len(id) != 32 {
		t.Fatalf("event id %q, want 32 hex characters", id)
	}
	ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]

	if string(ev.EventID) != id {
		t.Errorf("event id %q, Capture returned %q", ev.EventID, id)
	}
	// The server name is the host, so one can tell which instance failed.
	host, _ := os.Hostname()
	if ev.Release != "v1.2.3" || ev.Environment != "test" || ev.ServerName != host || ev.Tags["service"] != "checkout" {
		t.Errorf("release/environment/server/service = %q %q %q %q", ev.Release, ev.Environment, ev.ServerName, ev.Tags["service"])
	}
	if ev.Level != sentry.LevelError {
		t.Errorf("level %q, want error", ev.Level)
	}
	// Sentry wants the outermost error last; the chain is walked depth first.
	want := []struct{ typ, value string }{
		{"*errors.errorString", "cache miss"},
		{"*errors.errorString", "not found"},
		{"*fmt.wrapError", "db: not found"},
		{"*errors.joinError", "db: not found\ncache miss"},
		{"*fmt.wrapError", err.Error()},
	}
	if len(ev.Exception) != len(want) {
		t.Fatalf("got %d exceptions, want %d: %+v", len(ev.Exception), len(want), ev.Exception)
	}
	for i, w := range want {
		if got := ev.Exception[i]; got.Type != w.typ || got.Value != w.value {
			t.Errorf("exception %d = %s %q, want %s %q", i, got.Type, got.Value, w.typ, w.value)
		}
	}
	join := ev.Exception[3]
	if join.Mechanism == nil || !join.Mechanism.IsExceptionGroup || join.Mechanism.ParentID == nil || *join.Mechanism.ParentID != 0 {
		t.Errorf("join mechanism %+v: want an exception group whose parent is exception 0", join.Mechanism)
	}
	main := ev.Exception[4]
	if main.Stacktrace == nil || len(main.Stacktrace.Frames) == 0 {
		t.Fatal("main exception has no stack trace")
	}
	last := main.Stacktrace.Frames[len(main.Stacktrace.Frames)-1]
	if last.Function != "captureHere" || !last.InApp || last.Module != "github.com/vigil-go/vigil/errors_test" || last.Lineno == 0 {
		t.Errorf("innermost frame %+v: want captureHere, in app", last)
	}
	for _, f := range main.Stacktrace.Frames {
		if strings.HasPrefix(f.Module, "github.com/vigil-go/vigil/errors") && f.Module != "github.com/vigil-go/vigil/errors_test" {
			t.Errorf("frame of the errors package itself in the trace: %+v", f)
		}
	}

	lines := logs.Lines(t)
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1", len(lines))
	}
	l := lines[0]
	if l["level"] != "ERROR" || l["event_id"] != id || l["error"] != err.Error() || l["error_type"] != "*fmt.wrapError" {
		t.Errorf("log line %v", l)
	}
	if s, _ := l["stack"].(string); !strings.Contains(s, "errors_test.captureHere") {
		t.Errorf("log stack %q lacks the capture site", s)
	}
}

//go:noinline
func captureHere(r *verrors.Reporter, err error) string { return r.Capture(context.Background(), err) }

func TestCaptureRequestContext(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, _ := newReporter(t, verrors.Config{DSN: srv.DSN()})

	req := httptest.NewRequest("POST", "http://user:hunter2@shop.example/orders/7?token=tok-secret-1&page=2", nil)
	req.Header.Set("Authorization", "Bearer bearer-secret-2")
	req.Header.Set("X-Auth-Token", "xauth-secret-3")
	req.Header.Set("X-Amz-Security-Token", "amz-secret-4")
	req.Header.Set("Cookie", "session=cookie-secret-5")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("Accept", "application/json")

	ctx := verrors.WithRequest(context.Background(), req)
	ctx = ctxattrs.With(ctx, slog.String("request_id", "req-1"), slog.String("route", "POST /orders/{id}"), slog.String("tenant", "acme"))
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	ctx = verrors.SetUser(ctx, verrors.User{ID: "u-7", Data: map[string]string{"plan": "gold", "api_key": "user-secret-6"}})

	r.Capture(ctx, stderrors.New("payment declined"), slog.Int("amount", 12), slog.String("password", "attr-secret-7"))
	ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]

	// Tags stay low-cardinality: the per-event ids are in contexts.
	if ev.Tags["route"] != "POST /orders/{id}" || ev.Tags["request_id"] != "" || ev.Tags["trace_id"] != "" {
		t.Errorf("tags %v, want route only of these", ev.Tags)
	}
	if got := ev.Contexts["attributes"]["request_id"]; got != "req-1" {
		t.Errorf("attributes.request_id = %v", got)
	}
	if tc := ev.Contexts["trace"]; tc["trace_id"] != tid.String() || tc["span_id"] != sid.String() || tc["op"] != "http.server" {
		t.Errorf("trace context %v", tc)
	}
	if ev.Transaction != "POST /orders/{id}" {
		t.Errorf("transaction %q", ev.Transaction)
	}
	q := ev.Request
	if q == nil {
		t.Fatal("no request data")
	}
	if q.Method != "POST" || q.URL != "http://shop.example/orders/7" || q.QueryString != "token=[REDACTED]&page=2" {
		t.Errorf("request %s %s ? %s", q.Method, q.URL, q.QueryString)
	}
	for _, h := range []string{"Authorization", "X-Auth-Token", "X-Amz-Security-Token", "Cookie"} {
		if q.Headers[h] != "[REDACTED]" {
			t.Errorf("header %s = %q, want redacted", h, q.Headers[h])
		}
	}
	if q.Headers["Accept"] != "application/json" {
		t.Errorf("Accept header %q", q.Headers["Accept"])
	}
	if _, ok := q.Headers["X-Forwarded-For"]; ok {
		t.Error("client IP header sent without SendDefaultPII")
	}
	if ev.User.ID != "u-7" || ev.User.Data["plan"] != "gold" || ev.User.Data["api_key"] != "[REDACTED]" {
		t.Errorf("user %+v", ev.User)
	}
	attrs := ev.Contexts["attributes"]
	if attrs["amount"] != float64(12) || attrs["tenant"] != "acme" || attrs["password"] != "[REDACTED]" {
		t.Errorf("attributes %v", attrs)
	}

	for _, body := range srv.RawBodies() {
		for _, secret := range []string{"hunter2", "tok-secret-1", "bearer-secret-2", "xauth-secret-3", "amz-secret-4", "cookie-secret-5", "user-secret-6", "attr-secret-7", "203.0.113.9"} {
			if bytes.Contains(body, []byte(secret)) {
				t.Errorf("secret %q reached Sentry", secret)
			}
		}
	}
}

func TestCapturePanicStack(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, logs := newReporter(t, verrors.Config{DSN: srv.DSN()})

	tests := []struct {
		name, fn string
		do       func()
	}{
		{"panic(string)", "explode", explode},
		{"nil map write", "writeNil", writeNil},
		{"panic(error)", "explodeErr", explodeErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var id string
			func() {
				defer func() {
					if p := recover(); p != nil {
						id = r.Capture(context.Background(), p)
					}
				}()
				tc.do()
			}()
			flush(t, r)
			var ev *sentry.Event
			for _, e := range srv.Events() {
				if string(e.EventID) == id {
					ev = e
				}
			}
			if ev == nil {
				t.Fatalf("event %q not received", id)
			}
			main := ev.Exception[len(ev.Exception)-1]
			if main.Stacktrace == nil {
				t.Fatal("no stack trace")
			}
			frames := main.Stacktrace.Frames
			if last := frames[len(frames)-1]; last.Function != tc.fn {
				t.Errorf("innermost frame %s.%s, want the panicking %s", last.Module, last.Function, tc.fn)
			}
			for _, f := range frames {
				if f.Module == "runtime" {
					t.Errorf("runtime frame %s kept in a panic trace", f.Function)
				}
			}
			if ev.Level != sentry.LevelFatal || ev.Tags["panic"] != "true" {
				t.Errorf("level %q, panic tag %q", ev.Level, ev.Tags["panic"])
			}
			if m := main.Mechanism; m == nil || m.Type != "panic" || m.Handled == nil || *m.Handled {
				t.Errorf("mechanism %+v, want unhandled panic", m)
			}
		})
	}
	for _, l := range logs.Lines(t) {
		if l["msg"] != "panic recovered" || l["panic"] != true {
			t.Errorf("log line %v", l)
		}
	}
}

//go:noinline
func explode() { panic("boom") }

//go:noinline
func writeNil() {
	var m map[string]int
	//lint:ignore SA5000 the runtime panic is what this test captures
	m["x"] = 1
}

//go:noinline
func explodeErr() { panic(fmt.Errorf("wrapped: %w", errNotFound)) }

// stackErr carries its own stack the way github.com/pkg/errors does.
type stackErr struct {
	msg string
	pcs []uintptr
}

type frame uintptr

type stackTrace []frame

func (e *stackErr) Error() string { return e.msg }
func (e *stackErr) StackTrace() stackTrace {
	st := make(stackTrace, len(e.pcs))
	for i, pc := range e.pcs {
		st[i] = frame(pc)
	}
	return st
}

//go:noinline
func makeErr() error {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(1, pcs)
	return &stackErr{msg: "made", pcs: pcs[:n]}
}

func TestCaptureUsesTheErrorsOwnStack(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, logs := newReporter(t, verrors.Config{DSN: srv.DSN()})
	r.Capture(context.Background(), fmt.Errorf("outer: %w", makeErr()))
	ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]
	if len(ev.Exception) != 2 {
		t.Fatalf("%d exceptions", len(ev.Exception))
	}
	inner := ev.Exception[0]
	if inner.Stacktrace == nil || inner.Stacktrace.Frames[len(inner.Stacktrace.Frames)-1].Function != "makeErr" {
		t.Errorf("inner exception stack %+v, want it to end in makeErr", inner.Stacktrace)
	}
	if ev.Exception[1].Stacktrace != nil {
		t.Error("outer exception got the capture site stack although the chain carries its own")
	}
	if s, _ := logs.Lines(t)[0]["stack"].(string); !strings.HasPrefix(s, "github.com/vigil-go/vigil/errors_test.makeErr") {
		t.Errorf("log stack %q, want the error's own", s)
	}
}

func TestNoDSNLogsEverything(t *testing.T) {
	r, logs := newReporter(t, verrors.Config{})
	if id := r.Capture(context.Background(), "plain message", slog.String("job", "nightly")); id != "" {
		t.Errorf("event id %q without a DSN", id)
	}
	if id := r.Capture(context.Background(), nil); id != "" {
		t.Error("nil capture returned an id")
	}
	lines := logs.Lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1 (nil is a no-op)", len(lines))
	}
	l := lines[0]
	if l["level"] != "ERROR" || l["error"] != "plain message" || l["job"] != "nightly" || l["stack"] == "" {
		t.Errorf("line %v", l)
	}
	if _, ok := l["event_id"]; ok {
		t.Error("event_id logged although nothing was sent")
	}
	if r.Shutdown(context.Background()) != nil {
		t.Error("Shutdown without a DSN failed")
	}
}

func TestHangingEndpointNeverBlocks(t *testing.T) {
	// Registered first, so it runs after the server's own cleanup has closed it.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	srv := sentrytest.NewServer(t)
	srv.Hang()
	logs := &logBuffer{}
	r, err := verrors.New(verrors.Config{DSN: srv.DSN(), QueueSize: 4, DedupWindow: -1, MaxEventsPerSecond: -1,
		Timeout: time.Minute, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// The server never answers and the timeout is a minute: a Capture that waited on the
	// network would block, and so would a Shutdown that ignored its context. How close to
	// its deadline Shutdown returns is TestShutdownReturnsAtDeadline's, in fake time.
	start := time.Now()
	for i := range 50 {
		r.Capture(context.Background(), fmt.Errorf("failure %d", i))
	}
	if d := time.Since(start); d > envtest.Blocked {
		t.Errorf("50 captures against a hanging Sentry took %v: Capture waited on the network", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = r.Shutdown(ctx)
	if d := time.Since(start); d > 200*time.Millisecond+envtest.Blocked {
		t.Errorf("Shutdown returned after %v, deadline was 200ms: it waited on the network", d)
	}
	if !stderrors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown error %v, want deadline exceeded", err)
	}
	s := r.Stats()
	if s.QueueFull == 0 || s.Captured != 50 {
		t.Errorf("stats %+v: want queue drops counted", s)
	}
	if n := len(logs.Lines(t)); n != 50 {
		t.Errorf("%d log lines, want 50", n)
	}
}

func TestStormIsDeduplicated(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, _ := newReporter(t, verrors.Config{DSN: srv.DSN(), Logger: slog.New(slog.DiscardHandler)})
	err := stderrors.New("connection refused")
	ids := map[string]int{}
	for range 10000 {
		ids[r.Capture(context.Background(), err)]++
	}
	flush(t, r)
	if n := len(srv.Events()); n != 1 {
		t.Errorf("%d events for 10000 identical errors, want 1", n)
	}
	if len(ids) != 1 {
		t.Errorf("identical errors returned %d distinct ids, want the one sent", len(ids))
	}
	if s := r.Stats(); s.Deduplicated != 9999 || s.Sent != 1 {
		t.Errorf("stats %+v", s)
	}
}

// changingErr is one error value whose text changes between captures.
type changingErr struct{ msg *string }

func (e changingErr) Error() string { return *e.msg }

// Capturing the same error value again reads its text again: the log line and the event
// carry the current text, scrubbed, even though a repeated text is scrubbed only once.
func TestCaptureRereadsTheText(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, logs := newReporter(t, verrors.Config{DSN: srv.DSN(), DedupWindow: -1, MaxEventsPerSecond: -1})
	msg := "charge failed: token=first-secret-1"
	err := changingErr{&msg}
	texts := []string{msg, msg, "refund failed: password=second-secret-2", "refund failed: password=second-secret-2"}
	for _, m := range texts {
		msg = m
		r.Capture(context.Background(), err)
	}
	flush(t, r)
	out := logs.String()
	for _, want := range []string{`"error":"charge failed: token=[REDACTED]"`, `"error":"refund failed: password=[REDACTED]"`} {
		if strings.Count(out, want) != 2 {
			t.Errorf("want two lines with %s in:\n%s", want, out)
		}
	}
	evs := srv.Events()
	if len(evs) != len(texts) {
		t.Fatalf("%d events, want %d", len(evs), len(texts))
	}
	for i, ev := range evs {
		got := ev.Exception[len(ev.Exception)-1].Value
		if want := map[bool]string{true: "charge failed: token=[REDACTED]", false: "refund failed: password=[REDACTED]"}[i < 2]; got != want {
			t.Errorf("event %d: %q, want %q", i, got, want)
		}
	}
	if raw := string(bytes.Join(srv.RawBodies(), nil)); strings.Contains(raw, "-secret-") || strings.Contains(out, "-secret-") {
		t.Errorf("a secret left the process")
	}
}

func TestRateLimitedBySentry(t *testing.T) {
	srv := sentrytest.NewServer(t)
	srv.RateLimit(map[string]string{"Retry-After": "60"})
	r, _ := newReporter(t, verrors.Config{DSN: srv.DSN(), Logger: slog.New(slog.DiscardHandler)})
	r.Capture(context.Background(), stderrors.New("first"))
	flush(t, r)
	r.Capture(context.Background(), stderrors.New("second"))
	flush(t, r)
	if n := srv.Requests(); n != 1 {
		t.Errorf("%d requests, want 1: Retry-After must hold back the second event", n)
	}
	if s := r.Stats(); s.RateLimited != 2 || s.Sent != 0 {
		t.Errorf("stats %+v, want 2 rate limited", s)
	}
}

func TestBeforeSendRunsBeforeScrubbing(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, _ := newReporter(t, verrors.Config{DSN: srv.DSN(), Logger: slog.New(slog.DiscardHandler),
		BeforeSend: func(ev *sentry.Event, h *sentry.EventHint) *sentry.Event {
			if h.OriginalException != nil && h.OriginalException.Error() == "drop me" {
				return nil
			}
			ev.Tags["api_key"] = "hook-secret"
			ev.Tags["team"] = "payments"
			return ev
		}})
	r.Capture(context.Background(), stderrors.New("drop me"))
	r.Capture(context.Background(), stderrors.New("keep me"))
	ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]
	flush(t, r)
	if ev.Tags["api_key"] != "[REDACTED]" || ev.Tags["team"] != "payments" {
		t.Errorf("tags %v", ev.Tags)
	}
	if s := r.Stats(); s.DroppedByHook != 1 || s.Sent != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestBridge(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, _ := newReporter(t, verrors.Config{DSN: srv.DSN()})
	logger := slog.New(r.Handler()).With("component", "billing")
	ctx := verrors.WithRequest(context.Background(), httptest.NewRequest("GET", "/invoices", nil))

	logger.InfoContext(ctx, "loading invoice", "invoice", 9, "session_id", "crumb-secret")
	logger.WarnContext(ctx, "slow query", slog.Duration("took", time.Second))
	logger.ErrorContext(ctx, "invoice failed", "error", errNotFound, "invoice", 9)
	logger.Info("outside a request") // no scope: ignored

	ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]
	if ev.Message != "invoice failed" || len(ev.Exception) != 1 || ev.Exception[0].Value != "not found" {
		t.Errorf("message %q exceptions %+v", ev.Message, ev.Exception)
	}
	if a := ev.Contexts["attributes"]; a["invoice"] != float64(9) || a["component"] != "billing" || a["error"] != nil {
		t.Errorf("attributes %v", a)
	}
	if len(ev.Breadcrumbs) != 2 {
		t.Fatalf("%d breadcrumbs, want 2", len(ev.Breadcrumbs))
	}
	b := ev.Breadcrumbs[0]
	if b.Message != "loading invoice" || b.Level != sentry.LevelInfo || b.Data["invoice"] != float64(9) || b.Data["session_id"] != "[REDACTED]" {
		t.Errorf("breadcrumb %+v", b)
	}
	if ev.Breadcrumbs[1].Level != sentry.LevelWarning || ev.Breadcrumbs[1].Data["took"] != "1s" {
		t.Errorf("breadcrumb %+v", ev.Breadcrumbs[1])
	}
	frames := ev.Exception[0].Stacktrace.Frames
	if last := frames[len(frames)-1]; last.Function != "TestBridge" {
		t.Errorf("innermost frame %s, want the logging call site", last.Function)
	}
}

func TestWithRequestIsCheap(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = verrors.WithRequest(ctx, req) }); n > 1 {
		t.Errorf("WithRequest allocates %v times, want 1", n)
	}
}

// TestConfigErrors checks the fields alone; the SENTRY_* and VIGIL_SENTRY_* variables
// that fill them are package observe's (TestSettingsEveryVariable there).
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     verrors.Config
		want    []string
		notWant string
	}{
		{"bad DSN", verrors.Config{DSN: "https://abcdef123456@/42"}, []string{`errors: DSN="https://abcd****@/42"`, "empty host"}, "abcdef123456"},
		{"unparseable DSN", verrors.Config{DSN: "https://abcdef:s3cr3t@host:port/1"}, []string{`errors: DSN=`, "not a URL"}, "s3cr3t"},
		{"DSN without @", verrors.Config{DSN: "s3cr3t"}, []string{`errors: DSN="****"`}, "s3cr3t"},
		{"sample rate", verrors.Config{SampleRate: 1.5}, []string{`errors: SampleRate="1.5"`}, ""},
		{"queue", verrors.Config{QueueSize: -1}, []string{`errors: QueueSize="-1"`}, ""},
		{"timeout", verrors.Config{Timeout: -time.Second}, []string{`errors: Timeout="-1s"`}, ""},
		{"empty redact key", verrors.Config{RedactKeys: []string{""}}, []string{`errors: RedactKeys[0]`}, ""},
		{"empty allow key", verrors.Config{AllowKeys: []string{" "}}, []string{`errors: AllowKeys[0]`}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verrors.New(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("error %q shows the secret %q", err, tc.notWant)
			}
		})
	}
}
