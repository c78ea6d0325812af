package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// testService implements the interop TestService: a payload body of "panic" panics, a
// ResponseStatus is returned as the call's status.
type testService struct {
	testpb.UnimplementedTestServiceServer
}

func payloadStatus(body []byte, st *testpb.EchoStatus) error {
	if string(body) == "panic" {
		panic("boom: secret internals")
	}
	if st != nil && st.Code != 0 {
		return status.Error(codes.Code(st.Code), st.Message)
	}
	return nil
}

func (testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := payloadStatus(req.GetPayload().GetBody(), req.GetResponseStatus()); err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

func (testService) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := payloadStatus(req.GetPayload().GetBody(), req.GetResponseStatus()); err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

func (testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	for range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return payloadStatus(req.GetPayload().GetBody(), req.GetResponseStatus())
}

// capture is one call of GRPCConfig.Capture.
type capture struct {
	v         any
	attrs     map[string]slog.Value
	requestID string
	route     string
	traceID   string
}

type env struct {
	logs     *logBuffer
	spans    *tracetest.InMemoryExporter
	reg      *metrics.Registry
	conn     *grpc.ClientConn
	client   testpb.TestServiceClient
	health   healthpb.HealthClient
	mu       sync.Mutex
	captures []capture
}

func newEnv(t *testing.T, edit func(*middleware.GRPCConfig), serverOpts ...grpc.ServerOption) *env {
	t.Helper()
	return newEnvWith(t, edit, nil, serverOpts...)
}

// newEnvWith is newEnv with more dial options, after vigil's.
func newEnvWith(t *testing.T, edit func(*middleware.GRPCConfig), dialOpts []grpc.DialOption, serverOpts ...grpc.ServerOption) *env {
	t.Helper()
	leakOpt := goleak.IgnoreCurrent()
	e := &env{logs: &logBuffer{}, spans: tracetest.NewInMemoryExporter()}
	logger, err := logging.New(logging.Config{Output: e.logs, Level: slog.LevelDebug, Service: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg, err = metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(e.spans))
	cfg := middleware.GRPCConfig{
		Logger:         logger,
		Registry:       e.reg,
		TracerProvider: tp,
		Propagator:     propagation.TraceContext{},
		Capture: func(ctx context.Context, v any, attrs ...slog.Attr) string {
			c := capture{v: v, attrs: map[string]slog.Value{}, traceID: trace.SpanContextFromContext(ctx).TraceID().String()}
			c.requestID, _ = ctxattrs.Lookup(ctx, "request_id")
			c.route, _ = ctxattrs.Lookup(ctx, "route")
			for _, a := range attrs {
				c.attrs[a.Key] = a.Value
			}
			e.mu.Lock()
			e.captures = append(e.captures, c)
			e.mu.Unlock()
			return "event-1"
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	g, err := middleware.NewGRPC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(append(g.ServerOptions(), serverOpts...)...)
	testpb.RegisterTestServiceServer(srv, testService{})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	e.conn, err = grpc.NewClient("passthrough:///bufnet",
		append(append(g.DialOptions(), dialOpts...),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	e.client = testpb.NewTestServiceClient(e.conn)
	e.health = healthpb.NewHealthClient(e.conn)
	t.Cleanup(func() {
		e.conn.Close()
		srv.Stop()
		<-served
		_ = tp.Shutdown(context.Background())
		goleak.VerifyNone(t, leakOpt)
	})
	return e
}

// grpcModes are the two ways ServerOptions instruments a server: the stats handler with
// the interceptors (the default), and the interceptors alone (InterceptorsOnly). The
// behavioural tests run in both and assert the same series, span attributes and lines.
var grpcModes = []struct {
	name string
	mode grpcMode
}{
	{"stats handler", func(*middleware.GRPCConfig) {}},
	{"interceptors only", func(c *middleware.GRPCConfig) { c.InterceptorsOnly = true }},
}

// grpcMode sets up one of grpcModes in a config.
type grpcMode func(*middleware.GRPCConfig)

// with is the mode, then edit.
func (m grpcMode) with(edit func(*middleware.GRPCConfig)) func(*middleware.GRPCConfig) {
	return func(c *middleware.GRPCConfig) {
		m(c)
		if edit != nil {
			edit(c)
		}
	}
}

// forModes runs f once in each of grpcModes, as subtests.
func forModes(t *testing.T, f func(t *testing.T, m grpcMode)) {
	t.Helper()
	for _, gm := range grpcModes {
		t.Run(gm.name, func(t *testing.T) { f(t, gm.mode) })
	}
}

// eventually polls cond: the server records a call after the client has its status.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) span(kind trace.SpanKind, name string) (tracetest.SpanStub, bool) {
	for _, s := range e.spans.GetSpans() {
		if s.SpanKind == kind && s.Name == name {
			return s, true
		}
	}
	return tracetest.SpanStub{}, false
}

func (e *env) waitSpan(t *testing.T, kind trace.SpanKind, name string) tracetest.SpanStub {
	t.Helper()
	var s tracetest.SpanStub
	eventually(t, kind.String()+" span "+name, func() bool {
		var ok bool
		s, ok = e.span(kind, name)
		return ok
	})
	return s
}

// logLine waits for the line with msg about method (its full name or a suffix).
func (e *env) logLine(t *testing.T, msg, method string) map[string]any {
	t.Helper()
	return e.waitLine(t, "log line "+msg+" "+method, func(l map[string]any) bool {
		m, _ := l["rpc.method"].(string)
		return l["msg"] == msg && (m == method || strings.HasSuffix(m, "/"+method))
	})
}

// msgLine waits for the first line with msg.
func (e *env) msgLine(t *testing.T, msg string) map[string]any {
	t.Helper()
	return e.waitLine(t, "log line "+msg, func(l map[string]any) bool { return l["msg"] == msg })
}

// waitLine waits for the first logged line that match accepts, and returns it.
func (e *env) waitLine(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var line map[string]any
	eventually(t, what, func() bool {
		for _, l := range e.logs.Lines(t) {
			if match(l) {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

// histogram returns the sample count and sum of the series of name with labels.
func (e *env) histogram(t *testing.T, name string, labels map[string]string) (uint64, float64) {
	t.Helper()
	fams, err := e.reg.Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			if len(got) != len(labels) {
				continue
			}
			h := m.GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}

func (e *env) waitHistogram(t *testing.T, name string, labels map[string]string, want uint64) float64 {
	t.Helper()
	var sum float64
	eventually(t, name+" count", func() bool {
		var n uint64
		n, sum = e.histogram(t, name, labels)
		return n == want
	})
	return sum
}

// semconvCodes are the rpc.response.status_code values of OpenTelemetry's gRPC
// conventions: the codes' canonical names.
var semconvCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// serverFault says which codes fail a server span (and set error.type on the server).
func serverFault(code codes.Code) bool {
	switch code {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// serverSeries is the label set of a server call's duration series, as otelgrpc's
// rpc.server.call.duration has it: rpc.system.name, rpc.method (the full name),
// rpc.response.status_code, and error.type for server faults.
func serverSeries(method string, code codes.Code) map[string]string {
	errType := ""
	if serverFault(code) {
		errType = semconvCodes[code]
	}
	return map[string]string{"rpc_system_name": "grpc", "rpc_method": method, "rpc_response_status_code": semconvCodes[code], "error_type": errType}
}

// clientSeries is a client call's: error.type for any failure, and the server called.
func clientSeries(method string, code codes.Code) map[string]string {
	errType := ""
	if code != codes.OK {
		errType = semconvCodes[code]
	}
	return map[string]string{"rpc_system_name": "grpc", "rpc_method": method, "rpc_response_status_code": semconvCodes[code],
		"error_type": errType, "server_address": "bufnet", "server_port": ""}
}

func attrOf(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkCall asserts what both sides recorded for one finished call.
func (e *env) checkCall(t *testing.T, method string, code codes.Code, serverLevel, clientLevel string) (server, client map[string]any) {
	t.Helper()
	name := "grpc.testing.TestService/" + method
	cs := e.waitSpan(t, trace.SpanKindClient, name)
	ss := e.waitSpan(t, trace.SpanKindServer, name)
	if ss.Parent.SpanID() != cs.SpanContext.SpanID() || ss.SpanContext.TraceID() != cs.SpanContext.TraceID() {
		t.Errorf("server span parent %v, want the client span %v", ss.Parent, cs.SpanContext)
	}
	if !ss.Parent.IsRemote() {
		t.Error("server span's parent is not marked remote")
	}
	for _, s := range []tracetest.SpanStub{cs, ss} {
		for k, want := range map[string]any{"rpc.system.name": "grpc", "rpc.method": name, "rpc.response.status_code": semconvCodes[code]} {
			v, ok := attrOf(s, k)
			if !ok || v.AsInterface() != want {
				t.Errorf("%s span %s = %v, want %v", s.SpanKind, k, v.AsInterface(), want)
			}
		}
		// The older generation's names are gone, not kept next to the new ones.
		for _, k := range []string{"rpc.system", "rpc.service", "rpc.grpc.status_code"} {
			if v, ok := attrOf(s, k); ok {
				t.Errorf("%s span has %s = %v", s.SpanKind, k, v.AsInterface())
			}
		}
		wantErr := code != codes.OK && (s.SpanKind == trace.SpanKindClient || serverFault(code))
		if v, ok := attrOf(s, "error.type"); ok != wantErr || (ok && v.AsString() != semconvCodes[code]) {
			t.Errorf("%s span error.type = %v (set %v) for %v", s.SpanKind, v.AsInterface(), ok, code)
		}
	}
	wantServerErr := code == codes.Internal || code == codes.Unknown || code == codes.Unavailable
	if got := ss.Status.Code == otelcodes.Error; got != wantServerErr {
		t.Errorf("server span status %v for %v", ss.Status, code)
	}
	if got := cs.Status.Code == otelcodes.Error; got != (code != codes.OK) {
		t.Errorf("client span status %v for %v", cs.Status, code)
	}
	if v, _ := attrOf(cs, "server.address"); v.AsString() != "bufnet" {
		t.Errorf("client span server.address = %q", v.AsString())
	}

	e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries(name, code), 1)
	e.waitHistogram(t, "rpc_client_call_duration_seconds", clientSeries(name, code), 1)

	server = e.logLine(t, "grpc server call", method)
	client = e.logLine(t, "grpc client call", method)
	for side, l := range map[string]map[string]any{"server": server, "client": client} {
		want := serverLevel
		wantSpan := ss
		if side == "client" {
			want, wantSpan = clientLevel, cs
		}
		if l["level"] != want {
			t.Errorf("%s line level = %v, want %s", side, l["level"], want)
		}
		// The line names each fact as the span does.
		if l["rpc.system.name"] != "grpc" || l["rpc.method"] != name || l["rpc.response.status_code"] != semconvCodes[code] {
			t.Errorf("%s line = %v", side, l)
		}
		if v, _ := attrOf(wantSpan, "error.type"); (l["error.type"] != nil || v.AsString() != "") && l["error.type"] != v.AsString() {
			t.Errorf("%s line error.type = %v, span says %q", side, l["error.type"], v.AsString())
		}
		if side == "client" && l["server.address"] != "bufnet" {
			t.Errorf("client line server.address = %v", l["server.address"])
		}
		if l["trace_id"] != wantSpan.SpanContext.TraceID().String() || l["span_id"] != wantSpan.SpanContext.SpanID().String() {
			t.Errorf("%s line trace %v/%v, want its span %v", side, l["trace_id"], l["span_id"], wantSpan.SpanContext)
		}
		if d, ok := l["duration_ms"].(float64); !ok || d <= 0 {
			t.Errorf("%s line duration_ms = %v", side, l["duration_ms"])
		}
		if (code != codes.OK) != (l["error.message"] != nil) {
			t.Errorf("%s line error.message = %v for %v", side, l["error.message"], code)
		}
	}
	if id, _ := server["request_id"].(string); !hex32.MatchString(id) {
		t.Errorf("server line request_id = %q, want a generated id", id)
	}
	if server["route"] != "/grpc.testing.TestService/"+method {
		t.Errorf("server line route = %v", server["route"])
	}
	if v, _ := attrOf(ss, "request_id"); v.AsString() != server["request_id"] {
		t.Errorf("server span request_id = %q, log says %v", v.AsString(), server["request_id"])
	}
	return server, client
}

func TestGRPCUnary(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		status       *testpb.EchoStatus
		code         codes.Code
		serverLevel  string
		clientLevel  string
		wantMessage  string
		wantCaptured bool
	}{
		{name: "ok", code: codes.OK, serverLevel: "INFO", clientLevel: "DEBUG"},
		{name: "not found", status: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no order 7"},
			code: codes.NotFound, serverLevel: "WARN", clientLevel: "WARN", wantMessage: "no order 7"},
		{name: "unavailable", status: &testpb.EchoStatus{Code: int32(codes.Unavailable), Message: "db down"},
			code: codes.Unavailable, serverLevel: "ERROR", clientLevel: "ERROR", wantMessage: "db down"},
		{name: "panic", body: "panic", code: codes.Internal, serverLevel: "ERROR", clientLevel: "ERROR",
			wantMessage: "internal error", wantCaptured: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T, m grpcMode) {
				e := newEnv(t, m.with(nil))
				ctx := metadata.AppendToOutgoingContext(context.Background(),
					"authorization", "Bearer s3cr3t", "x-api-key", "k-123", "x-tenant", "acme")
				_, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(tt.body)}, ResponseStatus: tt.status})
				st := status.Convert(err)
				if st.Code() != tt.code || (tt.wantMessage != "" && st.Message() != tt.wantMessage) {
					t.Fatalf("status = %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.wantMessage)
				}
				server, _ := e.checkCall(t, "UnaryCall", tt.code, tt.serverLevel, tt.clientLevel)
				e.checkCapture(t, tt.wantCaptured, "/grpc.testing.TestService/UnaryCall", server)
			})
		})
	}
}

// checkCapture asserts the panic report: the method, scrubbed metadata, and the call's
// request scope; and that nothing was reported when no panic happened.
func (e *env) checkCapture(t *testing.T, want bool, fullMethod string, serverLine map[string]any) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !want {
		if len(e.captures) != 0 {
			t.Errorf("captured %v without a panic", e.captures)
		}
		return
	}
	if len(e.captures) != 1 {
		t.Fatalf("captures = %d, want 1", len(e.captures))
	}
	c := e.captures[0]
	if c.v != "boom: secret internals" {
		t.Errorf("captured value = %v", c.v)
	}
	if c.attrs["rpc.method"].String() != strings.TrimPrefix(fullMethod, "/") {
		t.Errorf("captured rpc.method = %v", c.attrs["rpc.method"])
	}
	md := map[string]string{}
	for _, a := range c.attrs["metadata"].Group() {
		md[a.Key] = a.Value.String()
	}
	for k, want := range map[string]string{"authorization": "[REDACTED]", "x-api-key": "[REDACTED]", "x-tenant": "acme"} {
		if md[k] != want {
			t.Errorf("captured metadata %s = %q, want %q (all: %v)", k, md[k], want, md)
		}
	}
	if c.requestID != serverLine["request_id"] || c.route != fullMethod || c.traceID != serverLine["trace_id"] {
		t.Errorf("capture scope = %q %q %q, want the call's %v %v %v", c.requestID, c.route, c.traceID,
			serverLine["request_id"], fullMethod, serverLine["trace_id"])
	}
	if serverLine["panic"] != true {
		t.Errorf("server line lacks panic=true: %v", serverLine)
	}
	s, _ := e.span(trace.SpanKindServer, strings.TrimPrefix(fullMethod, "/"))
	found := false
	for _, ev := range s.Events {
		if ev.Name == "exception" {
			found = true
		}
	}
	if !found {
		t.Errorf("server span has no exception event: %v", s.Events)
	}
}

func TestGRPCStream(t *testing.T) {
	tests := []struct {
		name         string
		bodies       []string // one request each; the server answers each
		status       *testpb.EchoStatus
		code         codes.Code
		serverLevel  string
		clientLevel  string
		wantCaptured bool
		requests     float64 // received by the server
		responses    float64 // sent by the server
	}{
		{name: "ok", bodies: []string{"a", "b", "c"}, code: codes.OK, serverLevel: "INFO", clientLevel: "DEBUG", requests: 3, responses: 3},
		{name: "invalid argument", bodies: []string{"a", "b"}, status: &testpb.EchoStatus{Code: int32(codes.InvalidArgument), Message: "bad b"},
			code: codes.InvalidArgument, serverLevel: "WARN", clientLevel: "WARN", requests: 1, responses: 0},
		{name: "panic", bodies: []string{"a", "panic"}, code: codes.Internal, serverLevel: "ERROR", clientLevel: "ERROR",
			wantCaptured: true, requests: 2, responses: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T, m grpcMode) {
				e := newEnv(t, m.with(nil))
				ctx := metadata.AppendToOutgoingContext(context.Background(),
					"authorization", "Bearer s3cr3t", "x-api-key", "k-123", "x-tenant", "acme")
				stream, err := e.client.FullDuplexCall(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var recvErr error
				for i, b := range tt.bodies {
					req := &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(b)}}
					if i == 0 {
						req.ResponseStatus = tt.status
					}
					if err := stream.Send(req); err != nil {
						break // the server has ended the call; Recv reports why
					}
					if _, recvErr = stream.Recv(); recvErr != nil {
						break
					}
				}
				if recvErr == nil {
					_ = stream.CloseSend()
					_, recvErr = stream.Recv()
				}
				if recvErr == io.EOF {
					recvErr = nil
				}
				if got := status.Code(recvErr); got != tt.code {
					t.Fatalf("status = %v (%v), want %v", got, recvErr, tt.code)
				}
				if tt.wantCaptured && strings.Contains(recvErr.Error(), "boom") {
					t.Errorf("client saw the panic text: %v", recvErr)
				}
				server, client := e.checkCall(t, "FullDuplexCall", tt.code, tt.serverLevel, tt.clientLevel)
				e.checkCapture(t, tt.wantCaptured, "/grpc.testing.TestService/FullDuplexCall", server)

				labels := map[string]string{"rpc_system_name": "grpc", "rpc_method": "grpc.testing.TestService/FullDuplexCall"}
				if sum := e.waitHistogram(t, "rpc_server_requests_per_rpc", labels, 1); sum != tt.requests {
					t.Errorf("server requests per rpc = %v, want %v", sum, tt.requests)
				}
				if sum := e.waitHistogram(t, "rpc_server_responses_per_rpc", labels, 1); sum != tt.responses {
					t.Errorf("server responses per rpc = %v, want %v", sum, tt.responses)
				}
				if server["rpc.grpc.messages_received"] != tt.requests || server["rpc.grpc.messages_sent"] != tt.responses {
					t.Errorf("server line messages = %v/%v, want %v/%v", server["rpc.grpc.messages_received"], server["rpc.grpc.messages_sent"], tt.requests, tt.responses)
				}
				// The client's counts are what it sent and received before the status.
				if _, n := e.histogram(t, "rpc_client_responses_per_rpc", labels); n != tt.responses {
					t.Errorf("client responses per rpc = %v, want %v", n, tt.responses)
				}
				if client["rpc.grpc.messages_received"] != tt.responses {
					t.Errorf("client line rpc.grpc.messages_received = %v, want %v", client["rpc.grpc.messages_received"], tt.responses)
				}
			})
		})
	}
}

func TestGRPCServerStreamPanicAfterSends(t *testing.T) {
	forModes(t, func(t *testing.T, m grpcMode) {
		e := newEnv(t, m.with(nil))
		stream, err := e.client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{
			ResponseParameters: make([]*testpb.ResponseParameters, 2),
			Payload:            &testpb.Payload{Body: []byte("panic")},
		})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err = stream.Recv()
			if err != nil {
				break
			}
			n++
		}
		if n != 2 || status.Code(err) != codes.Internal || strings.Contains(err.Error(), "boom") {
			t.Fatalf("got %d messages then %v; want 2 then a bare Internal", n, err)
		}
		server := e.logLine(t, "grpc server call", "StreamingOutputCall")
		if server["rpc.grpc.messages_sent"] != 2.0 || server["panic"] != true || server["level"] != "ERROR" {
			t.Errorf("server line = %v", server)
		}
	})
}

