package tracing_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

const (
	incomingTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingParent = "00f067aa0ba902b7"
)

// memProvider is a Provider that keeps finished spans in memory.
func memProvider(t *testing.T, cfg tracing.Config) (*tracing.Provider, *tracetest.InMemoryExporter) {
	t.Helper()
	clearEnv(t)
	exp := tracetest.NewInMemoryExporter()
	cfg.SpanExporter = exp
	p, err := tracing.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, exp
}

func TestIncomingTraceparentIsContinued(t *testing.T) {
	p, exp := memProvider(t, tracing.Config{})
	h := http.Header{}
	h.Set("Traceparent", "00-"+incomingTrace+"-"+incomingParent+"-01")
	h.Set("Tracestate", "vendor=abc")
	h.Set("Baggage", "tenant=acme,user=42")
	ctx := tracing.Propagator().Extract(context.Background(), propagation.HeaderCarrier(h))

	ctx, span := p.Start(ctx, "GET /orders/{id}", trace.WithSpanKind(trace.SpanKindServer))
	if got := tracing.TraceID(ctx); got != incomingTrace {
		t.Errorf("TraceID = %q, want the incoming %q", got, incomingTrace)
	}
	if got := tracing.SpanID(ctx); got == incomingParent || len(got) != 16 {
		t.Errorf("SpanID = %q, want a new 16-hex id", got)
	}
	if got := baggage.FromContext(ctx).Member("tenant").Value(); got != "acme" {
		t.Errorf("baggage tenant = %q, want acme", got)
	}

	// The outgoing request carries the same trace, this span as parent, and the state.
	out := http.Header{}
	tracing.Propagator().Inject(ctx, propagation.HeaderCarrier(out))
	if want := "00-" + incomingTrace + "-" + tracing.SpanID(ctx) + "-01"; out.Get("Traceparent") != want {
		t.Errorf("outgoing traceparent = %q, want %q", out.Get("Traceparent"), want)
	}
	if out.Get("Tracestate") != "vendor=abc" || !strings.Contains(out.Get("Baggage"), "tenant=acme") {
		t.Errorf("outgoing tracestate %q baggage %q", out.Get("Tracestate"), out.Get("Baggage"))
	}
	span.End()

	_ = p.ForceFlush(context.Background())
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("want 1 exported span after flush, got %d", len(spans))
	}
	if got := spans[0].Parent; got.SpanID().String() != incomingParent || !got.IsRemote() {
		t.Errorf("exported parent = %v, want remote %s", got, incomingParent)
	}
}

func TestMalformedTraceparentStartsNewTrace(t *testing.T) {
	p, _ := memProvider(t, tracing.Config{Exporter: "none"})
	for _, tp := range []string{
		"",
		"garbage",
		"00-" + incomingTrace + "-" + incomingParent,                                      // no flags
		"00-" + strings.ToUpper(incomingTrace) + "-" + incomingParent + "-01",             // upper case
		"00-00000000000000000000000000000000-" + incomingParent + "-01",                   // zero trace id
		"00-" + incomingTrace + "-0000000000000000-01",                                    // zero span id
		"ff-" + incomingTrace + "-" + incomingParent + "-01",                              // forbidden version
		"00-" + incomingTrace + "-" + incomingParent + "-01-extra",                        // version 00 is exact
		"00-" + incomingTrace[:30] + "zz-" + incomingParent + "-01",                       // not hex
		"00-" + incomingTrace + "-" + incomingParent + "-01" + strings.Repeat("x", 1<<20), // 1 MB
	} {
		h := http.Header{}
		h.Set("Traceparent", tp)
		ctx := tracing.Propagator().Extract(context.Background(), propagation.HeaderCarrier(h))
		if trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("traceparent %.60q accepted", tp)
		}
		ctx, span := p.Start(ctx, "work")
		if id := tracing.TraceID(ctx); len(id) != 32 || id == incomingTrace {
			t.Errorf("traceparent %.60q: TraceID = %q, want a fresh id", tp, id)
		}
		span.End()
	}
}

// extractCost returns the time and heap bytes of one extraction, averaged.
func extractCost(h http.Header) (time.Duration, uint64) {
	const n = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	begin := time.Now()
	for range n {
		tracing.Propagator().Extract(context.Background(), propagation.HeaderCarrier(h))
	}
	took := time.Since(begin) / n
	runtime.ReadMemStats(&after)
	return took, (after.TotalAlloc - before.TotalAlloc) / n
}

