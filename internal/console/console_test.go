package console

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

func TestQuantile(t *testing.T) {
	// 10 requests ≤ 10ms, 10 in (10ms, 100ms], none slower.
	r := routeView{bounds: []float64{0.01, 0.1, math.Inf(1)}, cum: []uint64{10, 20, 20}}
	tests := []struct{ q, want float64 }{{0.5, 0.01}, {0.25, 0.005}, {0.75, 0.055}, {1, 0.1}}
	for _, tt := range tests {
		if got := r.quantile(tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	inf := routeView{bounds: []float64{0.01, math.Inf(1)}, cum: []uint64{0, 5}}
	if got := inf.quantile(0.5); got != 0.01 {
		t.Errorf("in +Inf: %v, want the highest finite bound", got)
	}
	if got := (&routeView{}).quantile(0.5); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

func TestLogRingBounded(t *testing.T) {
	c := New(Options{})
	w := c.LogWriter(io.Discard)
	line := `{"level":"INFO","msg":"` + strings.Repeat("x", 3000) + `"}` + "\n"
	for range 5000 {
		_, _ = io.WriteString(w, line)
	}
	huge := strings.Repeat("y", 100<<10) + "\n"
	_, _ = io.WriteString(w, huge)
	c.logs.mu.Lock()
	n, b := len(c.logs.lines), c.logs.bytes
	last := c.logs.lines[len(c.logs.lines)-1]
	c.logs.mu.Unlock()
	if n > MaxLogLines || b > MaxLogBytes {
		t.Errorf("%d lines, %d bytes held; bounds %d, %d", n, b, MaxLogLines, MaxLogBytes)
	}
	if len(last.raw) > MaxLogLine+len("…") {
		t.Errorf("a %d-byte line kept whole", len(huge))
	}
	lines, seq := c.logLines(logQuery{minRank: -1, limit: 10})
	if seq != 5001 || len(lines) != 10 || lines[9].Seq != 5001 || lines[0].Seq != 4992 {
		t.Errorf("seq %d, %d lines from %d", seq, len(lines), lines[0].Seq)
	}
}

func TestTraceRingBounded(t *testing.T) {
	c := New(Options{})
	big := strings.Repeat("v", 16<<10)
	for i := range 3000 {
		var tid trace.TraceID
		tid[0], tid[1], tid[15] = byte(i>>8), byte(i), 1
		stub := tracetest.SpanStub{
			Name:        "GET /x",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled}),
			StartTime:   time.Unix(0, int64(i)),
			EndTime:     time.Unix(0, int64(i)+int64(time.Millisecond)),
			Attributes:  []attribute.KeyValue{attribute.String("http.route", "/x"), attribute.String("big", big)},
		}
		c.Span(stub.Snapshot())
	}
	c.traces.mu.Lock()
	n, b := c.traces.n, c.traces.bytes
	c.traces.mu.Unlock()
	if n > MaxSpans || b > MaxTraceBytes || n == 0 {
		t.Errorf("%d spans, %d bytes held; bounds %d, %d", n, b, MaxSpans, MaxTraceBytes)
	}
	if got := len(c.traceEntries()); got != n || got > MaxTraces {
		t.Errorf("%d traces listed of %d spans", got, n)
	}
	if got := c.traceList("recent", "/x", 5); len(got) != 5 || got[0].start.Before(got[1].start) {
		t.Errorf("recent: %+v", got)
	}
}

func TestErrorGroups(t *testing.T) {
	c := New(Options{})
	ev := func(id, typ string) *sentry.Event {
		return &sentry.Event{EventID: sentry.EventID(id), Level: sentry.LevelError, Timestamp: time.Now(),
			Exception: []sentry.Exception{{Type: typ, Value: "boom " + id, Stacktrace: &sentry.Stacktrace{Frames: []sentry.Frame{
				{Function: "main", Module: "main", InApp: true}, {Function: "handler", Module: "shop", InApp: true, Lineno: 7},
			}}}}}
	}
	// A duplicate may be counted before its event arrives from the sending goroutine.
	c.Duplicate("a1")
	c.Event(ev("a1", "*errors.errorString"))
	c.Duplicate("a1")
	c.Event(ev("a2", "*errors.errorString")) // same type and stack, another message: same group
	groups := c.errorGroups()
	if len(groups) != 1 || groups[0].Count != 4 || groups[0].LastEventID != "a2" {
		t.Fatalf("groups: %+v", groups)
	}
	_, evs, _ := c.errorGroup(groups[0].Fingerprint)
	if len(evs) != 2 || evs[0].EventID != "a2" || evs[0].Stack[0].Function != "handler" || !evs[0].Stack[0].InApp {
		t.Errorf("events newest first, innermost frame first: %+v", evs)
	}
	for i := range 1000 {
		c.Event(ev(fmt.Sprint("x", i), fmt.Sprint("T", i)))
	}
	c.errs.mu.Lock()
	n, b := len(c.errs.groups), c.errs.bytes
	c.errs.mu.Unlock()
	if n > MaxErrorGroups || b > MaxErrorBytes {
		t.Errorf("%d groups, %d bytes held", n, b)
	}
}

func TestAccess(t *testing.T) {
	tests := []struct {
		name, remote, host, token string
		hdr                       map[string]string
		want                      int
	}{
		{name: "loopback", remote: "127.0.0.1:1", host: "localhost:8080", want: 200},
		{name: "loopback v6", remote: "[::1]:1", host: "[::1]:8080", want: 200},
		{name: "remote", remote: "10.0.0.5:1", host: "10.0.0.1:8080", want: 403},
		{name: "remote forwarded as loopback", remote: "10.0.0.5:1", host: "localhost:8080",
			hdr: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-Ip": "127.0.0.1", "Forwarded": "for=127.0.0.1"}, want: 403},
		{name: "dns rebinding", remote: "127.0.0.1:1", host: "evil.example:8080", want: 403},
		{name: "token missing, loopback", remote: "127.0.0.1:1", host: "localhost", token: "t0k", want: 403},
		{name: "token bearer, remote", remote: "10.0.0.5:1", host: "console.example", token: "t0k",
			hdr: map[string]string{"Authorization": "Bearer t0k"}, want: 200},
		{name: "token wrong", remote: "10.0.0.5:1", host: "console.example", token: "t0k",
			hdr: map[string]string{"Authorization": "Bearer t0k2"}, want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{Token: tt.token})
			r := httptest.NewRequest("GET", "/debug/vigil/api/version", nil)
			r.RemoteAddr, r.Host = tt.remote, tt.host
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			c.Handler().ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if w.Header().Get("Content-Security-Policy") != CSP || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers: %v", w.Header())
			}
		})
	}
}

