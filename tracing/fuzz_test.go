package tracing_test

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

// FuzzPropagation feeds arbitrary traceparent, tracestate and baggage headers through
// the propagator and checks what a service relies on: no panic, a valid span context
// or none, bounded baggage, a round trip that is stable, and a child span that either
// continues the incoming trace or starts a fresh one. The seed corpus is in
// testdata/fuzz/FuzzPropagation; run with go test -fuzz=FuzzPropagation ./tracing/.
func FuzzPropagation(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc", "tenant=acme")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", "a=1;prop,b=%20")
	f.Add("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-future", "a=b,c=d", "")
	p, err := tracing.New(context.Background(), tracing.Config{Exporter: "none"})
	if err != nil {
		f.Fatal(err)
	}
	prop := tracing.Propagator()
	f.Fuzz(func(t *testing.T, traceparent, tracestate, bag string) {
		in := http.Header{}
		in.Set("Traceparent", traceparent)
		in.Set("Tracestate", tracestate)
		in.Set("Baggage", bag)
		ctx := prop.Extract(context.Background(), propagation.HeaderCarrier(in))
		sc := trace.SpanContextFromContext(ctx)
		if sc.HasTraceID() != sc.IsValid() {
			t.Fatalf("partial span context %v from %q", sc, traceparent)
		}
		if b := baggage.FromContext(ctx); b.Len() > 64 || len(b.String()) > 8192 {
			t.Fatalf("baggage unbounded: %d members, %d bytes", b.Len(), len(b.String()))
		}

		// Re-injecting and extracting again yields the same context.
		out := http.Header{}
		prop.Inject(ctx, propagation.HeaderCarrier(out))
		again := prop.Extract(context.Background(), propagation.HeaderCarrier(out))
		if sc2 := trace.SpanContextFromContext(again); !sc2.Equal(sc.WithRemote(sc2.IsRemote())) {
			t.Fatalf("round trip changed the span context: %v -> %v", sc, sc2)
		}
		b1, b2 := baggage.FromContext(ctx), baggage.FromContext(again)
		if b1.Len() != b2.Len() {
			t.Fatalf("round trip changed the baggage: %q -> %q", b1, b2)
		}
		for _, m := range b1.Members() { // a baggage is a set: compare member by member
			if got := b2.Member(m.Key()); got.String() != m.String() {
				t.Fatalf("round trip changed member %q: %q", m, got)
			}
		}

		child, span := p.Start(ctx, "child")
		defer span.End()
		id := tracing.TraceID(child)
		if len(id) != 32 {
			t.Fatalf("child has no trace id: %q", id)
		}
		if sc.IsValid() && id != sc.TraceID().String() {
			t.Fatalf("child trace %s does not continue %s", id, sc.TraceID())
		}
	})
}