func TestOversizedHeadersAreBounded(t *testing.T) {
	members := make([]string, 100_000)
	for i := range members {
		members[i] = fmt.Sprintf("k%d=v%d", i, i)
	}
	var under []string // about 180 members within the 8192-byte limit
	for i, size := 0, 0; size+12 < 8192; i++ {
		m := fmt.Sprintf("key%d=val%d", i, i)
		under = append(under, m)
		size += len(m) + 1
	}
	for _, tc := range []struct {
		name       string
		baggage    []string
		maxMembers int
	}{
		{"1MB baggage value", []string{"k=" + strings.Repeat("v", 1<<20)}, 0},
		{"10,000 members in one header", []string{strings.Join(members[:10_000], ",")}, 0},
		{"10,000 baggage headers", members[:10_000], 0},
		{"100,000 baggage headers (1.2 MB)", members, 0},
		{"180 members under the byte limit", []string{strings.Join(under, ",")}, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Baggage": tc.baggage}
			h.Set("Traceparent", "00-"+incomingTrace+"-"+incomingParent+"-01")
			ctx := tracing.Propagator().Extract(context.Background(), propagation.HeaderCarrier(h))
			if got := baggage.FromContext(ctx).Len(); got > tc.maxMembers {
				t.Errorf("baggage has %d members, want at most %d", got, tc.maxMembers)
			}
			// The trace context survives a hostile baggage header.
			if got := trace.SpanContextFromContext(ctx).TraceID().String(); got != incomingTrace {
				t.Errorf("trace id = %q, want %q", got, incomingTrace)
			}
			took, bytes := extractCost(h)
			// Bounded by the propagator's 8192-byte limit, not by the header's size:
			// 10 and 100 times more input cost the same.
			if bytes > 128<<10 || took > 20*time.Millisecond {
				t.Errorf("extract cost %v and %d bytes per call", took, bytes)
			}
			t.Logf("extract: %v, %d B per call", took, bytes)
		})
	}
}

func TestIdsWithoutExport(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		cfg                   tracing.Config
		wantSampled, wantRecs bool
	}{
		{"exporter none", tracing.Config{Exporter: "none"}, true, true},
		{"Config.Disabled", tracing.Config{Disabled: true, Endpoint: "http://127.0.0.1:1"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			p, err := tracing.New(context.Background(), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			if len(p.Exporters()) != 0 {
				t.Errorf("Exporters = %v, want none", p.Exporters())
			}
			ctx, parent := p.Start(context.Background(), "parent")
			cctx, child := p.Start(ctx, "child")
			if len(tracing.TraceID(cctx)) != 32 || len(tracing.SpanID(cctx)) != 16 {
				t.Fatalf("ids %q/%q, want valid", tracing.TraceID(cctx), tracing.SpanID(cctx))
			}
			if tracing.TraceID(cctx) != tracing.TraceID(ctx) || tracing.SpanID(cctx) == tracing.SpanID(ctx) {
				t.Errorf("child ids do not continue the parent trace")
			}
			sc := child.SpanContext()
			if sc.IsSampled() != tc.wantSampled || child.IsRecording() != tc.wantRecs {
				t.Errorf("sampled=%v recording=%v, want %v %v", sc.IsSampled(), child.IsRecording(), tc.wantSampled, tc.wantRecs)
			}
			if p.Disabled() == tc.wantRecs {
				t.Errorf("Disabled = %v", p.Disabled())
			}
			child.End()
			parent.End()
		})
	}
}

func TestRecordError(t *testing.T) {
	p, exp := memProvider(t, tracing.Config{})
	_, span := p.Start(context.Background(), "work")
	tracing.RecordError(span, nil) // no-op
	tracing.RecordError(nil, fmt.Errorf("ignored"))
	tracing.RecordError(span, fmt.Errorf("wrap: %w", context.DeadlineExceeded))
	span.End()
	_ = p.ForceFlush(context.Background())
	s := exp.GetSpans()[0]
	if s.Status.Code.String() != "Error" || s.Status.Description != "wrap: context deadline exceeded" {
		t.Errorf("status = %+v", s.Status)
	}
	if len(s.Events) != 1 || s.Events[0].Name != "exception" {
		t.Fatalf("events = %+v, want one exception", s.Events)
	}
}

func TestPackageStartUsesGlobalProvider(t *testing.T) {
	p, exp := memProvider(t, tracing.Config{})
	prev := otelGlobal()
	t.Cleanup(func() { setOtelGlobal(prev) })
	setOtelGlobal(p.TracerProvider())
	_, span := tracing.Start(context.Background(), "via global")
	span.End()
	_ = p.ForceFlush(context.Background())
	if got := exp.GetSpans(); len(got) != 1 || got[0].Name != "via global" {
		t.Fatalf("spans = %v", got)
	}
	// A later provider replaces the cached tracer.
	p2, exp2 := memProvider(t, tracing.Config{})
	setOtelGlobal(p2.TracerProvider())
	_, span = tracing.Start(context.Background(), "second")
	span.End()
	_ = p2.ForceFlush(context.Background())
	if len(exp2.GetSpans()) != 1 || len(exp.GetSpans()) != 1 {
		t.Fatalf("second provider got %d spans, first %d", len(exp2.GetSpans()), len(exp.GetSpans()))
	}
}

func otelGlobal() trace.TracerProvider      { return otel.GetTracerProvider() }
func setOtelGlobal(tp trace.TracerProvider) { otel.SetTracerProvider(tp) }