func TestTokenCookie(t *testing.T) {
	c := New(Options{Token: "t0k"})
	r := httptest.NewRequest("GET", "/debug/vigil/?token=t0k", nil)
	r.RemoteAddr = "10.0.0.5:1"
	w := httptest.NewRecorder()
	c.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "./" {
		t.Fatalf("status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode ||
		cookies[0].Path != "/debug/vigil/" || strings.Contains(cookies[0].Value, "t0k") {
		t.Fatalf("cookie: %+v", cookies)
	}
	r = httptest.NewRequest("GET", "/debug/vigil/api/errors", nil)
	r.RemoteAddr = "10.0.0.5:1"
	r.AddCookie(cookies[0])
	w = httptest.NewRecorder()
	c.Handler().ServeHTTP(w, r)
	var v struct{ Groups []any }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
		t.Fatalf("with the cookie: %d %s", w.Code, w.Body)
	}
}

func TestTraceDetail(t *testing.T) {
	c := New(Options{})
	tid := trace.TraceID{1, 2, 3}
	sc := func(id byte) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{id}, TraceFlags: trace.FlagsSampled})
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	child := tracetest.SpanStub{Name: "SELECT orders", SpanContext: sc(2), Parent: sc(1), SpanKind: trace.SpanKindClient,
		StartTime: t0.Add(time.Millisecond), EndTime: t0.Add(3 * time.Millisecond),
		Attributes: []attribute.KeyValue{attribute.String("db.system.name", "postgresql")}}
	root := tracetest.SpanStub{Name: "GET /orders/{id}", SpanContext: sc(1), SpanKind: trace.SpanKindServer,
		StartTime: t0, EndTime: t0.Add(5 * time.Millisecond), Status: sdkStatus(codes.Error, "boom"),
		Attributes: []attribute.KeyValue{attribute.String("http.route", "/orders/{id}"), attribute.String("http.request.method", "GET")}}
	c.Span(child.Snapshot())
	c.Span(root.Snapshot())
	line := fmt.Sprintf(`{"level":"INFO","msg":"q","trace_id":"%s","span_id":"%s"}`+"\n", tid, trace.SpanID{2})
	_, _ = io.WriteString(c.LogWriter(io.Discard), line)
	v, ok := c.traceDetail(tid)
	if !ok || len(v.Spans) != 2 || v.Spans[0].Name != "GET /orders/{id}" || v.Spans[1].ParentID != v.Spans[0].SpanID ||
		v.Spans[1].OffsetMS != 1 || v.Spans[1].Logs != 1 || v.DB.Calls != 1 || v.DB.DurationMS != 2 || v.Spans[0].Kind != "server" {
		t.Fatalf("%+v", v)
	}
	if got := c.traceList("failed", "", 10); len(got) != 1 || got[0].Route != "/orders/{id}" || got[0].DurationMS != 5 {
		t.Errorf("failed: %+v", got)
	}
	db := c.routeDB()["GET /orders/{id}"]
	if db.traces != 1 || db.calls != 1 {
		t.Errorf("db per route: %+v", db)
	}
}

