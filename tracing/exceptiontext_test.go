package tracing_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

// Exception text and status descriptions are free text: whoever recorded them (vigil's
// middleware, span.RecordError, a library), secrets inside the text do not reach the
// exporter, and the rest of the text does.
func TestExceptionTextIsScrubbedOnExport(t *testing.T) {
	tests := []struct {
		name   string
		record func(trace.Span)
		keep   string
	}{
		{"panic text in exception.message", func(s trace.Span) {
			s.AddEvent("exception", trace.WithAttributes(
				attribute.String("exception.type", "string"),
				attribute.String("exception.message", "refresh failed: token=SECRET-1")))
		}, "refresh failed"},
		{"RecordError with a URL", func(s trace.Span) {
			s.RecordError(errors.New(`Get "https://api.example.com/v1?api_key=SECRET-2&page=1": EOF`), trace.WithStackTrace(true))
		}, "api.example.com"},
		{"stack trace", func(s trace.Span) {
			s.AddEvent("exception", trace.WithAttributes(
				attribute.String("exception.message", "boom"),
				attribute.String("exception.stacktrace", "goroutine 1:\nmain.f(Authorization: Bearer SECRET-3abcdef)")))
		}, "goroutine 1"},
		{"status description", func(s trace.Span) {
			s.SetStatus(codes.Error, "dial postgres://app:SECRET-4@db:5432/app failed")
		}, "failed"},
		{"exception.message as a span attribute", func(s trace.Span) {
			s.SetAttributes(attribute.String("exception.message", "password=SECRET-5 rejected"))
		}, "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, exp := memProvider(t, tracing.Config{})
			_, span := p.Start(context.Background(), "op")
			tt.record(span)
			span.End()
			if err := p.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("got %d spans", len(spans))
			}
			s := spans[0]
			var text strings.Builder
			text.WriteString(s.Status.Description + "\n")
			for _, kv := range s.Attributes {
				text.WriteString(kv.Value.String() + "\n")
			}
			for _, e := range s.Events {
				for _, kv := range e.Attributes {
					text.WriteString(kv.Value.String() + "\n")
				}
			}
			if got := text.String(); strings.Contains(got, "SECRET") {
				t.Errorf("secret exported:\n%s", got)
			} else if !strings.Contains(got, tt.keep) {
				t.Errorf("%q lost:\n%s", tt.keep, got)
			}
		})
	}
}

type panickingErr struct{}

func (panickingErr) Error() string { panic("Error method blew up") }

// tracing.RecordError calls the caller's Error method: a panic there is contained and
// the span still says it failed.
func TestRecordErrorContainsPanickingError(t *testing.T) {
	p, exp := memProvider(t, tracing.Config{})
	_, span := p.Start(context.Background(), "op")
	tracing.RecordError(span, panickingErr{})
	span.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := exp.GetSpans()[0]
	if s.Status.Code != codes.Error || !strings.Contains(s.Status.Description, "!PANIC in Error") {
		t.Errorf("status = %v %q", s.Status.Code, s.Status.Description)
	}
	if len(s.Events) != 1 || s.Events[0].Name != "exception" {
		t.Fatalf("events = %v", s.Events)
	}
}
