package middleware_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/middleware"
)

// demoMux is the application the tests instrument.
func demoMux(t testing.TB) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":"`+r.PathValue("id")+`"}`)
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database down", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100") // must not leak into the 500
		panic("boom")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestServer(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantRoute, wantSpan        string
		wantLevel                  string
		wantCapture                bool
		wantSpanError              bool
	}{
		{name: "ok", method: "GET", target: "/orders/42?token=s3cret&page=2", wantStatus: 200,
			wantRoute: "/orders/{id}", wantSpan: "GET /orders/{id}", wantLevel: "INFO"},
		{name: "created with body", method: "POST", target: "/orders", body: `{"sku":"a"}`, wantStatus: 201,
			wantRoute: "/orders", wantSpan: "POST /orders", wantLevel: "INFO"},
		{name: "not found", method: "GET", target: "/nope/123", wantStatus: 404,
			wantRoute: "unmatched", wantSpan: "GET", wantLevel: "WARN"},
		{name: "server error", method: "GET", target: "/fail", wantStatus: 500,
			wantRoute: "/fail", wantSpan: "GET /fail", wantLevel: "ERROR", wantSpanError: true},
		{name: "panic", method: "GET", target: "/panic", wantStatus: 500,
			wantRoute: "/panic", wantSpan: "GET /panic", wantLevel: "ERROR", wantCapture: true, wantSpanError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, nil)
			srv := s.h.Handler(demoMux(t))
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			req.Header.Set("User-Agent", "test-agent/1.0")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			id := rec.Header().Get("X-Request-ID")
			if !generatedID.MatchString(id) {
				t.Fatalf("X-Request-ID = %q, want a generated 32-hex id", id)
			}

			// Metrics: one duration series with bounded labels.
			dur := gather(t, s.reg, middleware.MetricServerDuration)
			want := serverLabels(tt.method, tt.wantRoute, strconv.Itoa(tt.wantStatus))
			if n, ok := find(dur, want); !ok || n != 1 {
				t.Fatalf("duration series %v: count %v, found %v; have %v", want, n, ok, dur)
			}
			if len(dur) != 1 {
				t.Fatalf("want exactly one duration series, have %v", dur)
			}
			reqSize := gather(t, s.reg, middleware.MetricServerReqSize)
			if _, ok := find(reqSize, want); !ok {
				t.Fatalf("request size series missing: %v", reqSize)
			}
			if v, ok := find(gather(t, s.reg, middleware.MetricServerActive), map[string]string{"http_request_method": tt.method}); !ok || v != 0 {
				t.Fatalf("active requests = %v (found %v), want 0 after the request", v, ok)
			}

			// Span.
			spans := s.exp.GetSpans().Snapshots()
			if len(spans) != 1 {
				t.Fatalf("spans = %d, want 1", len(spans))
			}
			sp := spans[0]
			if sp.Name() != tt.wantSpan || sp.SpanKind() != trace.SpanKindServer {
				t.Errorf("span = %q kind %v, want %q server", sp.Name(), sp.SpanKind(), tt.wantSpan)
			}
			a := attrs(sp)
			for k, v := range map[attribute.Key]string{
				"http.request.method": tt.method, "http.route": tt.wantRoute, "url.scheme": "http",
				"server.address": "example.com", "user_agent.original": "test-agent/1.0",
				"network.protocol.version": "1.1", "client.address": "192.0.2.1", "request_id": id,
			} {
				if got := a[k].AsString(); got != v {
					t.Errorf("span attribute %s = %q, want %q", k, got, v)
				}
			}
			if got := a["http.response.status_code"].AsInt64(); got != int64(tt.wantStatus) {
				t.Errorf("span status code = %d", got)
			}
			if q, ok := a["url.query"]; ok && strings.Contains(q.AsString(), "s3cret") {
				t.Errorf("url.query leaks the token: %q", q.AsString())
			}
			if gotErr := sp.Status().Code == codes.Error; gotErr != tt.wantSpanError {
				t.Errorf("span status = %v, want error %v", sp.Status(), tt.wantSpanError)
			}

			// Access log: one line, same request and trace ids.
			lines := accessLines(t, s.logs)
			if len(lines) != 1 {
				t.Fatalf("access lines = %d, want 1: %v", len(lines), s.logs.Lines(t))
			}
			l := lines[0]
			for k, v := range map[string]any{
				"level": tt.wantLevel, "http.request.method": tt.method, "route": tt.wantRoute,
				"http.response.status_code": float64(tt.wantStatus), "request_id": id,
				"user_agent.original": "test-agent/1.0", "client.address": "192.0.2.1",
				"network.protocol.version": "1.1", "trace_id": sp.SpanContext().TraceID().String(),
				"span_id": sp.SpanContext().SpanID().String(), "http.request.body.size": float64(len(tt.body)),
				"http.response.body.size": float64(rec.Body.Len()),
			} {
				if l[k] != v {
					t.Errorf("log %s = %v, want %v (line %v)", k, l[k], v, l)
				}
			}
			if path, _ := l["url.path"].(string); path != strings.SplitN(tt.target, "?", 2)[0] {
				t.Errorf("log path = %q", path)
			}
			if q, ok := l["url.query"]; ok && q != "token=[REDACTED]&page=2" {
				t.Errorf("log query = %v, want the token redacted", q)
			}
			if d, _ := l["duration_ms"].(float64); d <= 0 {
				t.Errorf("log duration_ms = %v", l["duration_ms"])
			}

			// Capture: panics only, with the request scope.
			if got := s.cap.count(); (got == 1) != tt.wantCapture {
				t.Fatalf("captures = %d, want %v", got, tt.wantCapture)
			}
			if tt.wantCapture {
				if s.cap.ids[0] != id || s.cap.routes[0] != tt.wantRoute || s.cap.values[0] != "boom" {
					t.Errorf("capture = %v id %q route %q", s.cap.values[0], s.cap.ids[0], s.cap.routes[0])
				}
				if l["panic"] != true {
					t.Errorf("access line lacks panic=true: %v", l)
				}
				if rec.Header().Get("Content-Length") == "100" {
					t.Errorf("the 500 kept the handler's Content-Length")
				}
				if sp.Events()[0].Name != "exception" {
					t.Errorf("span events = %v", sp.Events())
				}
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		inbound string
		keep    bool
	}{
		{"abc-123_x.y:z", true},
		{strings.Repeat("a", 64), true},
		{long, false},
		{"has space", false},
		{`"quote"`, false},
		{"new\nline", false},
		{"", false},
	}
	s := newStack(t, nil)
	var seen = map[string]bool{}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/orders/1", nil)
		if tt.inbound != "" {
			req.Header["X-Request-Id"] = []string{tt.inbound}
		}
		rec := httptest.NewRecorder()
		var inCtx string
		s.h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inCtx = middleware.RequestID(r.Context())
		})).ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if got != inCtx {
			t.Errorf("echoed %q but the context has %q", got, inCtx)
		}
		if tt.keep && got != tt.inbound {
			t.Errorf("inbound %q replaced by %q", tt.inbound, got)
		}
		if !tt.keep && !generatedID.MatchString(got) {
			t.Errorf("inbound %q: got %q, want a generated id", tt.inbound, got)
		}
		if !tt.keep {
			if seen[got] {
				t.Errorf("generated id %q twice", got)
			}
			seen[got] = true
		}
	}
}

