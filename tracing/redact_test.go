package tracing_test

import (
	"context"
	"strings"
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

// The exporters remember shaped values (a '?', a "://") they found clean, so the text of
// a SQL statement is scanned once: repeated spans still export every value as the
// policy has it, a clean one unchanged and one with a secret redacted every time, with a
// configured name counted.
func TestRepeatedShapedValuesOnExport(t *testing.T) {
	p, exp := memProvider(t, tracing.Config{RedactKeys: []string{"tenant_pin"}})
	const (
		query  = "UPDATE kv SET v = ? WHERE k = ?"
		dsn    = "postgres://app:pw-s3cr3t@db:5432/orders?sslmode=disable"
		pinned = "/orders?tenant_pin=4321&page=2"
	)
	const rounds = 5
	for range rounds {
		_, span := p.Start(context.Background(), "db", trace.WithAttributes(
			attribute.String("db.query.text", query),
			attribute.String("db.connection", dsn),
			attribute.String("url.path", pinned),
		))
		span.End()
		// One span per batch: each export sees the values again.
		if err := p.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	spans := exp.GetSpans()
	if len(spans) != rounds {
		t.Fatalf("got %d spans, want %d", len(spans), rounds)
	}
	for i, s := range spans {
		got := map[string]string{}
		for _, kv := range s.Attributes {
			got[string(kv.Key)] = kv.Value.AsString()
		}
		if got["db.query.text"] != query {
			t.Errorf("span %d: db.query.text = %q, want it unchanged", i, got["db.query.text"])
		}
		for _, k := range []string{"db.connection", "url.path"} {
			if v := got[k]; strings.Contains(v, "s3cr3t") || strings.Contains(v, "4321") || !strings.Contains(v, "[REDACTED]") {
				t.Errorf("span %d: %s = %q, want its secret redacted", i, k, v)
			}
		}
	}
}
