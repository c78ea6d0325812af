package benchmarks

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	sentryhttp "github.com/getsentry/sentry-go/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// orderBody is what the handler writes; every stack serves the same mux and handler.
const orderBody = `{"id":"42","status":"shipped"}`

func orderMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, orderBody)
	})
	return mux
}

func orderRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/orders/42?expand=items", nil)
	r.Header.Set("User-Agent", "bench/1.0")
	r.Header.Set("Accept", "application/json")
	return r
}

// httpStack is one way of serving orderMux.
type httpStack struct {
	impl    string
	handler http.Handler
	// check, when set, fails tb unless the stack recorded the request it just served.
	check func(tb testing.TB)
}

// peerRegistry holds the three promhttp instruments the issue names: in-flight,
// duration and a request counter, labelled as promhttp labels them.
type peerRegistry struct {
	reg      *prometheus.Registry
	inFlight prometheus.Gauge
	duration *prometheus.HistogramVec
	requests *prometheus.CounterVec
}

func newPeerRegistry() *peerRegistry {
	p := &peerRegistry{
		reg: prometheus.NewRegistry(),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight", Help: "Requests being served.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Request latency.", Buckets: prometheus.DefBuckets,
		}, []string{"code", "method"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Requests served.",
		}, []string{"code", "method"}),
	}
	p.reg.MustRegister(p.inFlight, p.duration, p.requests)
	return p
}

// statusRecorder is the response-writer wrapper a hand-written access-log middleware has.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += n
	return n, err
}

// accessLog is the plain slog access-log middleware teams write by hand, trace id
// included because that is the first thing they add.
func accessLog(l *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		l.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
			slog.Int("bytes", rec.bytes),
			slog.String("remote_addr", r.RemoteAddr),
			slog.String("user_agent", r.UserAgent()),
			slog.String("trace_id", trace.SpanContextFromContext(r.Context()).TraceID().String()),
		)
	})
}

// initPeerSentry binds sentry-go's global hub (which sentryhttp clones per request) to a
// client whose transport drops events.
func initPeerSentry(tb testing.TB) {
	tb.Helper()
	if err := sentry.Init(sentry.ClientOptions{Dsn: testDSN, Transport: &eventSink{}}); err != nil {
		tb.Fatal(err)
	}
}

var w3c = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// peerChain is otelhttp (span; its own metrics off, promhttp does those) around
// sentryhttp around a slog access log around promhttp's in-flight, duration and
// counter, around the mux.
func peerChain(tb testing.TB, out io.Writer, logs *countingWriter) httpStack {
	spans := &spanSink{}
	tp := sdkProvider(tb, 1, spans)
	initPeerSentry(tb)
	prom := newPeerRegistry()

	var h http.Handler = orderMux()
	h = promhttp.InstrumentHandlerCounter(prom.requests, h)
	h = promhttp.InstrumentHandlerDuration(prom.duration, h)
	h = promhttp.InstrumentHandlerInFlight(prom.inFlight, h)
	h = accessLog(slog.New(slog.NewJSONHandler(out, nil)), h)
	h = sentryhttp.New(sentryhttp.Options{Repanic: true}).Handle(h)
	h = otelhttp.NewHandler(h, "server",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(w3c))
	return httpStack{
		impl:    implPeerChain,
		handler: h,
		check: func(tb testing.TB) {
			checkSeries(tb, prom.reg, "http_request_duration_seconds", "http_requests_total")
			checkSpans(tb, tp.ForceFlush, spans)
			checkLogLines(tb, logs, "msg", "status", "trace_id")
		},
	}
}

// floorStack is the floor middleware (floor_test.go) over the mux, with the same span
// provider set-up as the peer chain.
func floorStack(tb testing.TB, out io.Writer, logs *countingWriter) httpStack {
	spans := &spanSink{}
	tp := sdkProvider(tb, 1, spans)
	reg := prometheus.NewRegistry()
	return httpStack{
		impl:    "floor",
		handler: newFloorHTTP(tp, reg, out, orderMux()),
		check: func(tb testing.TB) {
			checkSeries(tb, reg, "http_server_request_duration_seconds")
			checkSpans(tb, tp.ForceFlush, spans)
			checkLogLines(tb, logs, "msg", "trace_id", "request_id", "route", "duration_ms")
		},
	}
}

