package tracing_test

import (
	"context"
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

// A service behind a proxy that speaks B3 in separate headers: OTEL_PROPAGATORS=b3multi
// builds the propagator that continues the proxy's traces and passes them on in the
// same form.
func ExampleParsePropagators() {
	prop, err := tracing.ParsePropagators("b3multi")
	if err != nil {
		fmt.Println(err)
		return
	}
	in := http.Header{}
	in.Set("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124")
	in.Set("X-B3-SpanId", "a2fb4a1d1a96d312")
	in.Set("X-B3-Sampled", "1")
	ctx := prop.Extract(context.Background(), propagation.HeaderCarrier(in))
	fmt.Println("continues", trace.SpanContextFromContext(ctx).TraceID())

	out := http.Header{}
	prop.Inject(ctx, propagation.HeaderCarrier(out))
	fmt.Println("sends", out.Get("X-B3-TraceId"), "traceparent:", out.Get("Traceparent") != "")

	_, err = tracing.ParsePropagators("w3c")
	fmt.Println(err)
	// Output:
	// continues 463ac35c9f6413ad48485a3953bb6124
	// sends 463ac35c9f6413ad48485a3953bb6124 traceparent: false
	// unknown propagator "w3c": want tracecontext, baggage, b3, b3multi, jaeger, xray, ottrace, none
}