func TestContinuesIncomingTrace(t *testing.T) {
	s := newStack(t, nil)
	req := httptest.NewRequest("GET", "/orders/7", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	s.h.Handler(demoMux(t)).ServeHTTP(httptest.NewRecorder(), req)
	sp := s.exp.GetSpans().Snapshots()[0]
	if got := sp.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id = %s, want the caller's", got)
	}
	if got := sp.Parent().SpanID().String(); got != "00f067aa0ba902b7" || !sp.Parent().IsRemote() {
		t.Errorf("parent = %v, want the remote caller span", sp.Parent())
	}
}

func TestSkipList(t *testing.T) {
	for _, tt := range []struct {
		name  string
		skip  []string
		path  string
		quiet bool
	}{
		{"default skips healthz", nil, "/healthz", true},
		{"default keeps orders", nil, "/orders/1", false},
		{"custom", []string{"/orders/1"}, "/orders/1", true},
		{"none", []string{}, "/healthz", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, func(c *middleware.HTTPConfig) { c.Skip = tt.skip })
			s.h.Handler(demoMux(t)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tt.path, nil))
			spans, lines := len(s.exp.GetSpans()), len(accessLines(t, s.logs))
			if quiet := spans == 0 && lines == 0; quiet != tt.quiet {
				t.Errorf("spans %d, access lines %d; want quiet=%v", spans, lines, tt.quiet)
			}
			if len(gather(t, s.reg, middleware.MetricServerDuration)) != 1 {
				t.Errorf("skipped request not counted")
			}
		})
	}
}

// Lines the handler logs with the request context carry the route and request id,
// although the context was built before the mux routed.
func TestHandlerLogLinesCarryRoute(t *testing.T) {
	s := newStack(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.logger.InfoContext(r.Context(), "looking up user")
	})
	s.h.Handler(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/ann", nil))
	lines := s.logs.Lines(t)
	if len(lines) != 2 {
		t.Fatalf("lines = %v", lines)
	}
	app, access := lines[0], lines[1]
	if app["msg"] != "looking up user" || app["route"] != "/users/{name}" || app["request_id"] != access["request_id"] ||
		app["trace_id"] != access["trace_id"] || app["trace_id"] == nil {
		t.Errorf("handler line %v does not share route, request and trace ids with %v", app, access)
	}
}

