package middleware_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/pii"
	"github.com/vigil-go/vigil/middleware"
)

// gRPC panic reports follow the rules the errors package applies to an HTTP request's
// headers: secret-named keys redacted, client-IP keys (internal/pii, the one list both
// use) left out unless SendDefaultPII, values bounded.
func TestGRPCMetadataPIIParity(t *testing.T) {
	long := strings.Repeat("v", 10<<10)
	md := map[string]string{
		"x-forwarded-for":  "203.0.113.9",
		"x-real-ip":        "203.0.113.9",
		"forwarded":        "for=203.0.113.9",
		"cf-connecting-ip": "203.0.113.9",
		"authorization":    "Bearer s3cr3t",
		"cookie":           "sid=abc",
		"x-api-key":        "k-123",
		"x-tenant":         "acme",
		"x-long":           long,
	}
	tests := []struct {
		pii  bool
		want map[string]string // "" means absent; "bounded" means cut to limits.AttrValue
	}{
		{false, map[string]string{
			"x-forwarded-for": "", "x-real-ip": "", "forwarded": "", "cf-connecting-ip": "",
			"authorization": "[REDACTED]", "cookie": "[REDACTED]", "x-api-key": "[REDACTED]",
			"x-tenant": "acme", "x-long": "bounded",
		}},
		{true, map[string]string{
			"x-forwarded-for": "203.0.113.9", "x-real-ip": "203.0.113.9", "forwarded": "for=203.0.113.9", "cf-connecting-ip": "203.0.113.9",
			"authorization": "[REDACTED]", "cookie": "[REDACTED]", "x-api-key": "[REDACTED]",
			"x-tenant": "acme", "x-long": "bounded",
		}},
	}
	for _, tt := range tests {
		name := "pii off"
		if tt.pii {
			name = "pii on"
		}
		t.Run(name, func(t *testing.T) {
			forModes(t, func(t *testing.T, m grpcMode) {
				e := newEnv(t, m.with(func(c *middleware.GRPCConfig) { c.SendDefaultPII = tt.pii }))
				var kv []string
				for k, v := range md {
					kv = append(kv, k, v)
				}
				ctx := metadata.AppendToOutgoingContext(context.Background(), kv...)
				_, err := e.client.UnaryCall(ctx, &grpc_testing.SimpleRequest{Payload: &grpc_testing.Payload{Body: []byte("panic")}})
				if status.Code(err) != codes.Internal {
					t.Fatal(err)
				}
				e.mu.Lock()
				defer e.mu.Unlock()
				if len(e.captures) != 1 {
					t.Fatalf("%d captures", len(e.captures))
				}
				got := map[string]string{}
				for _, a := range e.captures[0].attrs["metadata"].Group() {
					got[a.Key] = a.Value.String()
				}
				for k, want := range tt.want {
					v, ok := got[k]
					switch {
					case want == "" && ok:
						t.Errorf("%s = %q reported with SendDefaultPII=%v", k, v, tt.pii)
					case want == "bounded":
						if len(v) > limits.AttrValue || !strings.HasSuffix(v, limits.Ellipsis) {
							t.Errorf("%s: %d bytes, want at most %d", k, len(v), limits.AttrValue)
						}
					case want != "" && v != want:
						t.Errorf("%s = %q, want %q", k, v, want)
					}
					// The rule is the shared one, not a copy.
					if pii.IPHeader(k) != (tt.want[k] == "" || (tt.pii && strings.Contains(tt.want[k], "203.0.113.9"))) {
						t.Errorf("%s: internal/pii disagrees with the expected report", k)
					}
				}
				for k := range got {
					if strings.HasPrefix(k, ":") {
						t.Errorf("pseudo-header %s reported", k)
					}
				}
			})
		})
	}
}

// A client-chosen method name of 100 KiB is bounded on the span, the access line and
// the capture scope's route.
func TestGRPCLongMethodNameBounded(t *testing.T) {
	e := newEnv(t, nil)
	method := "/" + strings.Repeat("s", 100<<10) + "/M"
	err := e.conn.Invoke(context.Background(), method, &grpc_testing.SimpleRequest{}, &grpc_testing.SimpleResponse{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("err = %v, want Unimplemented", err)
	}
	s := e.waitSpan(t, trace.SpanKindServer, "_OTHER")
	if v, _ := attrOf(s, "rpc.method_original"); len(v.AsString()) > limits.LabelValue {
		t.Errorf("rpc.method_original: %d bytes", len(v.AsString()))
	}
	line := e.msgLine(t, "grpc server call")
	for _, k := range []string{"rpc.method_original", "route"} {
		if v, _ := line[k].(string); v == "" || len(v) > limits.LabelValue {
			t.Errorf("server line %s: %d bytes, want 1..%d", k, len(v), limits.LabelValue)
		}
	}
	for _, sp := range e.spans.GetSpans() {
		if len(sp.Name) > limits.LabelValue {
			t.Errorf("%v span name of %d bytes", sp.SpanKind, len(sp.Name))
		}
	}
}

// Panicking user callbacks on either side of a call are contained and counted.
func TestGRPCHooksContained(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*middleware.GRPCConfig)
		hook string
		want float64
	}{
		{"propagator", func(c *middleware.GRPCConfig) { c.Propagator = panickingPropagator{} }, "propagator", 2}, // client inject, server extract
		{"logger", func(c *middleware.GRPCConfig) { c.Logger = slog.New(panickingHandler{}) }, "logger", 2},      // both access lines
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T, m grpcMode) {
				e := newEnv(t, m.with(tt.mod))
				if _, err := e.client.UnaryCall(context.Background(), &grpc_testing.SimpleRequest{}); err != nil {
					t.Fatalf("call failed: %v", err)
				}
				eventually(t, "the panics counted", func() bool {
					v, _ := find(gather(t, e.reg, middleware.MetricHookPanics), map[string]string{"hook": tt.hook})
					return v == tt.want
				})
			})
		})
	}
}
