package tracing_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/tracing"
)

const (
	b3Trace = "463ac35c9f6413ad48485a3953bb6124"
	b3Span  = "a2fb4a1d1a96d312"
)

// Each OTEL_PROPAGATORS list extracts the formats it names, and only those, and
// injects the same ones.
func TestParsePropagators(t *testing.T) {
	inbound := map[string]http.Header{
		"tracecontext": {"Traceparent": {"00-" + b3Trace + "-" + b3Span + "-01"}},
		"b3":           {"B3": {b3Trace + "-" + b3Span + "-1"}},
		"b3multi":      {"X-B3-Traceid": {b3Trace}, "X-B3-Spanid": {b3Span}, "X-B3-Sampled": {"1"}},
		"jaeger":       {"Uber-Trace-Id": {b3Trace + ":" + b3Span + ":0:1"}},
		"xray":         {"X-Amzn-Trace-Id": {"Root=1-463ac35c-9f6413ad48485a3953bb6124;Parent=" + b3Span + ";Sampled=1"}},
		"ottrace":      {"Ot-Tracer-Traceid": {b3Trace}, "Ot-Tracer-Spanid": {b3Span}, "Ot-Tracer-Sampled": {"true"}},
	}
	tests := []struct {
		list       string
		continues  []string // inbound formats continued
		injects    []string // headers written
		notInjects []string
	}{
		{"", []string{"tracecontext"}, []string{"Traceparent"}, []string{"B3", "X-B3-Traceid"}},
		{"tracecontext,baggage", []string{"tracecontext"}, []string{"Traceparent"}, []string{"B3"}},
		{"b3", []string{"b3", "b3multi"}, []string{"B3"}, []string{"Traceparent", "X-B3-Traceid"}},
		{"b3multi", []string{"b3", "b3multi"}, []string{"X-B3-Traceid", "X-B3-Spanid", "X-B3-Sampled"}, []string{"Traceparent", "B3"}},
		{" B3 , tracecontext ", []string{"b3", "b3multi", "tracecontext"}, []string{"B3", "Traceparent"}, nil},
		{"jaeger", []string{"jaeger"}, []string{"Uber-Trace-Id"}, []string{"Traceparent"}},
		{"xray", []string{"xray"}, []string{"X-Amzn-Trace-Id"}, []string{"Traceparent"}},
		{"ottrace", []string{"ottrace"}, []string{"Ot-Tracer-Traceid"}, []string{"Traceparent"}},
		{"none", nil, nil, []string{"Traceparent", "B3", "X-B3-Traceid"}},
	}
	for _, tc := range tests {
		t.Run(tc.list, func(t *testing.T) {
			prop, err := tracing.ParsePropagators(tc.list)
			if err != nil {
				t.Fatal(err)
			}
			for format, h := range inbound {
				ctx := prop.Extract(context.Background(), propagation.HeaderCarrier(h))
				sc := trace.SpanContextFromContext(ctx)
				want := contains(tc.continues, format)
				if got := sc.TraceID().String() == b3Trace && sc.SpanID().String() == b3Span && sc.IsRemote(); got != want {
					t.Errorf("extracting %s: continued = %v, want %v (%v)", format, got, want, sc)
				}
			}
			sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: mustTraceID(t), SpanID: mustSpanID(t), TraceFlags: trace.FlagsSampled})
			out := http.Header{}
			prop.Inject(trace.ContextWithSpanContext(context.Background(), sc), propagation.HeaderCarrier(out))
			for _, h := range tc.injects {
				if out.Get(h) == "" {
					t.Errorf("injected %v, want a %s header", out, h)
				}
			}
			for _, h := range tc.notInjects {
				if out.Get(h) != "" {
					t.Errorf("injected %s: %q, which the list does not name", h, out.Get(h))
				}
			}
		})
	}
}

func TestParsePropagatorsErrors(t *testing.T) {
	for _, tc := range []struct{ list, want string }{
		{"w3c", `unknown propagator "w3c": want tracecontext, baggage, b3, b3multi, jaeger, xray, ottrace, none`},
		{"tracecontext,zipkin", `unknown propagator "zipkin"`},
		{"none,b3", "none cannot be combined"},
	} {
		_, err := tracing.ParsePropagators(tc.list)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePropagators(%q) = %v, want %q", tc.list, err, tc.want)
		}
	}
}

// Config.Propagators reaches the Provider; a bad list is an error naming the field.
func TestProviderPropagator(t *testing.T) {
	clearEnv(t)
	p, err := tracing.New(context.Background(), tracing.Config{Propagators: "b3multi"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	out := http.Header{}
	ctx, span := p.Start(context.Background(), "x")
	defer span.End()
	p.Propagator().Inject(ctx, propagation.HeaderCarrier(out))
	if out.Get("X-B3-Traceid") != tracing.TraceID(ctx) || out.Get("Traceparent") != "" {
		t.Errorf("Propagator injected %v, want B3 multi-header only", out)
	}
	if _, err := tracing.New(context.Background(), tracing.Config{Propagators: "w3c"}); err == nil ||
		!strings.Contains(err.Error(), `Propagators="w3c"`) {
		t.Errorf("New with a bad list: %v, want an error naming Propagators", err)
	}
	// Disabled cannot fail: the default applies.
	p2, err := tracing.New(context.Background(), tracing.Config{Disabled: true, Propagators: "w3c"})
	if err != nil || p2.Propagator() == nil {
		t.Errorf("disabled provider: %v, %v", p2.Propagator(), err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustTraceID(t *testing.T) trace.TraceID {
	id, err := trace.TraceIDFromHex(incomingTrace)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustSpanID(t *testing.T) trace.SpanID {
	id, err := trace.SpanIDFromHex(incomingParent)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