// peerMetricsOnly is promhttp's duration instrumentation alone.
func peerMetricsOnly(testing.TB, io.Writer, *countingWriter) httpStack {
	prom := newPeerRegistry()
	return httpStack{
		impl:    "promhttp",
		handler: promhttp.InstrumentHandlerDuration(prom.duration, orderMux()),
		check: func(tb testing.TB) {
			checkSeries(tb, prom.reg, "http_request_duration_seconds")
		},
	}
}

// vigilFull is observe's Middleware with every part on.
func vigilFull(tb testing.TB, out io.Writer, logs *countingWriter) httpStack {
	spans := &spanSink{}
	o := newObserver(tb, vigilSinks{spans: spans, logs: out})
	return httpStack{
		impl:    "vigil",
		handler: o.Middleware(orderMux()),
		check: func(tb testing.TB) {
			checkSeries(tb, o.Registry().Prometheus(), "http_server_request_duration_seconds")
			checkSpans(tb, o.Shutdown, spans) // Shutdown flushes; the check runs last
			checkLogLines(tb, logs, "msg", "trace_id", "request_id")
		},
	}
}

// vigilFullOTLP is vigilFull with OTEL_METRICS_EXPORTER=otlp, pushing every 100ms to a
// receiver that discards: the cost of metrics export, which runs beside the requests.
func vigilFullOTLP(tb testing.TB, out io.Writer, logs *countingWriter) httpStack {
	var pushes atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		pushes.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	tb.Cleanup(rcv.Close)
	o := newObserver(tb, vigilSinks{logs: out, otlpMetrics: rcv.URL})
	return httpStack{
		impl:    "vigil+otlpmetrics",
		handler: o.Middleware(orderMux()),
		check: func(tb testing.TB) {
			checkSeries(tb, o.Registry().Prometheus(), "http_server_request_duration_seconds")
			if err := o.OTelMetrics().ForceFlush(context.Background()); err != nil || pushes.Load() == 0 {
				tb.Errorf("metrics push: %v after %d pushes", err, pushes.Load())
			}
			checkLogLines(tb, logs, "msg", "trace_id", "request_id")
		},
	}
}

