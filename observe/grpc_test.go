package observe_test

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/vigil-go/vigil/observe"
)

// panicHealth is a health server whose Check panics.
type panicHealth struct{ *health.Server }

func (panicHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	panic("health exploded")
}

func startGRPC(t *testing.T, o *observe.Observer, svc healthpb.HealthServer) healthpb.HealthClient {
	t.Helper()
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer(o.GRPCServerOptions()...)
	healthpb.RegisterHealthServer(srv, svc)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet", append(o.GRPCDialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop(); <-done })
	return healthpb.NewHealthClient(conn)
}

func newGRPCObserver(t *testing.T, out io.Writer) *observe.Observer {
	t.Helper()
	var cfg observe.Config
	cfg.NoGlobals = true
	cfg.Service = "grpc-test"
	cfg.Logging.Output = out
	cfg.Metrics.DisableHostCollector = true
	cfg.Tracing.Exporter = "none"
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	return o
}

func scrapeGRPC(t *testing.T, o *observe.Observer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestObserverGRPC(t *testing.T) {
	t.Setenv(observe.EnvGRPCSkip, "none") // so the health service is logged here
	t.Setenv(observe.EnvGRPCAccessLog, "")
	leakOpt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leakOpt) }) // registered first, so it runs after the server stops
	var out syncBuffer
	o := newGRPCObserver(t, &out)
	if g1, g2 := o.GRPC(), o.GRPC(); g1 != g2 {
		t.Fatal("GRPC() built twice")
	}
	client := startGRPC(t, o, panicHealth{health.NewServer()})

	_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "exploded") {
		t.Fatalf("panic reached the client as %v", err)
	}
	// The server records the call after the client has its status: wait for the line.
	var line map[string]any
	for deadline := time.Now().Add(5 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		line = out.Find(t, "msg", "grpc server call")
	}
	metrics := scrapeGRPC(t, o)
	for _, want := range []string{
		// otelgrpc's labels (semantic conventions v1.43.0), in Prometheus form.
		`rpc_server_call_duration_seconds_count{error_type="INTERNAL",rpc_method="grpc.health.v1.Health/Check",rpc_response_status_code="INTERNAL",rpc_system_name="grpc"} 1`,
		`rpc_client_call_duration_seconds_count{error_type="INTERNAL",rpc_method="grpc.health.v1.Health/Check",rpc_response_status_code="INTERNAL",rpc_system_name="grpc",server_address="bufnet",server_port=""} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if line == nil || line["level"] != "ERROR" || line["panic"] != true || line["service"] != "grpc-test" {
		t.Errorf("access line = %v", line)
	}
	// The Reporter's capture line carries the call's scope.
	captured := out.Find(t, "error", "health exploded")
	if captured == nil || captured["request_id"] != line["request_id"] || captured["route"] != "/grpc.health.v1.Health/Check" {
		t.Errorf("capture line = %v, access line = %v", captured, line)
	}
}

// VIGIL_GRPC_SPANS=false turns vigil's gRPC spans off and keeps the rest: the line
// (without a trace of its own), the metrics and the recovery.
func TestObserverGRPCSpansSetting(t *testing.T) {
	for _, tt := range []struct {
		env       string
		wantTrace bool
	}{{"", true}, {"true", true}, {"false", false}} {
		t.Run("VIGIL_GRPC_SPANS="+tt.env, func(t *testing.T) {
			t.Setenv(observe.EnvGRPCSkip, "none")
			t.Setenv(observe.EnvGRPCAccessLog, "")
			t.Setenv(observe.EnvGRPCSpans, tt.env)
			var out syncBuffer
			o := newGRPCObserver(t, &out)
			client := startGRPC(t, o, panicHealth{health.NewServer()})
			if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Internal {
				t.Fatalf("err = %v, want the recovered panic's Internal", err)
			}
			var line map[string]any
			for deadline := time.Now().Add(5 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
				line = out.Find(t, "msg", "grpc server call")
			}
			if line == nil || line["panic"] != true {
				t.Fatalf("access line = %v", line)
			}
			if _, ok := line["trace_id"]; ok != tt.wantTrace {
				t.Errorf("line trace_id present = %v, want %v: %v", ok, tt.wantTrace, line)
			}
			if m := scrapeGRPC(t, o); !strings.Contains(m, `rpc_method="grpc.health.v1.Health/Check"`) {
				t.Errorf("no call series in:\n%s", m)
			}
		})
	}
}

func TestObserverGRPCBadEnvFailsInit(t *testing.T) {
	tests := []struct {
		name, skip, accessLog, spans, want string
	}{
		{"access log", "", "perhaps", "", `VIGIL_GRPC_ACCESS_LOG="perhaps"`},
		{"skip", "grpc.health.v1.Health,/bad path", "", "", observe.EnvGRPCSkip + `="grpc.health.v1.Health,/bad path"`},
		{"spans", "", "", "off-ish", `VIGIL_GRPC_SPANS="off-ish"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(observe.EnvGRPCSkip, tt.skip)
			t.Setenv(observe.EnvGRPCAccessLog, tt.accessLog)
			t.Setenv(observe.EnvGRPCSpans, tt.spans)
			var cfg observe.Config
			cfg.Logging.Output = io.Discard
			cfg.Metrics.DisableHostCollector = true
			cfg.Tracing.Exporter = "none"
			o, err := observe.New(context.Background(), cfg)
			if err == nil {
				o.Shutdown(context.Background())
				t.Fatal("Init accepted the variable")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

// VIGIL_GRPC_INTERCEPTORS_ONLY=true gives servers the two interceptors without the stats
// handler; they record the call alike: the line, the series and the recovery.
func TestObserverGRPCInterceptorsOnlySetting(t *testing.T) {
	for _, tt := range []struct {
		env         string
		wantOptions int
	}{{"", 3}, {"false", 3}, {"true", 2}} {
		t.Run(observe.EnvGRPCInterceptorsOnly+"="+tt.env, func(t *testing.T) {
			t.Setenv(observe.EnvGRPCSkip, "none")
			t.Setenv(observe.EnvGRPCAccessLog, "")
			t.Setenv(observe.EnvGRPCInterceptorsOnly, tt.env)
			var out syncBuffer
			o := newGRPCObserver(t, &out)
			if n := len(o.GRPCServerOptions()); n != tt.wantOptions {
				t.Errorf("%d server options, want %d", n, tt.wantOptions)
			}
			client := startGRPC(t, o, panicHealth{health.NewServer()})
			if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Internal {
				t.Fatalf("err = %v, want the recovered panic's Internal", err)
			}
			var line map[string]any
			for deadline := time.Now().Add(5 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
				line = out.Find(t, "msg", "grpc server call")
			}
			if line == nil || line["panic"] != true || line["trace_id"] == nil || line["request_id"] == nil {
				t.Fatalf("access line = %v", line)
			}
			want := `rpc_server_call_duration_seconds_count{error_type="INTERNAL",rpc_method="grpc.health.v1.Health/Check",rpc_response_status_code="INTERNAL",rpc_system_name="grpc"} 1`
			if m := scrapeGRPC(t, o); !strings.Contains(m, want) {
				t.Errorf("metrics lack %s:\n%s", want, m)
			}
		})
	}
}

// The package-level server options follow the default Observer's setting as they are
// built: the interceptors alone while an Observer with InterceptorsOnly is the default.
func TestGRPCServerOptionsInterceptorsOnly(t *testing.T) {
	if n := len(observe.GRPCServerOptions()); n != 3 {
		t.Errorf("before Init: %d server options, want 3", n)
	}
	var cfg observe.Config
	cfg.Service = "grpc-test"
	cfg.Logging.Output = io.Discard
	cfg.Metrics.DisableHostCollector = true
	cfg.Tracing.Exporter = "none"
	cfg.GRPC.InterceptorsOnly = true
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(observe.GRPCServerOptions()); n != 2 {
		t.Errorf("with InterceptorsOnly: %d server options, want 2", n)
	}
	// A server built from them records its calls through the default Observer.
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer(observe.GRPCServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	srv.Stop()
	<-done
	want := `rpc_server_call_duration_seconds_count{error_type="",rpc_method="grpc.health.v1.Health/Check",rpc_response_status_code="OK",rpc_system_name="grpc"} 1`
	if m := scrapeGRPC(t, o); !strings.Contains(m, want) {
		t.Errorf("metrics lack %s:\n%s", want, m)
	}
	if err := o.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(observe.GRPCServerOptions()); n != 3 {
		t.Errorf("after Shutdown: %d server options, want 3", n)
	}
}
