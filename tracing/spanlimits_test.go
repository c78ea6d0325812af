package tracing_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/tracing"
)

// The span limits are vigil's bounds unless the OTEL_SPAN_*_LIMIT settings (the
// SpanLimits fields) say otherwise, field by field.
func TestSpanLimits(t *testing.T) {
	long := strings.Repeat("x", 3*limits.SpanAttrValue)
	tests := []struct {
		name       string
		limits     tracing.SpanLimits
		wantLen    int
		wantEvents int
	}{
		{"vigil's bounds", tracing.SpanLimits{}, limits.SpanAttrValue, limits.SpanEvents},
		{"value length set", tracing.SpanLimits{AttributeValueLength: 10}, 10, limits.SpanEvents},
		{"event count set", tracing.SpanLimits{Events: 3}, limits.SpanAttrValue, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := tracetest.NewInMemoryExporter()
			p, err := tracing.New(context.Background(), tracing.Config{SpanExporter: mem, SpanLimits: tc.limits})
			if err != nil {
				t.Fatal(err)
			}
			_, span := p.Start(context.Background(), "op")
			span.SetAttributes(attribute.String("big", long))
			for range limits.SpanEvents + 10 {
				span.AddEvent("e")
			}
			span.End()
			if err := p.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			spans := mem.GetSpans() // before Shutdown, which empties the exporter
			t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
			if len(spans) != 1 {
				t.Fatalf("got %d spans, want 1", len(spans))
			}
			s := spans[0]
			if got := len(s.Attributes[0].Value.AsString()); got != tc.wantLen {
				t.Errorf("attribute value length %d, want %d", got, tc.wantLen)
			}
			if got := len(s.Events); got != tc.wantEvents {
				t.Errorf("%d events kept, want %d", got, tc.wantEvents)
			}
		})
	}
}