// vigilMetricsOnly is the middleware in metrics-only mode over a Registry: the
// replacement for promhttp's handler instrumentation.
func vigilMetricsOnly(tb testing.TB, _ io.Writer, _ *countingWriter) httpStack {
	tb.Helper()
	reg, err := metrics.New(metrics.Config{
		DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = reg.Shutdown(context.Background()) })
	mw, err := middleware.NewHTTP(middleware.HTTPConfig{Registry: reg, MetricsOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	return httpStack{
		impl:    "vigil",
		handler: mw.Handler(orderMux()),
		check: func(tb testing.TB) {
			checkSeries(tb, reg.Prometheus(), "http_server_request_duration_seconds")
		},
	}
}

func bareStack(testing.TB, io.Writer, *countingWriter) httpStack {
	return httpStack{impl: "bare", handler: orderMux()}
}

// implPeerChain names the peer chain in every HTTP family.
const implPeerChain = "otelhttp+promhttp+sentryhttp+slog"

// httpBuilder builds one stack writing its log lines to out (logs is what tests read
// back). Stacks are built inside the benchmark that measures them, so a process that
// runs one of them (run.sh's rounds) carries no other stack's goroutines or heap.
type httpBuilder struct {
	impl  string
	build func(tb testing.TB, out io.Writer, logs *countingWriter) httpStack
}

// httpFamily is one comparison: stacks that do the same job; sinks lists where their
// access lines go (none for stacks that write no line).
type httpFamily struct {
	stack    string
	sinks    []string
	builders []httpBuilder
}

var httpFamilies = []httpFamily{
	{stack: "full", sinks: []string{sinkDiscard, sinkPipe}, builders: []httpBuilder{
		{"bare", bareStack},
		{implPeerChain, peerChain},
		{"floor", floorStack},
		{"vigil", vigilFull},
		{"vigil+otlpmetrics", vigilFullOTLP},
	}},
	{stack: "metrics", builders: []httpBuilder{
		{"bare", bareStack},
		{"promhttp", peerMetricsOnly},
		{"vigil", vigilMetricsOnly},
	}},
}

// forEachHTTPStack calls f with the sub-benchmark name of every stack and sink, in order.
func forEachHTTPStack(f func(name, sink string, b httpBuilder)) {
	for _, fam := range httpFamilies {
		sinks := fam.sinks
		if sinks == nil {
			sinks = []string{""}
		}
		for _, sink := range sinks {
			name := "stack=" + fam.stack
			if sink != "" {
				name += "/sink=" + sink
			}
			for _, b := range fam.builders {
				f(name+"/impl="+b.impl, sink, b)
			}
		}
	}
}

// BenchmarkHTTP serves one routed GET through each stack into a fresh
// httptest.ResponseRecorder. Overhead is each impl minus impl=bare. sink=discard writes
// access lines to io.Discard, sink=pipe to a pipe that another process (cat) drains.
func BenchmarkHTTP(b *testing.B) {
	forEachHTTPStack(func(name, sink string, hb httpBuilder) {
		b.Run(name, func(b *testing.B) {
			out, logs := sinkWriter(b, sink)
			s := hb.build(b, out, logs)
			req := orderRequest()
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				w := httptest.NewRecorder()
				s.handler.ServeHTTP(w, req)
			}
			done()
		})
	})
}

// BenchmarkHTTPParallel is BenchmarkHTTP with every P serving requests at once, where
// shared counters, histograms, span queues and the log writer contend.
func BenchmarkHTTPParallel(b *testing.B) {
	forEachHTTPStack(func(name, sink string, hb httpBuilder) {
		b.Run(name, func(b *testing.B) {
			out, logs := sinkWriter(b, sink)
			s := hb.build(b, out, logs)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := orderRequest() // the mux writes r.Pattern: one request per goroutine
				for pb.Next() {
					w := httptest.NewRecorder()
					s.handler.ServeHTTP(w, req)
				}
			})
		})
	})
}

// TestHTTPStacksDoTheWork serves one request through each stack and checks the response
// and, where the stack has them, its metric series, span and log line: a stack that
// skipped its work would make the benchmark meaningless.
func TestHTTPStacksDoTheWork(t *testing.T) {
	forEachHTTPStack(func(name, sink string, hb httpBuilder) {
		t.Run(name, func(t *testing.T) {
			out, logs := sinkWriter(t, sink)
			s := hb.build(t, out, logs)
			w := httptest.NewRecorder()
			s.handler.ServeHTTP(w, orderRequest())
			if w.Code != http.StatusOK || w.Body.String() != orderBody {
				t.Fatalf("got %d %q, want 200 %q", w.Code, w.Body.String(), orderBody)
			}
			if s.check != nil {
				s.check(t)
			}
		})
	})
}

// checkSpans flushes the spans ended so far and fails unless one reached sink.
func checkSpans(tb testing.TB, flush func(context.Context) error, sink *spanSink) {
	tb.Helper()
	if err := flush(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if sink.count() == 0 {
		tb.Error("no span reached the exporter")
	}
}

func checkSeries(tb testing.TB, g prometheus.Gatherer, names ...string) {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		if len(mf.GetMetric()) > 0 {
			have[mf.GetName()] = true
		}
	}
	for _, n := range names {
		if !have[n] {
			tb.Errorf("no series for %s; have %v", n, have)
		}
	}
}

// checkLogLines fails unless the last line written is a JSON object with keys.
func checkLogLines(tb testing.TB, w *countingWriter, keys ...string) {
	tb.Helper()
	lines := w.all()
	if len(lines) == 0 {
		tb.Fatal("no access-log line written")
	}
	last := lines[len(lines)-1]
	var rec map[string]any
	if err := json.Unmarshal(last, &rec); err != nil {
		tb.Fatalf("access-log line is not JSON: %v: %s", err, last)
	}
	for _, k := range keys {
		if _, ok := rec[k]; !ok {
			tb.Errorf("access-log line lacks %q: %s", k, last)
		}
	}
}
