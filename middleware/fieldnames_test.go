package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/vigil-go/vigil/middleware"
)

// oldKeys are the access-line keys of earlier releases; none may come back.
var oldKeys = []string{"method", "path", "query", "status", "duration", "bytes_in", "bytes_out",
	"remote_addr", "user_agent", "rpc_service", "rpc_method", "grpc_code", "peer", "server_address",
	"messages_sent", "messages_received", "rpc_method_original", "error"}

// vigilKeys are the line fields no span attribute records, and the fields the log
// handler adds from the context.
var vigilKeys = map[string]bool{"duration_ms": true, "error.message": true, "panic": true, "aborted": true,
	"time": true, "level": true, "msg": true, "service": true, "request_id": true, "route": true,
	"trace_id": true, "span_id": true}

// optInKeys are semantic-convention names the line carries that the conventions make
// opt-in on spans, and vigil's spans leave out.
var optInKeys = map[string]bool{"http.request.body.size": true, "http.response.body.size": true}

// sameFacts asserts that every field of an access line names a fact the way the span
// does: it is one of vigil's documented own fields or one of the span's attributes,
// with the span's value.
func sameFacts(t *testing.T, what string, line map[string]any, span []attribute.KeyValue) {
	t.Helper()
	attrs := map[string]attribute.Value{}
	for _, a := range span {
		attrs[string(a.Key)] = a.Value
	}
	for _, k := range oldKeys {
		if v, ok := line[k]; ok {
			t.Errorf("%s line has the old key %s = %v", what, k, v)
		}
	}
	for k, v := range line {
		if vigilKeys[k] || optInKeys[k] {
			continue
		}
		a, ok := attrs[k]
		if !ok {
			t.Errorf("%s line field %s = %v is neither a span attribute nor one of vigil's own", what, k, v)
			continue
		}
		// JSON numbers decode as float64; the span keeps ints.
		if got, want := fmt.Sprint(v), a.String(); got != want {
			t.Errorf("%s line %s = %s, span says %s", what, k, got, want)
		}
	}
}

func TestHTTPServerLineNamesFactsAsTheSpan(t *testing.T) {
	tests := []struct {
		name, method, target string
		wantKeys             []string
	}{
		{"get with query", "GET", "/orders/42?token=s3cret&page=2",
			[]string{"http.request.method", "url.path", "url.query", "http.response.status_code", "duration_ms",
				"http.request.body.size", "http.response.body.size", "client.address", "user_agent.original",
				"network.protocol.version"}},
		{"server error", "GET", "/fail", []string{"http.response.status_code", "error.type"}},
		{"unknown method", "PURGE", "/orders/1", []string{"http.request.method", "http.request.method_original"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, nil)
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.Header.Set("User-Agent", "test-agent/1.0")
			s.h.Handler(demoMux(t)).ServeHTTP(httptest.NewRecorder(), r)
			spans := s.exp.GetSpans().Snapshots()
			lines := accessLines(t, s.logs)
			if len(spans) != 1 || len(lines) != 1 {
				t.Fatalf("%d spans, %d lines", len(spans), len(lines))
			}
			for _, k := range tt.wantKeys {
				if _, ok := lines[0][k]; !ok {
					t.Errorf("line has no %s: %v", k, lines[0])
				}
			}
			sameFacts(t, "server", lines[0], spans[0].Attributes())
		})
	}
}

// errTransport fails every request.
type errTransport struct{}

func (errTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: connection refused")
}

func TestHTTPClientLineNamesFactsAsTheSpan(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name      string
		base      http.RoundTripper
		path      string
		wantLevel string
		wantKeys  []string
	}{
		{"ok", nil, "/ok?api_key=k-1", "DEBUG", []string{"http.request.method", "server.address", "server.port",
			"url.full", "http.response.status_code", "duration_ms"}},
		{"4xx", nil, "/missing", "WARN", []string{"http.response.status_code", "error.type"}},
		{"no response", errTransport{}, "/down", "ERROR", []string{"error.type", "error.message"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, nil)
			c := &http.Client{Transport: s.h.Transport(tt.base)}
			resp, err := c.Get(srv.URL + tt.path)
			if err == nil {
				resp.Body.Close()
			}
			var line map[string]any
			for _, l := range s.logs.Lines(t) {
				if l["msg"] == "http client request" {
					line = l
				}
			}
			if line == nil {
				t.Fatalf("no client line: %v", s.logs.Lines(t))
			}
			if line["level"] != tt.wantLevel {
				t.Errorf("level = %v, want %s", line["level"], tt.wantLevel)
			}
			for _, k := range tt.wantKeys {
				if _, ok := line[k]; !ok {
					t.Errorf("line has no %s: %v", k, line)
				}
			}
			if u, _ := line["url.full"].(string); strings.Contains(u, "k-1") {
				t.Errorf("url.full leaks the key: %s", u)
			}
			spans := s.exp.GetSpans().Snapshots()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			if line["trace_id"] != spans[0].SpanContext().TraceID().String() {
				t.Errorf("line trace_id = %v, want the client span's", line["trace_id"])
			}
			sameFacts(t, "client", line, spans[0].Attributes())
		})
	}
}

