package tracing

import (
	"context"
	"reflect"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/safefmt"
)

// globalTracer caches the tracer of OpenTelemetry's global provider, so that Start
// does not look the tracer up (a locked map access in the SDK) on every call.
type globalTracer struct {
	tp         trace.TracerProvider
	tracer     trace.Tracer
	comparable bool // == on tp panics for non-comparable dynamic types
}

var cachedGlobal atomic.Pointer[globalTracer]

// Start starts a span from OpenTelemetry's global tracer provider (which observe.Init
// sets); end it with span.End. Before any provider is set the span is a no-op that
// carries the parent's span context.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	tp := otel.GetTracerProvider()
	g := cachedGlobal.Load()
	if g == nil || !g.comparable || g.tp != tp {
		g = &globalTracer{tp: tp, tracer: tp.Tracer(ScopeName), comparable: reflect.TypeOf(tp).Comparable()}
		cachedGlobal.Store(g)
	}
	return g.tracer.Start(ctx, name, opts...)
}

// RecordError marks span as failed: status Error with err's message, and an
// "exception" event with exception.type and exception.message. A nil err or span
// does nothing. err's Error method is the caller's code: if it panics, the span still
// records the failure (the message says so) and the panic does not escape.
func RecordError(span trace.Span, err error, opts ...trace.EventOption) {
	if err == nil || span == nil {
		return
	}
	msg := safefmt.Text(err, nil) // bounded, contained; export applies the configured policy
	func() {
		defer func() {
			if recover() != nil {
				span.AddEvent("exception", trace.WithAttributes(
					attribute.String("exception.type", reflect.TypeOf(err).String()),
					attribute.String("exception.message", msg)))
			}
		}()
		span.RecordError(err, opts...)
	}()
	span.SetStatus(codes.Error, msg)
}

// Propagator returns the W3C tracecontext and baggage propagator, the default
// (DefaultPropagators) that observe.Init installs globally unless OTEL_PROPAGATORS
// names others (see Provider.Propagator). It ignores malformed headers, and bounds
// what it accepts (the baggage header to 8192 bytes and 64 members), so a hostile
// header costs little.
func Propagator() propagation.TextMapPropagator { return propagator }

var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
