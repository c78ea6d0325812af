//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vigil-go/vigil/observe"
)

// The gRPC traffic: health checks of the server (OK) and of a service it does not know
// (NOT_FOUND, code 5), through a server instrumented with observe's options, whose /metrics
// run.sh's Prometheus scrapes as job "grpc".
const (
	grpcJob      = "grpc"
	wantGRPCOK   = 30
	wantGRPCMiss = 10
)

// grpcService runs in the test process: examples/grpc exits after its demo, and the dashboard's
// gRPC panels need a target that stays up.
type grpcService struct {
	o       *observe.Observer
	srv     *grpc.Server
	metrics *http.Server
}

func startGRPCService(metricsAddr string) (*grpcService, error) {
	var cfg observe.Config
	cfg.NoGlobals = true
	cfg.Service = "grpc-it"
	cfg.Logging.Output = io.Discard
	cfg.Tracing.Exporter = "none"
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	g := &grpcService{o: o, srv: grpc.NewServer(o.GRPCServerOptions()...)}
	healthpb.RegisterHealthServer(g.srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = g.srv.Serve(lis) }()
	mlis, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		g.Stop()
		return nil, err
	}
	g.metrics = &http.Server{Handler: o.MetricsHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = g.metrics.Serve(mlis) }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		g.Stop()
		return nil, err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range wantGRPCOK + wantGRPCMiss {
		svc := ""
		if i >= wantGRPCOK {
			svc = "no.such.Service"
		}
		_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if want := codes.OK; svc != "" {
			want = codes.NotFound
			if status.Code(err) != want {
				return g, fmt.Errorf("health check of %q: %v, want %v", svc, err, want)
			}
		} else if err != nil {
			return g, fmt.Errorf("health check: %w", err)
		}
	}
	return g, nil
}

func (g *grpcService) Stop() {
	if g.metrics != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = g.metrics.Shutdown(ctx)
		cancel()
	}
	g.srv.Stop()
	_ = g.o.Shutdown(context.Background())
}

// testGRPC: Prometheus sees one call per health check by method and status code.
func (s *suite) testGRPC(t *testing.T) {
	if s.grpcErr != nil {
		t.Fatalf("gRPC service: %v", s.grpcErr)
	}
	// otelgrpc's labels (semantic conventions v1.43.0) in Prometheus form.
	expr := fmt.Sprintf(`sum by (rpc_system_name, rpc_method, rpc_response_status_code) (rpc_server_call_duration_seconds_count{job=%q})`, grpcJob)
	eventually(t, 20*time.Second, func() error {
		got, err := s.query(expr, time.Time{})
		if err != nil {
			return err
		}
		m := byLabels(got, "rpc_system_name", "rpc_method", "rpc_response_status_code")
		ok, miss := m["grpc grpc.health.v1.Health/Check OK"], m["grpc grpc.health.v1.Health/Check NOT_FOUND"]
		if ok != wantGRPCOK || miss != wantGRPCMiss {
			return fmt.Errorf("gRPC calls by system, method and code: %v; want Check with OK: %d, NOT_FOUND: %d", m, wantGRPCOK, wantGRPCMiss)
		}
		return nil
	})
}