func sdkStatus(c codes.Code, d string) sdktrace.Status {
	return sdktrace.Status{Code: c, Description: d}
}

type gatherFunc func() ([]*dto.MetricFamily, error)

func (g gatherFunc) Gather() ([]*dto.MetricFamily, error) { return g() }

// Routes come from the HTTP and gRPC server histograms: counts and error classes over
// status codes, cumulative buckets in milliseconds, and the rate since the last calls.
func TestRouteStats(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	count := uint64(10)
	hist := func(labels map[string]string, n uint64) *dto.Metric {
		m := &dto.Metric{Histogram: &dto.Histogram{SampleCount: proto.Uint64(n), Bucket: []*dto.Bucket{
			{UpperBound: proto.Float64(0.01), CumulativeCount: proto.Uint64(n / 2)},
			{UpperBound: proto.Float64(0.1), CumulativeCount: proto.Uint64(n)},
		}}}
		for k, v := range labels {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(k), Value: proto.String(v)})
		}
		return m
	}
	g := gatherFunc(func() ([]*dto.MetricFamily, error) {
		return []*dto.MetricFamily{
			{Name: proto.String(durationFamily), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{
				hist(map[string]string{labelMethod: "GET", labelRoute: "/orders/{id}", labelStatus: "200"}, count),
				hist(map[string]string{labelMethod: "GET", labelRoute: "/orders/{id}", labelStatus: "503"}, 2),
				hist(map[string]string{labelMethod: "GET", labelRoute: "/orders/{id}", labelStatus: "404"}, 4),
			}},
			{Name: proto.String(rpcFamily), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{
				hist(map[string]string{labelRPCMethod: "shop.Orders/Get", labelRPCStatus: "NOT_FOUND"}, 2),
				hist(map[string]string{labelRPCMethod: "shop.Orders/Get", labelRPCStatus: "INTERNAL"}, 2),
			}},
		}, nil
	})
	c := New(Options{Gatherer: g, Now: func() time.Time { return now }})
	now = now.Add(10 * time.Second)
	v := c.routeStats()
	if len(v.Routes) != 2 || v.WindowS != 10 {
		t.Fatalf("%+v", v)
	}
	r := v.Routes[0]
	if r.Route != "/orders/{id}" || r.Count != 16 || r.Err4xx != 4 || r.Err5xx != 2 || r.Rate != 1.6 ||
		len(r.Buckets) != 3 || r.Buckets[0].LE != 10.0 || r.Buckets[0].Count != 8 || r.Buckets[2].LE != "+Inf" || r.Buckets[2].Count != 16 {
		t.Errorf("http: %+v", r)
	}
	if r := v.Routes[1]; r.Method != "gRPC" || r.Route != "shop.Orders/Get" || r.Err4xx != 2 || r.Err5xx != 2 {
		t.Errorf("grpc: %+v", r)
	}
	// Ten more requests over the next 5 s: the rate still counts from the start.
	count += 10
	now = now.Add(5 * time.Second)
	if r := c.routeStats().Routes[0]; r.Rate != 26.0/15 {
		t.Errorf("rate %v", r.Rate)
	}
}
