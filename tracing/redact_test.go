package tracing_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

// Span and event attributes named like secrets (built in or configured) reach the
// exporter as "[REDACTED]"; others pass unchanged.
func TestSecretAttributesAreRedactedOnExport(t *testing.T) {
	p, exp := memProvider(t, tracing.Config{RedactKeys: []string{"ssn"}})
	_, span := p.Start(context.Background(), "op", trace.WithAttributes(
		attribute.String("user.password", "hunter2"),
		attribute.String("customer.ssn", "123-45"),
		attribute.String("order.id", "42"),
	))
	span.AddEvent("login", trace.WithAttributes(attribute.String("session_id", "s-1")))
	span.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans", len(spans))
	}
	got := map[string]string{}
	for _, kv := range spans[0].Attributes {
		got[string(kv.Key)] = kv.Value.AsString()
	}
	for _, kv := range spans[0].Events[0].Attributes {
		got[string(kv.Key)] = kv.Value.AsString()
	}
	want := map[string]string{
		"user.password": "[REDACTED]", "customer.ssn": "[REDACTED]", "session_id": "[REDACTED]", "order.id": "42",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
