package observe_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	sentryhttp "github.com/getsentry/sentry-go/http"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/vigil-go/vigil/internal/otlptest"
)

// A program's own sentry-go calls after Init reach the same project through vigil's
// pipeline (scrubbed, counted), and Shutdown gives the hub its previous client back.
func TestSentryHubGoesThroughVigil(t *testing.T) {
	before := sentry.CurrentHub().Client()
	s, cfg := newSinks(t)
	cfg.NoGlobals = false
	o := s.init(cfg)
	if sentry.CurrentHub().Client() == before || sentry.CurrentHub().Client() != o.Reporter().Client() {
		t.Fatal("Init did not bind vigil's client to sentry.CurrentHub()")
	}

	const planted = "pw-planted-7731"
	cases := []struct {
		name    string
		capture func()
		marker  string
	}{
		{"sentry.CaptureException", func() {
			sentry.CaptureException(errors.New("login failed for bob password=" + planted))
		}, "login failed for bob"},
		{"CurrentHub().CaptureMessage", func() {
			sentry.CurrentHub().CaptureMessage("retrying with token=" + planted)
		}, "retrying with"},
		{"hub.Clone in a request", func() {
			hub := sentry.CurrentHub().Clone()
			hub.Scope().SetTag("api_key", planted)
			hub.CaptureException(errors.New("charge declined"))
		}, "charge declined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.capture()
			ev := s.waitEvent(c.marker, func(e *sentry.Event) bool {
				return strings.Contains(e.Message, c.marker) || len(e.Exception) > 0 && strings.Contains(e.Exception[len(e.Exception)-1].Value, c.marker)
			})
			raw := eventText(t, s, string(ev.EventID))
			if strings.Contains(raw, planted) {
				t.Errorf("the planted secret reached Sentry: %s", raw)
			}
			if !strings.Contains(raw, "[REDACTED]") {
				t.Errorf("nothing redacted in %s", raw)
			}
			if len(ev.Modules) == 0 {
				t.Error("no modules: sentry-go's integrations did not run")
			}
		})
	}
	if st := o.Reporter().Stats(); st.Sent < uint64(len(cases)) || st.Captured < uint64(len(cases)) {
		t.Errorf("stats %+v: the hub's events are not counted", st)
	}

	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if sentry.CurrentHub().Client() != before {
		t.Error("Shutdown left vigil's client on the hub")
	}
}

// eventText is the raw envelope that carried the event id.
func eventText(t *testing.T, s *sinks, id string) string {
	t.Helper()
	for _, b := range s.sentry.RawBodies() {
		if strings.Contains(string(b), id) {
			return string(b)
		}
	}
	t.Fatalf("no envelope with event %s", id)
	return ""
}

// With NoGlobals the hub is left alone.
func TestSentryHubNoGlobals(t *testing.T) {
	before := sentry.CurrentHub().Client()
	s, cfg := newSinks(t)
	s.init(cfg) // NoGlobals is set by newSinks
	if sentry.CurrentHub().Client() != before {
		t.Error("Init with NoGlobals bound a client to the hub")
	}
}

