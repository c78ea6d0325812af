package tracing_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

// failingExporter fails every export.
type failingExporter struct{}

func (failingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("collector down: https://user:pw@collector.example/v1/traces")
}
func (failingExporter) Shutdown(context.Context) error { return nil }

// OnEnd sees each sampled span as it ends, with no exporter configured, and
// Provider.Redact shows it as the exporters would; unsampled spans never reach it.
func TestOnEndAndRedact(t *testing.T) {
	clearEnv(t)
	var (
		mu    sync.Mutex
		spans []sdktrace.ReadOnlySpan
	)
	p, err := tracing.New(context.Background(), tracing.Config{
		Exporter: tracing.ExporterNone,
		OnEnd:    func(s sdktrace.ReadOnlySpan) { mu.Lock(); spans = append(spans, s); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	_, span := p.Start(context.Background(), "op", trace.WithAttributes(
		attribute.String("user.password", "hunter2"), attribute.String("order.id", "42")))
	span.End()
	unsampled := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, Remote: true}))
	_, span = p.Start(unsampled, "not sampled")
	span.End()
	mu.Lock()
	defer mu.Unlock()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	if raw := spans[0].Attributes()[0].Value.AsString(); raw != "hunter2" {
		t.Errorf("OnEnd got %q: the span as it ended", raw)
	}
	got := map[attribute.Key]string{}
	for _, kv := range p.Redact(spans[0]).Attributes() {
		got[kv.Key] = kv.Value.AsString()
	}
	if got["user.password"] != "[REDACTED]" || got["order.id"] != "42" {
		t.Errorf("attributes %v", got)
	}
}

// ExportStatus reports the last failure, scrubbed.
func TestExportStatus(t *testing.T) {
	clearEnv(t)
	p, err := tracing.New(context.Background(), tracing.Config{SpanExporter: failingExporter{}})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Start(context.Background(), "op")
	span.End()
	_ = p.ForceFlush(context.Background())
	st := p.ExportStatus()
	if len(st) != 1 || st[0].LastErrorTime.IsZero() || !st[0].LastOK.IsZero() ||
		st[0].LastError != "collector down: https://user:[REDACTED]@collector.example/v1/traces" {
		t.Errorf("%+v", st)
	}
	_ = p.Shutdown(context.Background())
}
