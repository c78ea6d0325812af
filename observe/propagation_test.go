package observe_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/vigil-go/vigil/observe"
)

const (
	b3Trace = "463ac35c9f6413ad48485a3953bb6124"
	b3Span  = "a2fb4a1d1a96d312"
)

// A service behind a B3 proxy: with OTEL_PROPAGATORS=b3 or b3multi, a request that
// carries only B3 headers (multi or single) is continued by the server span, and the
// client transport sends the configured B3 form downstream, never traceparent.
func TestB3InboundContinuedAndInjected(t *testing.T) {
	inbound := map[string]http.Header{
		"multi":  {"X-B3-Traceid": {b3Trace}, "X-B3-Spanid": {b3Span}, "X-B3-Sampled": {"1"}},
		"single": {"B3": {b3Trace + "-" + b3Span + "-1"}},
	}
	for _, prop := range []string{"b3", "b3multi"} {
		for form, headers := range inbound {
			t.Run(prop+"/"+form, func(t *testing.T) {
				clearEnv(t)
				t.Setenv("OTEL_PROPAGATORS", prop)
				exp := tracetest.NewInMemoryExporter()
				cfg := quiet(&syncBuffer{})
				cfg.NoGlobals = true
				cfg.Tracing.Exporter = ""
				cfg.Tracing.SpanExporter = keptExporter{exp}
				o, err := observe.New(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer o.Shutdown(context.Background())

				var (
					mu         sync.Mutex
					downstream http.Header
				)
				backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					downstream = r.Header.Clone()
					mu.Unlock()
				}))
				defer backend.Close()
				client := &http.Client{Transport: o.Transport(nil)}
				mux := http.NewServeMux()
				mux.HandleFunc("GET /call", func(w http.ResponseWriter, r *http.Request) {
					req, _ := http.NewRequestWithContext(r.Context(), "GET", backend.URL, nil)
					if resp, err := client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
				srv := httptest.NewServer(o.Middleware(mux))
				defer srv.Close()

				req, _ := http.NewRequest("GET", srv.URL+"/call", nil)
				for k, v := range headers {
					req.Header[k] = v
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				_ = o.Tracing().ForceFlush(context.Background())

				var server *tracetest.SpanStub
				for i, s := range exp.GetSpans() {
					if s.SpanKind == trace.SpanKindServer {
						server = &exp.GetSpans()[i]
					}
				}
				if server == nil {
					t.Fatalf("no server span among %d", len(exp.GetSpans()))
				}
				if got := server.SpanContext.TraceID().String(); got != b3Trace {
					t.Errorf("server span trace id = %s, want the inbound %s", got, b3Trace)
				}
				if got := server.Parent.SpanID().String(); got != b3Span || !server.Parent.IsRemote() {
					t.Errorf("server span parent = %s (remote %v), want the inbound %s", got, server.Parent.IsRemote(), b3Span)
				}

				mu.Lock()
				defer mu.Unlock()
				if downstream.Get("Traceparent") != "" {
					t.Errorf("transport sent traceparent %q with OTEL_PROPAGATORS=%s", downstream.Get("Traceparent"), prop)
				}
				switch prop {
				case "b3":
					if !strings.HasPrefix(downstream.Get("B3"), b3Trace+"-") {
						t.Errorf("transport sent b3 %q, want the trace %s", downstream.Get("B3"), b3Trace)
					}
				case "b3multi":
					if downstream.Get("X-B3-Traceid") != b3Trace || downstream.Get("B3") != "" {
						t.Errorf("transport sent X-B3-TraceId %q b3 %q, want the multi-header form", downstream.Get("X-B3-Traceid"), downstream.Get("B3"))
					}
				}
			})
		}
	}
}

// metaHealth records what its Check sees of the incoming call.
type metaHealth struct {
	*health.Server
	mu  sync.Mutex
	md  metadata.MD
	sc  trace.SpanContext
	got bool
}

func (h *metaHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.md, _ = metadata.FromIncomingContext(ctx)
	h.sc = trace.SpanContextFromContext(ctx)
	h.got = true
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// gRPC client and server use the configured propagator too.
func TestGRPCUsesConfiguredPropagator(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_PROPAGATORS", "b3multi")
	t.Setenv("VIGIL_GRPC_SKIP", "none") // the health service is skipped by default
	var cfg observe.Config
	cfg.NoGlobals = true
	cfg.Logging.Output = &syncBuffer{}
	cfg.Metrics.DisableHostCollector = true
	cfg.Tracing.Exporter = "none"
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())

	svc := &metaHealth{Server: health.NewServer()}
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
	defer func() { conn.Close(); srv.Stop(); <-done }()

	ctx, span := o.Start(context.Background(), "caller")
	defer span.End()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	want := span.SpanContext().TraceID().String()
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if !svc.got {
		t.Fatal("Check was not called")
	}
	if got := svc.md.Get("x-b3-traceid"); len(got) != 1 || got[0] != want {
		t.Errorf("x-b3-traceid = %v, want [%s]", got, want)
	}
	if got := svc.md.Get("traceparent"); len(got) != 0 {
		t.Errorf("traceparent sent with OTEL_PROPAGATORS=b3multi: %v", got)
	}
	if got := svc.sc.TraceID().String(); got != want {
		t.Errorf("server trace id = %s, want the caller's %s", got, want)
	}
}

// Init installs the configured propagator as OpenTelemetry's global one, and an unknown
// name is an error naming the variable.
func TestPropagatorGlobalAndErrors(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_PROPAGATORS", "b3")
	cfg := quiet(&syncBuffer{})
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := o.Start(context.Background(), "x")
	out := http.Header{}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(out))
	span.End()
	_ = o.Shutdown(context.Background())
	if !strings.HasPrefix(out.Get("B3"), span.SpanContext().TraceID().String()) || out.Get("Traceparent") != "" {
		t.Errorf("the global propagator injected %v, want b3 only", out)
	}

	t.Setenv("OTEL_PROPAGATORS", "w3c")
	_, err = observe.New(context.Background(), quiet(&syncBuffer{}))
	if err == nil || !strings.Contains(err.Error(), `OTEL_PROPAGATORS="w3c": unknown propagator "w3c"`) {
		t.Errorf("New with OTEL_PROPAGATORS=w3c: %v, want an error naming the variable", err)
	}
}
