package observe_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/envtest"
	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/observe"
)

// requestContext is what the middleware builds: a request scope, request_id and route
// attributes, and a span.
func requestContext() (context.Context, trace.TraceID) {
	req := httptest.NewRequest("GET", "/orders/7?api_key=k-123", nil)
	ctx := verrors.WithRequest(context.Background(), req)
	ctx = logging.WithAttrs(ctx, slog.String("request_id", "req-9"), slog.String("route", "GET /orders/{id}"))
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	return trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	})), tid
}

func TestCaptureWithoutDSNLogsEverything(t *testing.T) {
	clearEnv(t)
	out := &syncBuffer{}
	o, err := observe.New(context.Background(), quiet(out))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())

	ctx, tid := requestContext()
	if id := o.Capture(ctx, errors.New("card declined"), slog.Int("order", 7)); id != "" {
		t.Errorf("event id %q without a DSN", id)
	}
	lines := out.Lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1", len(lines))
	}
	l := lines[0]
	for k, want := range map[string]any{
		"level": "ERROR", "error": "card declined", "request_id": "req-9", "route": "GET /orders/{id}",
		"trace_id": tid.String(), "span_id": "00f067aa0ba902b7", "order": float64(7),
	} {
		if l[k] != want {
			t.Errorf("%s = %v, want %v (line %v)", k, l[k], want, l)
		}
	}
	if s, _ := l["stack"].(string); !strings.Contains(s, "observe_test.TestCaptureWithoutDSNLogsEverything") {
		t.Errorf("stack %q lacks the capture site", s)
	}
}

func TestCaptureSendsAndCounts(t *testing.T) {
	clearEnv(t)
	srv := sentrytest.NewServer(t)
	out := &syncBuffer{}
	cfg := quiet(out)
	cfg.Service = "checkout"
	cfg.Errors.DSN = srv.DSN()
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())

	ctx, tid := requestContext()
	id := o.Capture(ctx, errors.New("card declined"))
	// The application logger's Error records reach Sentry through the bridge.
	o.Logger().ErrorContext(ctx, "refund failed", "error", errors.New("gateway timeout"))
	evs := srv.WaitForEvents(t, 2, 5*time.Second)

	ev := evs[0]
	// Per-event ids are contexts, not tags (tags stay low-cardinality).
	if string(ev.EventID) != id || ev.Contexts["attributes"]["request_id"] != "req-9" || ev.Contexts["trace"]["trace_id"] != tid.String() || ev.Tags["service"] != "checkout" {
		t.Errorf("event %s tags %v contexts %v", ev.EventID, ev.Tags, ev.Contexts)
	}
	if ev.Tags["request_id"] != "" || ev.Tags["trace_id"] != "" {
		t.Errorf("per-event ids in tags: %v", ev.Tags)
	}
	if ev.Request == nil || ev.Request.QueryString != "api_key=[REDACTED]" {
		t.Errorf("request %+v", ev.Request)
	}
	if evs[1].Message != "refund failed" || evs[1].Exception[0].Value != "gateway timeout" {
		t.Errorf("bridge event %q %+v", evs[1].Message, evs[1].Exception)
	}
	// One capture line plus the application's own record: the bridge does not log again.
	if n := len(out.Lines(t)); n != 2 {
		t.Errorf("%d log lines, want 2", n)
	}

	// The server has the events; wait until the sender has seen the answers too.
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o.Reporter().Flush(fctx)
	want := `
# HELP vigil_errors_captured_total Errors and panics captured (each is also logged).
# TYPE vigil_errors_captured_total counter
vigil_errors_captured_total 2
`
	if err := testutil.GatherAndCompare(o.Registry().Prometheus(), strings.NewReader(want), "vigil_errors_captured_total"); err != nil {
		t.Error(err)
	}
	mfs, err := o.Registry().Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sent := -1.0
	for _, mf := range mfs {
		if mf.GetName() != "vigil_errors_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "sent" {
				sent = m.GetCounter().GetValue()
			}
		}
	}
	if sent != 2 {
		t.Errorf(`vigil_errors_events_total{outcome="sent"} = %v, want 2`, sent)
	}
}

func TestShutdownWithHangingSentryMeetsDeadline(t *testing.T) {
	clearEnv(t)
	srv := sentrytest.NewServer(t)
	srv.Hang()
	cfg := quiet(&syncBuffer{})
	cfg.Errors.DSN = srv.DSN()
	cfg.Errors.Timeout = time.Minute
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 20 {
		o.Capture(context.Background(), errors.New("down"))
	}
	// The server never answers and the timeout is a minute: waiting on it would show.
	if d := time.Since(start); d > envtest.Blocked {
		t.Errorf("captures took %v against a hanging Sentry", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_ = o.Shutdown(ctx)
	if d := time.Since(start); d > 200*time.Millisecond+envtest.Blocked {
		t.Errorf("Shutdown took %v with a 200ms deadline", d)
	}
}

func TestInvalidDSNIsAnInitError(t *testing.T) {
	clearEnv(t)
	cfg := quiet(&syncBuffer{})
	cfg.Errors.DSN = "https://supersecretkey@/1"
	_, err := observe.New(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "Errors.DSN") || strings.Contains(err.Error(), "supersecretkey") {
		t.Errorf("error %v: want Errors.DSN named and the key masked", err)
	}
}