func TestGRPCHealthSkippedButCounted(t *testing.T) {
	forModes(t, func(t *testing.T, m grpcMode) {
		e := newEnv(t, m.with(nil))
		for range 3 {
			resp, err := e.health.Check(context.Background(), &healthpb.HealthCheckRequest{})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health = %v, %v", resp, err)
			}
		}
		e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries("grpc.health.v1.Health/Check", codes.OK), 3)
		e.waitHistogram(t, "rpc_client_call_duration_seconds", clientSeries("grpc.health.v1.Health/Check", codes.OK), 3)
		if n := len(e.spans.GetSpans()); n != 0 {
			t.Errorf("health checks made %d spans", n)
		}
		if lines := e.logs.Lines(t); len(lines) != 0 {
			t.Errorf("health checks logged %v", lines)
		}
	})
}

func TestGRPCSkipOverride(t *testing.T) {
	forModes(t, func(t *testing.T, m grpcMode) {
		e := newEnv(t, m.with(func(c *middleware.GRPCConfig) { c.Skip = []string{"/grpc.testing.TestService/EmptyCall"} }))
		if _, err := e.health.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
		e.waitSpan(t, trace.SpanKindServer, "grpc.health.v1.Health/Check")
		e.logLine(t, "grpc server call", "Check")
		// EmptyCall is skipped by its full name (and answers Unimplemented from the embedded
		// default): counted, not traced or logged.
		if _, err := e.client.EmptyCall(context.Background(), &testpb.Empty{}); status.Code(err) != codes.Unimplemented {
			t.Fatal(err)
		}
		e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries("grpc.testing.TestService/EmptyCall", codes.Unimplemented), 1)
		if _, ok := e.span(trace.SpanKindServer, "grpc.testing.TestService/EmptyCall"); ok {
			t.Error("skipped method has a span")
		}
		for _, l := range e.logs.Lines(t) {
			if l["rpc.method"] == "grpc.testing.TestService/EmptyCall" {
				t.Errorf("skipped method logged: %v", l)
			}
		}
	})
}