func TestGRPCLinesNameFactsAsTheSpans(t *testing.T) {
	forModes(t, func(t *testing.T, m grpcMode) {
		e := newEnv(t, m.with(nil))
		_, err := e.client.UnaryCall(context.Background(), &testpb.SimpleRequest{
			ResponseStatus: &testpb.EchoStatus{Code: int32(codes.Unavailable), Message: "db down"}})
		if status.Code(err) != codes.Unavailable {
			t.Fatal(err)
		}
		name := "grpc.testing.TestService/UnaryCall"
		for _, side := range []struct {
			kind trace.SpanKind
			msg  string
		}{{trace.SpanKindServer, "grpc server call"}, {trace.SpanKindClient, "grpc client call"}} {
			sp := e.waitSpan(t, side.kind, name)
			sameFacts(t, side.msg, e.logLine(t, side.msg, "UnaryCall"), sp.Attributes)
		}
	})
}

// otherInstrumentation stands in for otelgrpc's stats handlers: it starts its own
// server and client spans and propagates W3C trace context itself.
type otherInstrumentation struct {
	server       bool
	tp           *trace.TracerProvider // set once the env has built its provider
	traceparents chan int              // server: the traceparent values each call carried
}

func (o *otherInstrumentation) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	tracer := (*o.tp).Tracer("other")
	name := strings.TrimPrefix(info.FullMethodName, "/")
	if o.server {
		md, _ := metadata.FromIncomingContext(ctx)
		o.traceparents <- len(md.Get("traceparent"))
		carrier := propagation.MapCarrier{}
		for k, v := range md {
			carrier[k] = v[0]
		}
		ctx = propagation.TraceContext{}.Extract(ctx, carrier)
		ctx, _ = tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
		return ctx
	}
	ctx, _ = tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	for k, v := range carrier {
		ctx = metadata.AppendToOutgoingContext(ctx, k, v)
	}
	return ctx
}

func (o *otherInstrumentation) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if _, ok := s.(*stats.End); ok {
		trace.SpanFromContext(ctx).End()
	}
}

func (o *otherInstrumentation) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (o *otherInstrumentation) HandleConn(context.Context, stats.ConnStats) {}

// With otelgrpc (here a stand-in) installed next to vigil, DisableSpans leaves one
// server and one client span per call, the other's; vigil's metrics, access lines (with
// the other's trace ids) and panic recovery stay.
func TestGRPCDisableSpansWithOtherInstrumentation(t *testing.T) {
	tests := []struct {
		name                   string
		disable                bool
		body                   string
		code                   codes.Code
		wantServer, wantClient int
	}{
		{"spans off", true, "", codes.OK, 1, 1},
		{"spans off, panic", true, "panic", codes.Internal, 1, 1},
		{"spans on: twice each", false, "", codes.OK, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T, m grpcMode) {
				var tp trace.TracerProvider
				srvOther := &otherInstrumentation{server: true, tp: &tp, traceparents: make(chan int, 1)}
				cliOther := &otherInstrumentation{tp: &tp}
				e := newEnvWith(t, m.with(func(c *middleware.GRPCConfig) {
					c.DisableSpans = tt.disable
					tp = c.TracerProvider
				}), []grpc.DialOption{grpc.WithStatsHandler(cliOther)}, grpc.StatsHandler(srvOther))
				ctx := metadata.AppendToOutgoingContext(context.Background(),
					"authorization", "Bearer s3cr3t", "x-api-key", "k-123", "x-tenant", "acme")
				_, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(tt.body)}})
				if status.Code(err) != tt.code {
					t.Fatalf("status = %v, want %v", err, tt.code)
				}
				if n := <-srvOther.traceparents; tt.disable && n != 1 {
					t.Errorf("the server got %d traceparent values, want the other's one", n)
				}
				name := "grpc.testing.TestService/UnaryCall"
				count := func(kind trace.SpanKind) (n int, last sdktrace.ReadOnlySpan) {
					for _, s := range e.spans.GetSpans().Snapshots() {
						if s.SpanKind() == kind && s.Name() == name {
							n, last = n+1, s
						}
					}
					return n, last
				}
				eventually(t, "the spans", func() bool {
					s, _ := count(trace.SpanKindServer)
					c, _ := count(trace.SpanKindClient)
					return s == tt.wantServer && c == tt.wantClient
				})
				e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries(name, tt.code), 1)
				e.waitHistogram(t, "rpc_client_call_duration_seconds", clientSeries(name, tt.code), 1)
				server := e.logLine(t, "grpc server call", "UnaryCall")
				client := e.logLine(t, "grpc client call", "UnaryCall")
				if !tt.disable {
					return
				}
				_, ss := count(trace.SpanKindServer)
				_, cs := count(trace.SpanKindClient)
				if ss.Parent().SpanID() != cs.SpanContext().SpanID() {
					t.Errorf("server span's parent = %v, want the client span", ss.Parent())
				}
				for _, c := range []struct {
					line map[string]any
					span sdktrace.ReadOnlySpan
				}{{server, ss}, {client, cs}} {
					if c.line["trace_id"] != c.span.SpanContext().TraceID().String() || c.line["span_id"] != c.span.SpanContext().SpanID().String() {
						t.Errorf("%s: trace %v/%v, want the other's span %v", c.line["msg"], c.line["trace_id"], c.line["span_id"], c.span.SpanContext())
					}
				}
				e.checkCapture(t, tt.body == "panic", "/grpc.testing.TestService/UnaryCall", server)
			})
		})
	}
}
