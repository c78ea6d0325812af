package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vigil-go/vigil/tracing"
)

// With no exporter configured, spans still carry ids for log and error correlation.
func Example() {
	ctx := context.Background()
	p, err := tracing.New(ctx, tracing.Config{Service: "checkout", Exporter: "none"})
	if err != nil {
		panic(err)
	}
	defer p.Shutdown(ctx)

	ctx, span := p.Start(ctx, "GET /orders/{id}")
	defer span.End()
	fmt.Println(len(tracing.TraceID(ctx)), len(tracing.SpanID(ctx)))
	// Output: 32 16
}

// An incoming traceparent header is continued, and RecordError marks the span failed.
func ExampleRecordError() {
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	p, err := tracing.New(ctx, tracing.Config{SpanExporter: exp})
	if err != nil {
		panic(err)
	}

	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	ctx = tracing.Propagator().Extract(ctx, propagation.HeaderCarrier(h))
	_, span := p.Start(ctx, "charge card")
	tracing.RecordError(span, errors.New("card declined"))
	span.End()

	_ = p.ForceFlush(ctx)
	s := exp.GetSpans()[0]
	_ = p.Shutdown(ctx)
	fmt.Println(s.SpanContext.TraceID(), s.Status.Code, s.Status.Description, s.Events[0].Name)
	// Output: 4bf92f3577b34da6a3ce929d0e0e4736 Error card declined exception
}

// Config errors name every bad field or variable with its value.
func ExampleNew_invalid() {
	_, err := tracing.New(context.Background(), tracing.Config{Exporter: "zipkin", Protocol: "udp"})
	fmt.Println(err)
	// Output:
	// tracing: Exporter="zipkin": unknown exporter "zipkin": want otlp, console (stdout) or none
	// tracing: Protocol="udp": want grpc, http/protobuf or http/json
}
