package benchmarks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// floorPart is one piece of the floor middleware's work, measured alone: what a request
// costs at least under the contract is the sum of the parts.
type floorPart struct {
	name string
	// build returns one op of the part, set up as the floor middleware has it after it
	// served the benchmark's request.
	build func(tb testing.TB) func()
}

// floorFixture is a served request's state, for the parts to work on.
func floorFixture() (*http.Request, *floorRequest) {
	r := orderRequest()
	r.Pattern = "GET /orders/{id}"
	return r, &floorRequest{ResponseWriter: httptest.NewRecorder(), status: http.StatusOK, bytes: int64(len(orderBody)), id: floorRequestID("")}
}

// Sinks for results the compiler must not optimize away.
var (
	ctxSink context.Context
	reqSink *http.Request
	durSink time.Duration
)

var floorParts = []floorPart{
	// The sampled SDK span: started, named and given its attributes, ended into the batch
	// processor (the same provider set-up as the peers').
	{"span", func(tb testing.TB) func() {
		tr := sdkProvider(tb, 1, &spanSink{}).Tracer("floor")
		r, req := floorFixture()
		ctx := context.Background()
		return func() {
			_, span := tr.Start(ctx, r.Method, serverKind)
			attrs := spanAttrs.Get().(*[12]attribute.KeyValue)
			n := httpSpanAttrs(attrs, r, req, "/orders/{id}")
			span.SetName("GET /orders/{id}")
			span.SetAttributes(attrs[:n]...)
			spanAttrs.Put(attrs)
			span.End()
		}
	}},
	// W3C trace context and baggage extracted from headers that carry none.
	{"propagation", func(testing.TB) func() {
		r, _ := floorFixture()
		return func() { ctxSink = w3c.Extract(r.Context(), propagation.HeaderCarrier(r.Header)) }
	}},
	// Two clock reads.
	{"clock", func(testing.TB) func() {
		return func() {
			start := time.Now()
			durSink = time.Since(start)
		}
	}},
	// The in-flight gauge up and down, the duration series found and observed.
	{"metrics", func(tb testing.TB) func() {
		f := newFloorHTTP(sdkProvider(tb, 1, &spanSink{}), prometheus.NewRegistry(), io.Discard, orderMux())
		k := httpSeries{"GET", "/orders/{id}", http.StatusOK}
		f.series.Store(k, &boundSeries{obs: f.duration.WithLabelValues("GET", "/orders/{id}", "200"), name: "GET /orders/{id}"})
		return func() {
			f.inFlight.Inc()
			f.inFlight.Dec()
			v, _ := f.series.Load(k)
			v.(*boundSeries).obs.Observe(0.0001)
		}
	}},
	// A request id made and echoed in the response header.
	{"request-id", func(testing.TB) func() {
		h := http.Header{}
		return func() { h.Set("X-Request-Id", floorRequestID("")) }
	}},
	// The request state allocated, stored in the context, and the request re-made with it.
	{"context", func(testing.TB) func() {
		r, _ := floorFixture()
		w := httptest.NewRecorder()
		return func() {
			req := &floorRequest{ResponseWriter: w}
			reqSink = r.WithContext(context.WithValue(r.Context(), floorKey{}, req))
		}
	}},
	// The access line encoded, not written.
	{"line", func(testing.TB) func() {
		r, req := floorFixture()
		sc := trace.SpanContextFromContext(spanContext())
		end := time.Now()
		return func() {
			bp := lineBufs.Get().(*[]byte)
			*bp = appendHTTPLine((*bp)[:0], end, sc, req, r, "/orders/{id}", 1500*time.Microsecond)
			lineBufs.Put(bp)
		}
	}},
	// One line written to a pipe another process drains.
	{"write-pipe", func(tb testing.TB) func() {
		w := pipeSink(tb, io.Discard)
		r, req := floorFixture()
		line := appendHTTPLine(nil, time.Now(), trace.SpanContextFromContext(spanContext()), req, r, "/orders/{id}", time.Millisecond)
		return func() { _, _ = w.Write(line) }
	}},
}

// BenchmarkFloorParts measures each part of the floor middleware's work alone (impl= is
// the part), so RESULTS.md can set vigil's overhead against the sum of what the contract
// requires: span, propagation, clock, metrics, request id, context, line, and the write
// (to a pipe; to io.Discard it costs nothing).
func BenchmarkFloorParts(b *testing.B) {
	for _, p := range floorParts {
		b.Run("impl="+p.name, func(b *testing.B) {
			op := p.build(b)
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				op()
			}
			done()
		})
	}
}

// TestFloorPartsRun runs each part once: a part that panics or fails to set up would
// leave a hole in the sum.
func TestFloorPartsRun(t *testing.T) {
	for _, p := range floorParts {
		t.Run(p.name, func(t *testing.T) { p.build(t)() })
	}
}
