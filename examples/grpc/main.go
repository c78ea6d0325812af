// Command grpc shows vigil on a gRPC server and client: it starts a server on a loopback
// port, calls it through an instrumented client (a health check, unary calls that succeed,
// fail and panic, a bidirectional stream), prints the rpc_* metrics, and shuts down.
//
//	go run ./examples/grpc
//
// The services are ones grpc-go ships compiled (grpc.health.v1 and the interop
// TestService), so nothing needs protoc. Every line on stdout is the JSON log: one access
// line per call from each side (client successes at Debug), the captured panic with its
// scrubbed metadata, and the trace and request ids that tie them together.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/observe"
)

// orders is the demo service: the interop TestService's UnaryCall and FullDuplexCall.
type orders struct {
	testpb.UnimplementedTestServiceServer
	log *slog.Logger
}

func (s orders) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	switch body := string(req.GetPayload().GetBody()); body {
	case "missing":
		return nil, status.Error(codes.NotFound, "no such order")
	case "crash":
		panic("order store corrupted") // the interceptor recovers it; the client sees Internal
	}
	// Handler log lines carry the call's request_id, route and trace ids.
	s.log.InfoContext(ctx, "order looked up", slog.String("order", string(req.GetPayload().GetBody())))
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

func (s orders) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	o, err := observe.Init(ctx, observe.Config{
		Service: "grpc-example",
		Logging: logging.Config{Level: slog.LevelDebug}, // show the client's access lines too
	})
	if err != nil {
		return err
	}
	defer func() {
		// Shutdown returns by the deadline and says what it could not deliver.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := o.Shutdown(ctx); err != nil {
			log.Print(err)
		}
	}()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := grpc.NewServer(o.GRPCServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	testpb.RegisterTestServiceServer(srv, orders{log: o.Logger()})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	conn, err := grpc.NewClient(lis.Addr().String(),
		append(o.GRPCDialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := calls(ctx, conn); err != nil {
		return err
	}

	// The rpc_* series, as Prometheus would scrape them.
	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, "rpc_") && strings.Contains(l, "_count") {
			fmt.Fprintln(os.Stderr, l)
		}
	}

	srv.GracefulStop()
	return <-served
}

// calls exercises every kind of call once.
func calls(ctx context.Context, conn *grpc.ClientConn) error {
	hc := healthpb.NewHealthClient(conn)
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil { // counted, not logged
		return fmt.Errorf("health: %w", err)
	}

	// The caller's request id travels to the server in x-request-id; the Authorization
	// metadata is redacted wherever it is reported.
	ctx = logging.WithAttrs(ctx, slog.String("request_id", "demo-request-1"))
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer demo-secret")
	tc := testpb.NewTestServiceClient(conn)
	for _, order := range []string{"42", "missing", "crash"} {
		_, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(order)}})
		fmt.Fprintf(os.Stderr, "UnaryCall(%s): %v\n", order, status.Code(err))
	}

	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	for _, item := range []string{"a", "b", "c"} {
		if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(item)}}); err != nil {
			return err
		}
		if _, err := stream.Recv(); err != nil {
			return err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	if _, err := stream.Recv(); err != io.EOF {
		return fmt.Errorf("stream end: %v", err)
	}
	fmt.Fprintln(os.Stderr, "FullDuplexCall: 3 messages each way")
	return nil
}
