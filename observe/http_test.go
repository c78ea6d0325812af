package observe_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/middleware"
	"github.com/vigil-go/vigil/observe"
)

// keptExporter keeps the spans across Shutdown (InMemoryExporter forgets them).
type keptExporter struct{ *tracetest.InMemoryExporter }

func (keptExporter) Shutdown(context.Context) error { return nil }

// TestHTTPEndToEnd follows 200, 404, 500 and panic requests through one Observer and
// checks that the span, the access-log line, the metric exemplar and the Sentry event of
// each request share one trace id and one request id.
func TestHTTPEndToEnd(t *testing.T) {
	clearEnv(t)
	sentrySrv := sentrytest.NewServer(t)
	exp := tracetest.NewInMemoryExporter()
	logs := &syncBuffer{}
	cfg := quiet(logs)
	cfg.Service = "shop"
	cfg.Tracing.Exporter = ""
	cfg.Tracing.SpanExporter = keptExporter{exp}
	cfg.Errors.DSN = sentrySrv.DSN()
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "order")
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		o.Capture(r.Context(), errors.New("database down"))
		http.Error(w, "unavailable", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		panic("nil map write")
	})
	srv := httptest.NewServer(o.Middleware(mux))
	defer srv.Close()

	cases := []struct {
		path, route string
		status      int
		event       bool
	}{
		{"/orders/42?session=abc", "/orders/{id}", 200, false},
		{"/missing", "unmatched", 404, false},
		{"/fail", "/fail", 500, true},
		{"/panic", "/panic", 500, true},
	}
	ids := map[string]string{} // route -> request id
	for _, c := range cases {
		resp, err := srv.Client().Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.path, resp.StatusCode, c.status)
		}
		ids[c.route] = resp.Header.Get("X-Request-ID")
	}
	events := sentrySrv.WaitForEvents(t, 2, 10*time.Second)
	if err := o.Tracing().ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	traceOf := map[string]string{} // request id -> trace id, from the spans
	for _, sp := range exp.GetSpans() {
		for _, a := range sp.Attributes {
			if a.Key == "request_id" {
				traceOf[a.Value.AsString()] = sp.SpanContext.TraceID().String()
			}
		}
	}
	access := map[string]map[string]any{}
	for _, l := range logs.Lines(t) {
		if l["msg"] == "http request" {
			access[l["request_id"].(string)] = l
		}
	}
	eventOf := map[string]*sentry.Event{}
	for _, ev := range events {
		id, _ := ev.Contexts["attributes"]["request_id"].(string)
		eventOf[id] = ev
	}
	exemplars := durationExemplars(t, o)

	for _, c := range cases {
		id := ids[c.route]
		traceID := traceOf[id]
		if id == "" || traceID == "" {
			t.Fatalf("%s: request id %q has no span", c.path, id)
		}
		l := access[id]
		if l == nil || l["trace_id"] != traceID || l["route"] != c.route || l["http.response.status_code"] != float64(c.status) {
			t.Errorf("%s: access line %v, want trace %s route %s", c.path, l, traceID, c.route)
		}
		if !strings.Contains(strings.Join(exemplars[c.route], ","), traceID) {
			t.Errorf("%s: no exemplar with trace %s among %v", c.path, traceID, exemplars[c.route])
		}
		ev := eventOf[id]
		if (ev != nil) != c.event {
			t.Fatalf("%s: event %v, want one: %v", c.path, ev != nil, c.event)
		}
		if ev == nil {
			continue
		}
		if ev.Contexts["trace"]["trace_id"] != traceID || ev.Tags["route"] != c.route {
			t.Errorf("%s: event tags %v, want trace %s route %s", c.path, ev.Tags, traceID, c.route)
		}
		if ev.Request == nil || ev.Request.Method != "GET" || !strings.HasSuffix(ev.Request.URL, c.path) {
			t.Errorf("%s: event request %+v", c.path, ev.Request)
		}
	}
	if l := access[ids["/orders/{id}"]]; l["url.query"] != "session=[REDACTED]" {
		t.Errorf("query not redacted in the access line: %v", l["url.query"])
	}
}

// durationExemplars returns the exemplar trace ids of the duration histogram by route.
func durationExemplars(t *testing.T, o *observe.Observer) map[string][]string {
	t.Helper()
	fams, err := o.Registry().Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range fams {
		if f.GetName() != middleware.MetricServerDuration {
			continue
		}
		for _, m := range f.GetMetric() {
			route := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "http_route" {
					route = l.GetValue()
				}
			}
			for _, b := range m.GetHistogram().GetBucket() {
				for _, l := range b.GetExemplar().GetLabel() {
					if l.GetName() == "trace_id" {
						out[route] = append(out[route], l.GetValue())
					}
				}
			}
		}
	}
	return out
}

func TestHTTPConfigEnv(t *testing.T) {
	tests := []struct {
		name, key, val string
		wantErr        string
		check          func(t *testing.T, o *observe.Observer, logs *syncBuffer)
	}{
		{name: "bad bool", key: observe.EnvHTTPMetricsOnly, val: "maybe", wantErr: `VIGIL_HTTP_METRICS_ONLY="maybe"`},
		{name: "bad skip", key: observe.EnvHTTPSkip, val: "/ok,healthz", wantErr: `VIGIL_HTTP_SKIP="/ok,healthz"`},
		{name: "bad header", key: observe.EnvHTTPRequestIDHeader, val: "X Id", wantErr: `VIGIL_HTTP_REQUEST_ID_HEADER="X Id"`},
		{name: "skip", key: observe.EnvHTTPSkip, val: "/ping", check: func(t *testing.T, o *observe.Observer, logs *syncBuffer) {
			serveOnce(o, "/ping")
			if n := countAccess(t, logs); n != 0 {
				t.Errorf("/ping logged %d times", n)
			}
		}},
		{name: "no access log", key: observe.EnvHTTPAccessLog, val: "false", check: func(t *testing.T, o *observe.Observer, logs *syncBuffer) {
			serveOnce(o, "/x")
			if n := countAccess(t, logs); n != 0 {
				t.Errorf("access log written %d times", n)
			}
		}},
		{name: "metrics only", key: observe.EnvHTTPMetricsOnly, val: "true", check: func(t *testing.T, o *observe.Observer, logs *syncBuffer) {
			if rec := serveOnce(o, "/x"); rec.Header().Get("X-Request-ID") != "" || countAccess(t, logs) != 0 {
				t.Errorf("metrics-only mode did more than metrics")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.key, tt.val)
			logs := &syncBuffer{}
			o, err := observe.New(context.Background(), quiet(logs))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to name %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer o.Shutdown(context.Background())
			tt.check(t, o, logs)
		})
	}
}

func serveOnce(o *observe.Observer, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	o.Middleware(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func countAccess(t *testing.T, logs *syncBuffer) int {
	n := 0
	for _, l := range logs.Lines(t) {
		if l["msg"] == "http request" {
			n++
		}
	}
	return n
}
