package observe_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/vigil-go/vigil/internal/envtest"
	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/observe"
	"github.com/vigil-go/vigil/tracing"
)

// A handler's child span, started with observe.Start, reaches the collector under the
// request's trace with the service's resource, and the log line carries its ids.
func TestStartExportsAndCorrelates(t *testing.T) {
	clearEnv(t)
	rcv := otlptest.StartHTTP(t)
	out := &syncBuffer{}
	cfg := quiet(out)
	cfg.Service, cfg.Version, cfg.Environment = "checkout", "1.4.0", "prod"
	cfg.Tracing.Exporter = ""
	cfg.Tracing.Endpoint = rcv.URL
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())

	// tracing.Start uses the global provider Init installed: the same pipeline.
	ctx, parent := tracing.Start(context.Background(), "GET /orders/{id}")
	ctx, child := observe.Start(ctx, "load order")
	observe.Logger().InfoContext(ctx, "order loaded")
	child.End()
	parent.End()

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	spans := rcv.WaitSpans(t, 2, time.Second)
	var got otlptest.Span
	for _, s := range spans {
		if s.Name == "load order" {
			got = s
		}
	}
	if got.Span == nil {
		t.Fatalf("no child span among %v", spans)
	}
	if got.Resource["service.name"] != "checkout" || got.Resource["service.version"] != "1.4.0" ||
		got.Resource["deployment.environment.name"] != "prod" {
		t.Errorf("resource = %v", got.Resource)
	}
	if len(got.ParentSpanId) == 0 {
		t.Errorf("child has no parent")
	}
	var line map[string]any
	for _, l := range out.Lines(t) {
		if l["msg"] == "order loaded" {
			line = l
		}
	}
	if line["trace_id"] != tracing.TraceID(ctx) || line["span_id"] != tracing.SpanID(ctx) {
		t.Errorf("log line ids %v/%v, want %s/%s", line["trace_id"], line["span_id"], tracing.TraceID(ctx), tracing.SpanID(ctx))
	}
}

// Spans a dead collector cannot take are counted in vigil_tracing_spans_dropped_total,
// and Shutdown still returns by its deadline.
func TestDroppedSpansMetric(t *testing.T) {
	clearEnv(t)
	bh := otlptest.StartBlackHole(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := &syncBuffer{}
	cfg := quiet(out)
	// An export that waited on the black hole would take its minute-long timeout.
	cfg.Tracing = tracing.Config{Endpoint: "http://" + bh.Addr, Protocol: "grpc", MaxQueueSize: 5, ExportTimeout: time.Minute}
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		_, s := o.Start(context.Background(), "work")
		s.End()
	}
	reg := o.Registry().Prometheus()
	expect := func(n int) {
		t.Helper()
		want := "# HELP vigil_tracing_spans_dropped_total Sampled spans not exported: queue full, export failed after retries, or cut off by shutdown.\n" +
			"# TYPE vigil_tracing_spans_dropped_total counter\n" +
			"vigil_tracing_spans_dropped_total " + itoa(n) + "\n"
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vigil_tracing_spans_dropped_total"); err != nil {
			t.Error(err)
		}
	}
	// A full batch (the queue's five) goes to the hung export at once; five more may
	// then wait in the queue. How many the exporter took before the loop ended depends
	// on scheduling: 40 to 45 are dropped, each counted once.
	if d := o.Tracing().Dropped(); d < 40 || d > 45 {
		t.Errorf("%d spans dropped before Shutdown, want 40 to 45", d)
	}
	expect(int(o.Tracing().Dropped()))

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_ = o.Shutdown(ctx)
	if took := time.Since(begin); took > 300*time.Millisecond+envtest.Blocked {
		t.Errorf("Shutdown took %v with a 300ms deadline", took)
	}
	expect(50)
	for _, l := range out.Lines(t) {
		if l["level"] == "ERROR" {
			t.Errorf("unexpected error log: %v", l)
		}
	}
}

func TestInvalidTracingEnvNamesVariable(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "sometimes")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
	_, err := observe.New(context.Background(), quiet(&syncBuffer{}))
	if err == nil {
		t.Fatal("New accepted invalid tracing variables")
	}
	for _, want := range []string{`OTEL_TRACES_SAMPLER="sometimes"`, `OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func itoa(n int) string { return slog.IntValue(n).String() }
