package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/otlptest"
)

// varied returns ended spans of every shape the estimate must cover.
func varied(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(mem), sdktrace.WithRawSpanLimits(spanLimits))
	tr := tp.Tracer("github.com/vigil-go/vigil/test", trace.WithInstrumentationVersion("1.0"))
	var link trace.Link
	for i := range 40 {
		_, sp := tr.Start(context.Background(), fmt.Sprintf("span %d %s", i, strings.Repeat("n", i*10)),
			trace.WithLinks(link), trace.WithSpanKind(trace.SpanKind(i%5+1)))
		sp.SetAttributes(
			attribute.String("s", strings.Repeat("日", i*100)),
			attribute.Int("i", -i), attribute.Bool("b", true), attribute.Float64("f", 1.5),
			attribute.StringSlice("ss", []string{"a", strings.Repeat("b", i), ""}),
			attribute.Int64Slice("is", []int64{1, -1 << 40, int64(i)}),
			attribute.BoolSlice("bs", []bool{true, false}),
			attribute.Float64Slice("fs", []float64{0.1, 2}),
		)
		for j := range i % 4 {
			sp.AddEvent(fmt.Sprintf("event %d", j), trace.WithAttributes(attribute.String("e", strings.Repeat("x", j*500))))
		}
		if i%3 == 0 {
			sp.SetStatus(1, strings.Repeat("failed ", i))
		}
		link = trace.Link{SpanContext: sp.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("l", "v")}}
		sp.End()
	}
	return mem.GetSpans().Snapshots()
}

// The estimate must be an upper bound of the real OTLP protobuf size, or a part could
// exceed the receiver's limit.
func TestSpanSizeEstimateIsAnUpperBound(t *testing.T) {
	spans := varied(t)
	rcv := otlptest.StartGRPC(t)
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpointURL(rcv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	actual := proto.Size(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rcv.ResourceSpans()})
	est := resourceSize(spans[0].Resource())
	for _, s := range spans {
		est += spanSize(s)
	}
	if est < actual {
		t.Fatalf("estimate %d bytes < actual %d bytes", est, actual)
	}
	if est > 2*actual {
		t.Errorf("estimate %d bytes is more than twice the actual %d: batches would be split needlessly", est, actual)
	}
	t.Logf("%d spans: estimated %d bytes, encoded %d", len(spans), est, actual)
}

// recordingExporter keeps the parts it was handed and fails those containing a span
// named fail.
type recordingExporter struct {
	mu    sync.Mutex
	parts [][]string
	fail  string
}

func (e *recordingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	var names []string
	failed := false
	for _, s := range spans {
		names = append(names, s.Name())
		failed = failed || s.Name() == e.fail
	}
	e.mu.Lock()
	e.parts = append(e.parts, names)
	e.mu.Unlock()
	if failed {
		return errors.New("refused")
	}
	return nil
}

func (e *recordingExporter) Shutdown(context.Context) error { return nil }

func TestSplitExporter(t *testing.T) {
	spans := varied(t)
	total := 0
	for _, s := range spans {
		total += spanSize(s)
	}
	tests := []struct {
		name      string
		budget    int
		fail      string
		wantParts func(int) bool
		wantLost  int
	}{
		{"fits", total * 2, "", func(n int) bool { return n == 1 }, 0},
		{"split", total / 5, "", func(n int) bool { return n >= 5 }, 0},
		{"one span per part", 1, "", func(n int) bool { return n == len(spans) }, 0},
		{"a failing part loses only its spans", 1, "span 7 nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
			func(n int) bool { return n == len(spans) }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingExporter{fail: tt.fail}
			e := &splitExporter{SpanExporter: rec, budget: tt.budget}
			err := e.ExportSpans(context.Background(), spans)
			if got := failedSpans(err, len(spans)); got != tt.wantLost {
				t.Fatalf("failedSpans = %d (err %v), want %d", got, err, tt.wantLost)
			}
			if !tt.wantParts(len(rec.parts)) {
				t.Errorf("%d parts", len(rec.parts))
			}
			// Every span once, in order.
			i := 0
			for _, part := range rec.parts {
				for _, name := range part {
					if name != spans[i].Name() {
						t.Fatalf("span %d is %q, want %q", i, name, spans[i].Name())
					}
					i++
				}
			}
			if i != len(spans) {
				t.Fatalf("%d spans exported, want %d", i, len(spans))
			}
		})
	}
	if failedSpans(nil, 3) != 0 || failedSpans(errors.New("x"), 3) != 3 {
		t.Error("failedSpans of a plain error must be all spans, of nil none")
	}
}

// Event attribute values are bounded like span attributes (the SDK bounds only the
// latter); spans without long ones are passed on as they are.
func TestEventAttributesBounded(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(mem), sdktrace.WithRawSpanLimits(spanLimits))
	_, sp := tp.Tracer("t").Start(context.Background(), "long")
	sp.AddEvent("exception", trace.WithAttributes(attribute.String("exception.message", strings.Repeat("m", 100<<10))))
	sp.SetAttributes(attribute.String("a", strings.Repeat("a", 100<<10)))
	sp.End()
	_, sp = tp.Tracer("t").Start(context.Background(), "short")
	sp.AddEvent("e", trace.WithAttributes(attribute.String("k", "v")))
	sp.End()
	in := mem.GetSpans().Snapshots()
	out := boundEventAttrs(in)
	if got := len(out[0].Events()[0].Attributes[0].Value.AsString()); got > limits.SpanAttrValue {
		t.Errorf("event attribute of %d bytes", got)
	}
	if got := len(out[0].Attributes()[0].Value.AsString()); got > limits.SpanAttrValue {
		t.Errorf("span attribute of %d bytes: the SDK limit is not set", got)
	}
	if rest := boundEventAttrs(in[1:]); &rest[0] != &in[1] {
		t.Error("a batch without long event attributes was copied")
	}
}