func TestMetricsOnly(t *testing.T) {
	s := newStack(t, func(c *middleware.HTTPConfig) { c.MetricsOnly = true })
	srv := s.h.Handler(demoMux(t))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/orders/1", nil))
	if rec.Header().Get("X-Request-ID") != "" || len(s.exp.GetSpans()) != 0 || len(s.logs.Lines(t)) != 0 {
		t.Errorf("metrics-only mode did more than metrics: header %q, %d spans, logs %v",
			rec.Header().Get("X-Request-ID"), len(s.exp.GetSpans()), s.logs.Lines(t))
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("panic = %v, want boom to propagate", r)
			}
		}()
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
	}()
	dur := gather(t, s.reg, middleware.MetricServerDuration)
	for _, want := range []map[string]string{serverLabels("GET", "/orders/{id}", "200"), serverLabels("GET", "/panic", "500")} {
		if n, ok := find(dur, want); !ok || n != 1 {
			t.Errorf("series %v missing; have %v", want, dur)
		}
	}
	if s.cap.count() != 0 {
		t.Errorf("metrics-only mode reported the panic")
	}
}

func TestUnknownMethod(t *testing.T) {
	s := newStack(t, nil)
	s.h.Handler(demoMux(t)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/orders/1", nil))
	if _, ok := find(gather(t, s.reg, middleware.MetricServerDuration), serverLabels("_OTHER", "unmatched", "405")); !ok {
		t.Errorf("want _OTHER/unmatched/405; have %v", gather(t, s.reg, middleware.MetricServerDuration))
	}
	a := attrs(s.exp.GetSpans().Snapshots()[0])
	if a["http.request.method"].AsString() != "_OTHER" || a["http.request.method_original"].AsString() != "BREW" {
		t.Errorf("span method attributes = %v", a)
	}
}

func TestSetRoute(t *testing.T) {
	s := newStack(t, nil)
	h := s.h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !middleware.SetRoute(r.Context(), "/custom/{x}") {
			t.Error("SetRoute found no instrumented request")
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/custom/abc", nil))
	if _, ok := find(gather(t, s.reg, middleware.MetricServerDuration), serverLabels("GET", "/custom/{x}", "200")); !ok {
		t.Errorf("SetRoute not used: %v", gather(t, s.reg, middleware.MetricServerDuration))
	}
	if middleware.SetRoute(context.Background(), "/x") {
		t.Error("SetRoute reported success outside a request")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg  middleware.HTTPConfig
		want string
	}{
		{middleware.HTTPConfig{RequestIDHeader: "X Bad"}, `HTTPConfig.RequestIDHeader = "X Bad"`},
		{middleware.HTTPConfig{Skip: []string{"healthz"}}, `HTTPConfig.Skip[0] = "healthz"`},
		{middleware.HTTPConfig{DurationBuckets: []float64{1, 0.5}}, `HTTPConfig.DurationBuckets = [1 0.5]`},
		{middleware.HTTPConfig{SizeBuckets: []float64{}}, `HTTPConfig.SizeBuckets = []`},
	} {
		_, err := middleware.NewHTTP(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewHTTP error = %v, want it to name %s", err, tt.want)
		}
	}
	var nilErr error
	if _, err := middleware.NewHTTP(middleware.HTTPConfig{}); !errors.Is(err, nilErr) {
		t.Errorf("zero config: %v", err)
	}
}

func TestPanicWithoutCaptureIsLogged(t *testing.T) {
	s := newStack(t, func(c *middleware.HTTPConfig) { c.Capture = nil })
	rec := httptest.NewRecorder()
	s.h.Handler(demoMux(t)).ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	var found bool
	for _, l := range s.logs.Lines(t) {
		if l["msg"] == "panic recovered" {
			found = l["panic"] == "boom" && strings.Contains(l["stack"].(string), "server_test.go") && l["route"] == "/panic"
		}
	}
	if !found {
		t.Errorf("no panic line with value, stack and route: %v", s.logs.Lines(t))
	}
}

// A Capture func that panics must not take the request down with it.
func TestCapturePanicIsContained(t *testing.T) {
	s := newStack(t, func(c *middleware.HTTPConfig) {
		c.Capture = func(context.Context, any, ...slog.Attr) string { panic("reporter bug") }
	})
	rec := httptest.NewRecorder()
	s.h.Handler(demoMux(t)).ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if rec.Code != 500 || len(accessLines(t, s.logs)) != 1 {
		t.Errorf("status %d, access lines %d", rec.Code, len(accessLines(t, s.logs)))
	}
}
