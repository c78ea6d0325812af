package benchmarks

import (
	"context"
	"log/slog"
	"net"
	"testing"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/test/bufconn"
)

// testService answers UnaryCall with a small payload. grpc-go ships the interop
// TestService compiled, so nothing needs protoc; the health service would not do, since
// vigil skips it from logs and spans by design.
type testService struct {
	testpb.UnimplementedTestServiceServer
}

func (testService) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Username: "bench", Hostname: "bufconn"}, nil
}

// grpcStack is one server configuration; check fails tb unless it recorded the call.
type grpcStack struct {
	impl  string
	opts  []grpc.ServerOption
	skip  string // non-empty: the vigil side is not there yet
	check func(tb testing.TB)
}

// dialStack starts a server with s's options over bufconn and returns a plain client.
func dialStack(tb testing.TB, s grpcStack) testpb.TestServiceClient {
	c, _ := dialStackStop(tb, s)
	return c
}

// dialStackStop is dialStack that also returns a stop func, which closes the client and
// waits for the server to finish every call: a server's stats handler may record a call
// after the client has its response, so tests check what a stack recorded after stop.
func dialStackStop(tb testing.TB, s grpcStack) (testpb.TestServiceClient, func()) {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(s.opts...)
	testpb.RegisterTestServiceServer(srv, testService{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	stop := func() {
		conn.Close()
		srv.GracefulStop()
		<-served
	}
	tb.Cleanup(stop)
	return testpb.NewTestServiceClient(conn), stop
}

// slogAdapter is the go-grpc-middleware README's adapter from its Logger to slog.
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// peerGRPC is otelgrpc's stats handler (spans; its metrics off, the Prometheus provider
// does those) plus go-grpc-middleware v2's Prometheus provider (counters and the
// handling-time histogram), logging (one line when the call finishes, like vigil's
// access line) and recovery interceptors.
func peerGRPC(tb testing.TB) grpcStack {
	spans := &spanSink{}
	tp := sdkProvider(tb, 1, spans)
	out, logs := logSink(tb)
	reg := prometheus.NewRegistry()
	srvMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	reg.MustRegister(srvMetrics)
	return grpcStack{
		impl: "otelgrpc+grpc-middleware",
		opts: []grpc.ServerOption{
			grpc.StatsHandler(otelgrpc.NewServerHandler(
				otelgrpc.WithTracerProvider(tp),
				otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
				otelgrpc.WithPropagators(w3c))),
			grpc.ChainUnaryInterceptor(
				srvMetrics.UnaryServerInterceptor(),
				logging.UnaryServerInterceptor(slogAdapter(slog.New(slog.NewJSONHandler(out, nil))),
					logging.WithLogOnEvents(logging.FinishCall)),
				recovery.UnaryServerInterceptor(),
			),
		},
		check: func(tb testing.TB) {
			checkSeries(tb, reg, "grpc_server_handled_total", "grpc_server_handling_seconds")
			checkSpans(tb, tp.ForceFlush, spans)
			checkLogLines(tb, logs, "msg", "grpc.code")
		},
	}
}

// vigilGRPC is vigil's server telemetry with every part on, exactly as an Observer
// builds it (Observer.GRPCServerOptions).
func vigilGRPC(tb testing.TB) grpcStack { return vigilGRPCWith(tb, false) }

// vigilGRPCInterceptors is vigilGRPC with GRPC.InterceptorsOnly: the same telemetry from
// the interceptors alone, without grpc-go's stats-handler dispatch (and without
// recording calls grpc-go answers before any interceptor).
func vigilGRPCInterceptors(tb testing.TB) grpcStack { return vigilGRPCWith(tb, true) }

func vigilGRPCWith(tb testing.TB, interceptorsOnly bool) grpcStack {
	tb.Helper()
	spans := &spanSink{}
	out, logs := logSink(tb)
	sinks := vigilSinks{spans: spans, logs: out, grpcInterceptorsOnly: interceptorsOnly}
	o := newObserver(tb, sinks)
	impl := "vigil"
	if interceptorsOnly {
		impl = "vigil+interceptors"
	}
	return grpcStack{
		impl: impl,
		opts: o.GRPCServerOptions(),
		check: func(tb testing.TB) {
			checkSeries(tb, o.Registry().Prometheus(), "rpc_server_call_duration_seconds")
			checkSpans(tb, o.Shutdown, spans) // Shutdown flushes; the check runs last
			checkLogLines(tb, logs, "msg", "trace_id")
		},
	}
}

// floorGRPCStack is the floor interceptor (floor_test.go), with the same span provider
// set-up as the peer.
func floorGRPCStack(tb testing.TB) grpcStack {
	spans := &spanSink{}
	tp := sdkProvider(tb, 1, spans)
	out, logs := logSink(tb)
	reg := prometheus.NewRegistry()
	f := newFloorGRPC(tp, reg, out)
	return grpcStack{
		impl: "floor",
		opts: floorGRPCStackOpts(f),
		check: func(tb testing.TB) {
			checkSeries(tb, reg, "rpc_server_call_duration_seconds")
			checkSpans(tb, tp.ForceFlush, spans)
			checkLogLines(tb, logs, "msg", "trace_id", "request_id", "rpc.method", "duration_ms")
		},
	}
}

func floorGRPCStackOpts(f *floorGRPC) []grpc.ServerOption {
	return []grpc.ServerOption{grpc.UnaryInterceptor(f.unary)}
}

// nopStatsHandler is a stats.Handler that records nothing.
type nopStatsHandler struct{}

func (nopStatsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (nopStatsHandler) HandleRPC(context.Context, stats.RPCStats)                       {}
func (nopStatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (nopStatsHandler) HandleConn(context.Context, stats.ConnStats) {}

// grpcBuilders build the stacks compared, each inside the benchmark that measures it.
var grpcBuilders = []struct {
	impl  string
	build func(testing.TB) grpcStack
}{
	{"bare", func(testing.TB) grpcStack { return grpcStack{impl: "bare"} }},
	// grpc-go's own cost of dispatching events to a stats handler that does nothing: part
	// of every stats-handler stack (the peer's otelgrpc, vigil's), not of the floor's.
	{"nop-stats", func(testing.TB) grpcStack {
		return grpcStack{impl: "nop-stats", opts: []grpc.ServerOption{grpc.StatsHandler(nopStatsHandler{})}}
	}},
	{"otelgrpc+grpc-middleware", peerGRPC},
	{"floor", floorGRPCStack},
	{"vigil", vigilGRPC},
	{"vigil+interceptors", vigilGRPCInterceptors},
}

// BenchmarkGRPCUnary makes one unary call over bufconn to a server with each stack; the
// client is the same plain one. Overhead is each impl minus impl=bare.
func BenchmarkGRPCUnary(b *testing.B) {
	req := &testpb.SimpleRequest{ResponseSize: 16}
	for _, gb := range grpcBuilders {
		b.Run("impl="+gb.impl, func(b *testing.B) {
			s := gb.build(b)
			if s.skip != "" {
				b.Skip(s.skip)
			}
			client := dialStack(b, s)
			ctx := context.Background()
			if _, err := client.UnaryCall(ctx, req); err != nil { // connect outside the timing
				b.Fatal(err)
			}
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

// TestGRPCStacksDoTheWork makes one call through each stack and checks what it recorded
// and that the request id comes back in the response headers.
func TestGRPCStacksDoTheWork(t *testing.T) {
	for _, gb := range grpcBuilders {
		t.Run(gb.impl, func(t *testing.T) {
			s := gb.build(t)
			if s.skip != "" {
				t.Skip(s.skip)
			}
			var hdr metadata.MD
			client, stop := dialStackStop(t, s)
			resp, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}, grpc.Header(&hdr))
			if err != nil {
				t.Fatal(err)
			}
			stop()
			if resp.GetUsername() != "bench" {
				t.Fatalf("response %v", resp)
			}
			if (s.impl == "vigil" || s.impl == "vigil+interceptors" || s.impl == "floor") && len(hdr.Get("x-request-id")) == 0 {
				t.Errorf("%s: no x-request-id in the response headers %v", s.impl, hdr)
			}
			if s.check != nil {
				s.check(t)
			}
		})
	}
}