func TestGRPCUnknownMethodIsOneSeries(t *testing.T) {
	e := newEnv(t, nil)
	for _, m := range []string{"/grpc.testing.TestService/Nope", "/evil.Service/a1", "/evil.Service/a2"} {
		err := e.conn.Invoke(context.Background(), m, &testpb.Empty{}, &testpb.Empty{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("%s: %v", m, err)
		}
	}
	e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries("_OTHER", codes.Unimplemented), 3)
	fams, _ := e.reg.Prometheus().Gather()
	for _, f := range fams {
		if f.GetName() == "rpc_server_call_duration_seconds" && len(f.GetMetric()) != 1 {
			t.Errorf("server series = %d, want only _OTHER: %v", len(f.GetMetric()), seriesLabels(f))
		}
	}
	var s tracetest.SpanStub
	eventually(t, "the _OTHER span", func() bool {
		var ok bool
		s, ok = e.span(trace.SpanKindServer, "_OTHER")
		return ok
	})
	if v, _ := attrOf(s, "rpc.method_original"); !slices.Contains([]string{"grpc.testing.TestService/Nope", "evil.Service/a1", "evil.Service/a2"}, v.AsString()) {
		t.Errorf("rpc.method_original = %q", v.AsString())
	}
	if v, _ := attrOf(s, "rpc.method"); v.AsString() != "_OTHER" {
		t.Errorf("rpc.method = %q, want _OTHER", v.AsString())
	}
	line := e.logLine(t, "grpc server call", "_OTHER")
	if line["rpc.response.status_code"] != "UNIMPLEMENTED" || line["rpc.method_original"] == nil || line["level"] != "ERROR" {
		t.Errorf("line = %v", line)
	}
}

