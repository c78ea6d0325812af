package errors

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// recordOnSpan marks the span in ctx failed and adds the exception event, so the trace
// shows where the error happened. The text is the safe formatter's (bounded, scrubbed),
// never err.Error(). Panics are left to the middleware, which records them on its span.
func recordOnSpan(ctx context.Context, typ, msg string) {
	sp := trace.SpanFromContext(ctx)
	if !sp.IsRecording() {
		return
	}
	sp.AddEvent("exception", trace.WithAttributes(
		attribute.String("exception.type", typ),
		attribute.String("exception.message", msg)))
	sp.SetStatus(codes.Error, msg)
}