// A panic recovered by sentryhttp (inside, re-panicking) and by vigil's middleware
// (outside) is one event, not two.
func TestPanicReportedOnceWithSentryHTTP(t *testing.T) {
	s, cfg := newSinks(t)
	cfg.NoGlobals = false
	o := s.init(cfg)
	boom := errors.New("inventory exploded")
	inner := sentryhttp.New(sentryhttp.Options{Repanic: true}).Handle(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(boom)
	}))
	srv := httptest.NewServer(o.Middleware(inner))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/orders/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d", resp.StatusCode)
	}
	s.waitEvent("the panic", func(e *sentry.Event) bool {
		return len(e.Exception) > 0 && strings.Contains(e.Exception[len(e.Exception)-1].Value, "inventory exploded")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o.Reporter().Flush(ctx)
	n := 0
	for _, e := range s.events() {
		if len(e.Exception) > 0 && strings.Contains(e.Exception[len(e.Exception)-1].Value, "inventory exploded") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d events for one panic, want 1", n)
	}
	if st := o.Reporter().Stats(); st.Deduplicated != 1 {
		t.Errorf("stats %+v, want the second report counted as deduplicated", st)
	}
}

// The trace link: contexts.trace has the parent span and the operation, the
// transaction is "METHOD route", and the span the capture ran in is marked failed.
func TestEventTraceLink(t *testing.T) {
	s, cfg := newSinks(t)
	o := s.start(cfg)
	var spanID, parentID, traceID string
	mux := http.NewServeMux()
	mux.HandleFunc("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		parent := trace.SpanContextFromContext(r.Context())
		ctx, sp := o.Start(r.Context(), "load order")
		defer sp.End()
		sc := trace.SpanContextFromContext(ctx)
		traceID, spanID, parentID = sc.TraceID().String(), sc.SpanID().String(), parent.SpanID().String()
		o.Capture(ctx, errors.New("order not found"))
		w.WriteHeader(http.StatusNotFound)
	})
	srv := httptest.NewServer(o.Middleware(mux))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/orders/7")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ev := s.waitEvent("order not found", func(e *sentry.Event) bool {
		return len(e.Exception) > 0 && e.Exception[0].Value == "order not found"
	})
	tc := ev.Contexts["trace"]
	if tc["trace_id"] != traceID || tc["span_id"] != spanID || tc["parent_span_id"] != parentID || tc["op"] != "http.server" {
		t.Errorf("contexts.trace %v, want trace %s span %s parent %s op http.server", tc, traceID, spanID, parentID)
	}
	if ev.Transaction != "GET /orders/{id}" {
		t.Errorf("transaction %q, want %q", ev.Transaction, "GET /orders/{id}")
	}
	if host, _ := os.Hostname(); ev.ServerName != host {
		t.Errorf("server_name %q, want the host %q", ev.ServerName, host)
	}
	for _, k := range []string{"trace_id", "request_id", "span_id"} {
		if _, ok := ev.Tags[k]; ok {
			t.Errorf("tag %s: per-event ids are not tags (%v)", k, ev.Tags)
		}
	}
	raw := eventText(t, s, string(ev.EventID))
	if !strings.Contains(raw, `"exception":{"values":[`) {
		t.Errorf("exception not in the values form: %s", raw)
	}

	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	for _, sp := range s.spans() {
		if sp.GetName() != "load order" {
			continue
		}
		if sp.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("span status %v, want error", sp.GetStatus())
		}
		var ex []string
		for _, e := range sp.GetEvents() {
			if e.GetName() == "exception" {
				ex = append(ex, otlptest.Attrs(e.GetAttributes())["exception.message"])
			}
		}
		if len(ex) != 1 || ex[0] != "order not found" {
			t.Errorf("span exception events %q, want the error's", ex)
		}
		return
	}
	t.Error("no span \"load order\"")
}

// An event sentryhttp reports inside vigil's middleware is linked to the request's
// OpenTelemetry trace, not to sentry-go's own propagation context.
func TestSentryHTTPEventLinksTheTrace(t *testing.T) {
	s, cfg := newSinks(t)
	cfg.NoGlobals = false
	o := s.init(cfg)
	var traceID string
	inner := sentryhttp.New(sentryhttp.Options{}).Handle(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		traceID = trace.SpanContextFromContext(r.Context()).TraceID().String()
		panic("cart service unreachable")
	}))
	srv := httptest.NewServer(o.Middleware(inner))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/cart")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ev := s.waitEvent("sentryhttp's panic", func(e *sentry.Event) bool {
		return e.Message == "cart service unreachable" || len(e.Exception) > 0 && e.Exception[len(e.Exception)-1].Value == "cart service unreachable"
	})
	if tc := ev.Contexts["trace"]; traceID == "" || tc["trace_id"] != traceID {
		t.Errorf("contexts.trace %v, want trace %s", tc, traceID)
	}
}
