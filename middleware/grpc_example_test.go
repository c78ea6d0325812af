package middleware_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// One GRPC value instruments both sides: ServerOptions for grpc.NewServer, DialOptions
// for grpc.NewClient.
func ExampleNewGRPC() {
	logger, _ := logging.New(logging.Config{Output: os.Stdout})
	reg, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	tp := trace.NewTracerProvider()
	defer tp.Shutdown(context.Background())

	g, err := middleware.NewGRPC(middleware.GRPCConfig{
		Registry:       reg,
		TracerProvider: tp,
		Logger:         logger,
		Capture: func(ctx context.Context, v any, attrs ...slog.Attr) string {
			return "" // pass (*errors.Reporter).Capture here
		},
	})
	if err != nil {
		panic(err)
	}

	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := grpc.NewServer(g.ServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	defer srv.Stop()

	conn, _ := grpc.NewClient(lis.Addr().String(),
		append(g.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	// Health checks are counted but, by default, neither logged nor traced: no JSON line.
	fmt.Println(resp.GetStatus(), err)
	// Output: SERVING <nil>
}
