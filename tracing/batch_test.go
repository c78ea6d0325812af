package tracing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/tracing"
)

// One request in eight with 100 KiB values must not make a batch exceed the receiver's
// 4 MiB limit (grpc-go's and the Collector's default, which otlptest's gRPC receiver
// keeps) and lose everyone else's spans with it.
func TestOversizedSpansDoNotSinkTheirBatch(t *testing.T) {
	const n = 512 // one full batch of the SDK's batch processor
	big := strings.Repeat("x", 100<<10)

	t.Run("split", func(t *testing.T) {
		rcv := otlptest.StartGRPC(t)
		p, err := tracing.New(context.Background(), tracing.Config{
			Endpoint: rcv.URL, Protocol: "grpc", Service: "checkout", Exporter: "otlp",
			ExportTimeout: time.Minute, // generous: a loaded machine under -race is slow to encode
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			_, sp := p.Start(context.Background(), fmt.Sprintf("GET /orders/%d", i))
			if i%8 == 0 {
				for j := range 5 { // 64 spans x 5 x 16 KiB: over 5 MiB in one batch
					sp.SetAttributes(attribute.String(fmt.Sprintf("http.request.header.x_big_%d", j), big))
				}
			}
			sp.End()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		spans := rcv.WaitSpans(t, n, 10*time.Second)
		if len(spans) != n || p.Dropped() != 0 {
			t.Fatalf("received %d of %d spans, %d dropped", len(spans), n, p.Dropped())
		}
		longest := 0 // in characters: the SDK's limit counts them, not bytes
		for _, s := range spans {
			for _, kv := range s.Attributes {
				longest = max(longest, utf8.RuneCountInString(kv.GetValue().GetStringValue()))
			}
		}
		if longest > limits.SpanAttrValue {
			t.Errorf("an attribute of %d characters was exported; the bound is %d", longest, limits.SpanAttrValue)
		}
		requests := len(rcv.Headers())
		if requests < 2 {
			t.Errorf("%d export requests: the batch was not split", requests)
		}
		t.Logf("%d spans (64 with 5 x 100 KiB attributes, cut to %d characters each) arrived in %d requests", len(spans), longest, requests)
	})

	// The same spans through the SDK's own pipeline, with the same attribute bound but
	// without the split: the receiver refuses the whole batch.
	t.Run("without split", func(t *testing.T) {
		rcv := otlptest.StartGRPC(t)
		exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpointURL(rcv.URL))
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
			sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{AttributeValueLengthLimit: limits.SpanAttrValue,
				AttributeCountLimit: 128, EventCountLimit: 128, LinkCountLimit: 128,
				AttributePerEventCountLimit: 128, AttributePerLinkCountLimit: 128}))
		tr := tp.Tracer("test")
		for i := range n {
			_, sp := tr.Start(context.Background(), fmt.Sprintf("GET /orders/%d", i))
			if i%8 == 0 {
				for j := range 5 { // 64 spans x 5 x 16 KiB: over 5 MiB in one batch
					sp.SetAttributes(attribute.String(fmt.Sprintf("http.request.header.x_big_%d", j), big))
				}
			}
			sp.End()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = tp.ForceFlush(ctx) // the SDK reports the refusal to otel's global handler only
		_ = tp.Shutdown(ctx)
		if got := len(rcv.Spans()); got != 0 {
			t.Fatalf("without the split: %d spans arrived; the control expects the whole batch refused", got)
		}
		t.Logf("without the split: 0 of %d spans arrived", n)
	})
}
