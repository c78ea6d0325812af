package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/test/bufconn"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// BenchmarkGRPCUnary measures one unary call over bufconn, bare against vigil's full
// stack on both sides (sampled spans to a batch processor, metrics, the server's access
// line as JSON to io.Discard, request id, recovery).
func BenchmarkGRPCUnary(b *testing.B) {
	b.Run("impl=bare", func(b *testing.B) { benchUnary(b, nil, nil) })
	// What grpc-go itself spends on events once any stats handler is installed, the
	// floor of every stats-handler instrumentation (otelgrpc's included).
	b.Run("impl=noop-stats-handler", func(b *testing.B) {
		benchUnary(b, []grpc.ServerOption{grpc.StatsHandler(noopHandler{})}, []grpc.DialOption{grpc.WithStatsHandler(noopHandler{})})
	})
	b.Run("impl=vigil", func(b *testing.B) {
		logger, err := logging.New(logging.Config{Output: io.Discard, Level: slog.LevelInfo})
		if err != nil {
			b.Fatal(err)
		}
		reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
		if err != nil {
			b.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer tp.Shutdown(context.Background())
		g, err := middleware.NewGRPC(middleware.GRPCConfig{
			Logger: logger, Registry: reg, TracerProvider: tp, Propagator: propagation.TraceContext{},
		})
		if err != nil {
			b.Fatal(err)
		}
		benchUnary(b, g.ServerOptions(), g.DialOptions())
	})
}

type noopHandler struct{}

func (noopHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (noopHandler) HandleRPC(context.Context, stats.RPCStats)                         {}
func (noopHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (noopHandler) HandleConn(context.Context, stats.ConnStats)                       {}

func benchUnary(b *testing.B, sopts []grpc.ServerOption, dopts []grpc.DialOption) {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(sopts...)
	testpb.RegisterTestServiceServer(srv, testService{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet", append(dopts,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := testpb.NewTestServiceClient(conn)
	req := &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hello")}}
	ctx := context.Background()
	if _, err := client.UnaryCall(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := client.UnaryCall(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