func TestGRPCUnknownServiceHandlerIsOther(t *testing.T) {
	forModes(t, func(t *testing.T, m grpcMode) {
		e := newEnv(t, m.with(nil), grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
			return status.Error(codes.NotFound, "no backend")
		}))
		for _, m := range []string{"/evil.Service/a1", "/evil.Service/a2"} {
			err := e.conn.Invoke(context.Background(), m, &testpb.Empty{}, &testpb.Empty{})
			if status.Code(err) != codes.NotFound {
				t.Fatalf("%s: %v", m, err)
			}
		}
		e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries("_OTHER", codes.NotFound), 2)
		// Registered methods still get their own series next to the unknown-service handler.
		if _, err := e.client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
		e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries("grpc.testing.TestService/UnaryCall", codes.OK), 1)
	})
}

func seriesLabels(f *dto.MetricFamily) []string {
	var out []string
	for _, m := range f.GetMetric() {
		var parts []string
		for _, l := range m.GetLabel() {
			parts = append(parts, l.GetName()+"="+l.GetValue())
		}
		out = append(out, strings.Join(parts, ","))
	}
	return out
}

func TestGRPCRequestID(t *testing.T) {
	tests := []struct {
		name    string
		inbound string // x-request-id sent; "" sends none
		ctxID   string // request_id in the caller's context (propagated by the client)
		want    string // "" means a generated id
	}{
		{name: "absent", want: ""},
		{name: "safe inbound kept", inbound: "req-42.a:b_c", want: "req-42.a:b_c"},
		{name: "unsafe inbound replaced", inbound: `x" {"level":"forged`, want: ""},
		{name: "too long replaced", inbound: strings.Repeat("a", 65), want: ""},
		{name: "caller's id propagated", ctxID: "from-caller-7", want: "from-caller-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T, m grpcMode) {
				e := newEnv(t, m.with(nil))
				ctx := context.Background()
				if tt.inbound != "" {
					ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", tt.inbound)
				}
				if tt.ctxID != "" {
					ctx = logging.WithAttrs(ctx, slog.String("request_id", tt.ctxID))
				}
				var header metadata.MD
				if _, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Header(&header)); err != nil {
					t.Fatal(err)
				}
				line := e.logLine(t, "grpc server call", "UnaryCall")
				got, _ := line["request_id"].(string)
				if tt.want != "" && got != tt.want {
					t.Errorf("request_id = %q, want %q", got, tt.want)
				}
				if tt.want == "" && !hex32.MatchString(got) {
					t.Errorf("request_id = %q, want a generated id", got)
				}
				if echo := header.Get("x-request-id"); len(echo) != 1 || echo[0] != got {
					t.Errorf("response x-request-id = %v, want [%s]", echo, got)
				}
				if tt.ctxID != "" {
					if cl := e.logLine(t, "grpc client call", "UnaryCall"); cl["request_id"] != tt.ctxID {
						t.Errorf("client line request_id = %v", cl["request_id"])
					}
				}
			})
		})
	}
}

