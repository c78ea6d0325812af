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
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(s.opts...)
	testpb.RegisterTestServiceServer(srv, testService{})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	return testpb.NewTestServiceClient(conn)
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
func vigilGRPC(tb testing.TB) grpcStack {
	tb.Helper()
	spans := &spanSink{}
	out, logs := logSink(tb)
	sinks := vigilSinks{spans: spans, logs: out}
	o := newObserver(tb, sinks)
	return grpcStack{
		impl: "vigil",
		opts: o.GRPCServerOptions(),
		check: func(tb testing.TB) {
			checkSeries(tb, o.Registry().Prometheus(), "rpc_server_call_duration_seconds")
			checkSpans(tb, o.Shutdown, spans) // Shutdown flushes; the check runs last
			checkLogLines(tb, logs, "msg", "trace_id")
		},
	}
}

func grpcStacks(tb testing.TB) []grpcStack {
	return []grpcStack{{impl: "bare"}, peerGRPC(tb), vigilGRPC(tb)}
}

// BenchmarkGRPCUnary makes one unary call over bufconn to a server with each stack; the
// client is the same plain one. Overhead is each impl minus impl=bare.
func BenchmarkGRPCUnary(b *testing.B) {
	req := &testpb.SimpleRequest{ResponseSize: 16}
	for _, s := range grpcStacks(b) {
		b.Run("impl="+s.impl, func(b *testing.B) {
			if s.skip != "" {
				b.Skip(s.skip)
			}
			client := dialStack(b, s)
			ctx := context.Background()
			if _, err := client.UnaryCall(ctx, req); err != nil { // connect outside the timing
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGRPCStacksDoTheWork makes one call through each stack and checks what it recorded.
func TestGRPCStacksDoTheWork(t *testing.T) {
	for _, s := range grpcStacks(t) {
		t.Run(s.impl, func(t *testing.T) {
			if s.skip != "" {
				t.Skip(s.skip)
			}
			resp, err := dialStack(t, s).UnaryCall(context.Background(), &testpb.SimpleRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetUsername() != "bench" {
				t.Fatalf("response %v", resp)
			}
			if s.check != nil {
				s.check(t)
			}
		})
	}
}