func TestGRPCNoCaptureFuncLogsPanicWithStack(t *testing.T) {
	forModes(t, func(t *testing.T, m grpcMode) {
		e := newEnv(t, m.with(func(c *middleware.GRPCConfig) { c.Capture = nil }))
		ctx := metadata.AppendToOutgoingContext(context.Background(), "cookie", "sid=abc")
		_, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
		if status.Code(err) != codes.Internal {
			t.Fatal(err)
		}
		line := e.msgLine(t, "panic recovered")
		md, _ := line["metadata"].(map[string]any)
		if line["panic"] != "boom: secret internals" || !strings.Contains(line["stack"].(string), "grpc_test.go") || md["cookie"] != "[REDACTED]" {
			t.Errorf("panic line = %v", line)
		}
	})
}

func TestGRPCCapturePanicsIsContained(t *testing.T) {
	forModes(t, func(t *testing.T, m grpcMode) {
		e := newEnv(t, m.with(func(c *middleware.GRPCConfig) {
			c.Capture = func(context.Context, any, ...slog.Attr) string { panic("reporter bug") }
		}))
		_, err := e.client.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
		if status.Code(err) != codes.Internal {
			t.Fatal(err)
		}
		// The server survived: the next call works.
		if _, err := e.client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewGRPCRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  middleware.GRPCConfig
		want string
	}{
		{"buckets", middleware.GRPCConfig{DurationBuckets: []float64{1, 0.5}}, "GRPCConfig.DurationBuckets = [1 0.5]"},
		{"empty buckets", middleware.GRPCConfig{DurationBuckets: []float64{}}, "GRPCConfig.DurationBuckets = []"},
		{"skip path", middleware.GRPCConfig{Skip: []string{"grpc.health.v1.Health", "/healthz"}}, `GRPCConfig.Skip[1] = "/healthz"`},
		{"skip empty", middleware.GRPCConfig{Skip: []string{""}}, `GRPCConfig.Skip[0] = ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := middleware.NewGRPC(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to name %s", err, tt.want)
			}
		})
	}
}

func TestNewGRPCConflictingFamily(t *testing.T) {
	reg, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if _, err := middleware.NewGRPC(middleware.GRPCConfig{Registry: reg}); err != nil {
		t.Fatal(err)
	}
	// The same definition again shares the families (one registry, two servers).
	if _, err := middleware.NewGRPC(middleware.GRPCConfig{Registry: reg}); err != nil {
		t.Errorf("second instance on one registry: %v", err)
	}
	other, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if _, err := other.Counter("rpc_client_call_duration_seconds", "not a histogram"); err != nil {
		t.Fatal(err)
	}
	if _, err := middleware.NewGRPC(middleware.GRPCConfig{Registry: other}); err == nil || !strings.Contains(err.Error(), "rpc_client_call_duration_seconds") {
		t.Errorf("conflicting family: err = %v", err)
	}
}

func TestGRPCZeroConfig(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, err := middleware.NewGRPC(middleware.GRPCConfig{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer(g.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, testService{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet", append(g.DialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = testpb.NewTestServiceClient(conn).UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
	if status.Code(err) != codes.Internal {
		t.Errorf("without metrics or tracing a panic still yields Internal: %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Error(err)
	}
}

// upperKeyPropagator reads its header under a mixed-case name, as a propagator may:
// metadata keys are lower case, and the server's carrier finds the value anyway.
type upperKeyPropagator struct{ got *string }

func (p upperKeyPropagator) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	*p.got = c.Get("X-Tenant-Trace")
	return ctx
}
func (upperKeyPropagator) Inject(context.Context, propagation.TextMapCarrier) {}
func (upperKeyPropagator) Fields() []string                                   { return []string{"X-Tenant-Trace"} }

// The server reads the caller's trace context and request id from the InHeader event's
// metadata; a call that reaches the interceptor without that event (not something
// grpc-go does, but a stats handler cannot rule it out) reads them from the context
// instead, and a mixed-case key asked by a propagator is found either way.
func TestGRPCServerTagsWithAndWithoutInHeader(t *testing.T) {
	const fullMethod = "/grpc.testing.TestService/UnaryCall"
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled, Remote: true,
	})
	for _, withHeader := range []bool{true, false} {
		t.Run(map[bool]string{true: "InHeader", false: "no InHeader"}[withHeader], func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			var tenant string
			g, err := middleware.NewGRPC(middleware.GRPCConfig{
				TracerProvider: tp,
				Propagator: propagation.NewCompositeTextMapPropagator(
					propagation.TraceContext{}, upperKeyPropagator{got: &tenant}),
			})
			if err != nil {
				t.Fatal(err)
			}
			md := metadata.MD{
				"traceparent":    {"00-" + parent.TraceID().String() + "-" + parent.SpanID().String() + "-01"},
				"x-request-id":   {"req-7"},
				"x-tenant-trace": {"tenant-9"},
			}
			base := metadata.NewIncomingContext(context.Background(), md)
			h := g.ServerHandler()
			ctx := h.TagRPC(base, &stats.RPCTagInfo{FullMethodName: fullMethod})
			if withHeader {
				h.HandleRPC(ctx, &stats.InHeader{FullMethod: fullMethod, Header: md.Copy()})
			}
			h.HandleRPC(ctx, &stats.Begin{})
			var inHandler trace.SpanContext
			var scope []slog.Attr
			sctx := grpc.NewContextWithServerTransportStream(ctx, &fakeStream{})
			_, err = g.UnaryServerInterceptor()(sctx, "req", &grpc.UnaryServerInfo{FullMethod: fullMethod},
				func(ctx context.Context, _ any) (any, error) {
					inHandler = trace.SpanContextFromContext(ctx)
					scope = ctxattrs.From(ctx)
					return "resp", nil
				})
			if err != nil {
				t.Fatal(err)
			}
			h.HandleRPC(ctx, &stats.End{})
			if inHandler.TraceID() != parent.TraceID() || inHandler.SpanID() == parent.SpanID() {
				t.Errorf("handler's span %v, want a child of %v", inHandler, parent)
			}
			if tenant != "tenant-9" {
				t.Errorf("the propagator read X-Tenant-Trace = %q, want tenant-9", tenant)
			}
			if !slices.ContainsFunc(scope, func(a slog.Attr) bool { return a.Key == "request_id" && a.Value.String() == "req-7" }) {
				t.Errorf("handler's scope %v, want request_id req-7", scope)
			}
			spans := rec.Ended()
			if len(spans) != 1 || spans[0].Parent().SpanID() != parent.SpanID() {
				t.Fatalf("ended spans %v, want one child of the caller's", spans)
			}
		})
	}
}

// A caller's trace context and request id are read from the InHeader event's metadata
// without copies: a call that carries them costs one allocation more than one without,
// the context layer holding the remote parent (reading the context's metadata instead
// would copy each value found, two more).
func TestGRPCServerReadsHeadersWithoutCopies(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	g, err := middleware.NewGRPC(middleware.GRPCConfig{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	h := g.ServerHandler()
	plain := metadata.MD{":authority": {"bufnet"}, "content-type": {"application/grpc"}}
	carrying := metadata.Join(plain, metadata.MD{
		"traceparent":  {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		"x-request-id": {"req-7"},
	})
	allocs := func(md metadata.MD) float64 {
		base := metadata.NewIncomingContext(context.Background(), md)
		return testing.AllocsPerRun(100, func() {
			ctx := h.TagRPC(base, &stats.RPCTagInfo{FullMethodName: "/grpc.testing.TestService/UnaryCall"})
			h.HandleRPC(ctx, &stats.InHeader{Header: md})
		})
	}
	if p, c := allocs(plain), allocs(carrying); c > p+1 {
		t.Errorf("a call with traceparent and x-request-id allocates %v times, one without %v", c, p)
	}
}

// With InterceptorsOnly, calls grpc-go answers before any interceptor runs are not
// recorded at all (GRPCConfig.InterceptorsOnly says so): an unknown method is neither
// counted as _OTHER nor traced nor logged. With the stats handler it is all three.
func TestGRPCInterceptorsOnlyLeavesUnknownMethods(t *testing.T) {
	for _, gm := range grpcModes {
		t.Run(gm.name, func(t *testing.T) {
			e := newEnv(t, gm.mode.with(nil))
			recorded := gm.name == "stats handler"
			if err := e.conn.Invoke(context.Background(), "/evil.Service/a1", &testpb.Empty{}, &testpb.Empty{}); status.Code(err) != codes.Unimplemented {
				t.Fatal(err)
			}
			// A known call afterwards: once it is recorded, so would the unknown one be.
			if _, err := e.client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
				t.Fatal(err)
			}
			e.logLine(t, "grpc server call", "UnaryCall")
			e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries("grpc.testing.TestService/UnaryCall", codes.OK), 1)
			if recorded {
				e.waitHistogram(t, "rpc_server_call_duration_seconds", serverSeries("_OTHER", codes.Unimplemented), 1)
				e.waitSpan(t, trace.SpanKindServer, "_OTHER")
				e.logLine(t, "grpc server call", "_OTHER")
				return
			}
			if n, _ := e.histogram(t, "rpc_server_call_duration_seconds", serverSeries("_OTHER", codes.Unimplemented)); n != 0 {
				t.Errorf("the unknown method was counted %d times", n)
			}
			if _, ok := e.span(trace.SpanKindServer, "_OTHER"); ok {
				t.Error("the unknown method has a server span")
			}
			for _, l := range e.logs.Lines(t) {
				if l["msg"] == "grpc server call" && l["rpc.method"] == "_OTHER" {
					t.Errorf("the unknown method was logged: %v", l)
				}
			}
			// The client side, unchanged, still records its failed call.
			e.waitHistogram(t, "rpc_client_call_duration_seconds", clientSeries("evil.Service/a1", codes.Unimplemented), 1)
		})
	}
}

// InterceptorsOnly installs two interceptors and no stats handler: the options are one
// fewer, and a server built from them saves grpc-go's event dispatch, about 20
// allocations per call (counted over the whole call, client and server, through
// bufconn; the test asks for 10 fewer).
func TestGRPCInterceptorsOnlyInstallsNoStatsHandler(t *testing.T) {
	allocs := map[string]float64{}
	for _, gm := range grpcModes {
		t.Run(gm.name, func(t *testing.T) {
			cfg := middleware.GRPCConfig{Logger: slog.New(slog.DiscardHandler)}
			gm.mode(&cfg)
			g, err := middleware.NewGRPC(cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := 3
			if cfg.InterceptorsOnly {
				want = 2
			}
			if n := len(g.ServerOptions()); n != want {
				t.Errorf("%d server options, want %d", n, want)
			}
			e := newEnv(t, gm.mode.with(nil))
			req := &testpb.SimpleRequest{}
			if _, err := e.client.UnaryCall(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			allocs[gm.name] = testing.AllocsPerRun(200, func() {
				if _, err := e.client.UnaryCall(context.Background(), req); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
	t.Logf("allocations per call: %v", allocs)
	if s, i := allocs["stats handler"], allocs["interceptors only"]; i > s-10 {
		t.Errorf("interceptors only: %v allocations per call, stats handler %v", i, s)
	}
}

// Both modes record a call alike: the server's access line, its span (name, status,
// attributes, events) and its series are the same, but for what differs between any two
// calls (ids, times, the peer's port).
func TestGRPCModesRecordTheSame(t *testing.T) {
	type record struct {
		line   map[string]any
		span   map[string]any
		series []string
	}
	calls := []struct {
		name   string
		method string
		call   func(t *testing.T, e *env)
	}{
		{"unary ok", "UnaryCall", func(t *testing.T, e *env) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "req-1")
			if _, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"unary not found", "UnaryCall", func(t *testing.T, e *env) {
			_, err := e.client.UnaryCall(context.Background(), &testpb.SimpleRequest{
				ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no order 7"}})
			if status.Code(err) != codes.NotFound {
				t.Fatal(err)
			}
		}},
		{"unary panic", "UnaryCall", func(t *testing.T, e *env) {
			_, err := e.client.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
			if status.Code(err) != codes.Internal {
				t.Fatal(err)
			}
		}},
		{"stream", "FullDuplexCall", func(t *testing.T, e *env) {
			stream, err := e.client.FullDuplexCall(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []string{"a", "b", "c"} {
				if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(b)}}); err != nil {
					t.Fatal(err)
				}
				if _, err := stream.Recv(); err != nil {
					t.Fatal(err)
				}
			}
			_ = stream.CloseSend()
			if _, err := stream.Recv(); err != io.EOF {
				t.Fatal(err)
			}
		}},
	}
	varying := []string{"time", "duration_ms", "request_id", "trace_id", "span_id", "network.peer.port"}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]record{}
			for _, gm := range grpcModes {
				e := newEnv(t, gm.mode.with(nil))
				c.call(t, e)
				var r record
				r.line = e.logLine(t, "grpc server call", c.method)
				sp := e.waitSpan(t, trace.SpanKindServer, "grpc.testing.TestService/"+c.method)
				r.span = map[string]any{"status": sp.Status.Code.String(), "parent remote": sp.Parent.IsRemote()}
				for _, a := range sp.Attributes {
					r.span[string(a.Key)] = a.Value.AsInterface()
				}
				for _, ev := range sp.Events {
					r.span["event "+ev.Name] = len(ev.Attributes)
				}
				for _, m := range []map[string]any{r.line, r.span} {
					for _, k := range varying {
						if _, ok := m[k]; ok {
							m[k] = "present"
						}
					}
				}
				fams, err := e.reg.Prometheus().Gather()
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range fams {
					if !strings.HasPrefix(f.GetName(), "rpc_server_") {
						continue
					}
					for i, l := range seriesLabels(f) {
						h := f.GetMetric()[i].GetHistogram()
						sum := h.GetSampleSum()
						if strings.HasSuffix(f.GetName(), "_seconds") {
							sum = 0 // a duration
						}
						r.series = append(r.series, fmt.Sprintf("%s{%s} count=%d sum=%v", f.GetName(), l, h.GetSampleCount(), sum))
					}
				}
				got[gm.name] = r
			}
			a, b := got[grpcModes[0].name], got[grpcModes[1].name]
			if !maps.EqualFunc(a.line, b.line, func(x, y any) bool { return x == y }) {
				t.Errorf("access lines differ:\n%s %v\n%s %v", grpcModes[0].name, a.line, grpcModes[1].name, b.line)
			}
			if !maps.EqualFunc(a.span, b.span, func(x, y any) bool { return x == y }) {
				t.Errorf("server spans differ:\n%s %v\n%s %v", grpcModes[0].name, a.span, grpcModes[1].name, b.span)
			}
			if !slices.Equal(a.series, b.series) || len(a.series) == 0 {
				t.Errorf("server series differ:\n%s %v\n%s %v", grpcModes[0].name, a.series, grpcModes[1].name, b.series)
			}
		})
	}
}
