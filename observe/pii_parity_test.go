package observe_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/observe"
)

// An HTTP request and a gRPC call carrying the same client-IP and credential headers
// produce Sentry events that agree: the IP is sent only with SendDefaultPII, the
// credential never.
func TestPIISameForHTTPAndGRPC(t *testing.T) {
	for _, pii := range []bool{false, true} {
		name := "pii off"
		if pii {
			name = "pii on"
		}
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			srv := sentrytest.NewServer(t)
			cfg := quiet(&syncBuffer{})
			cfg.NoGlobals = true
			cfg.Errors.DSN = srv.DSN()
			cfg.Errors.SendDefaultPII = pii
			o, err := observe.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Shutdown(context.Background())

			// HTTP
			h := o.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("http boom") }))
			req := httptest.NewRequest("GET", "/orders/7", nil)
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("Authorization", "Bearer s3cr3t")
			h.ServeHTTP(httptest.NewRecorder(), req)
			httpEv := srv.WaitForEvents(t, 1, 5*time.Second)[0]

			// gRPC
			client := startGRPC(t, o, panicHealth{health.NewServer()})
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-forwarded-for", "203.0.113.9", "authorization", "Bearer s3cr3t")
			if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Internal {
				t.Fatalf("gRPC call: %v", err)
			}
			grpcEv := srv.WaitForEvents(t, 2, 5*time.Second)[1]

			httpIP, httpHas := httpEv.Request.Headers["X-Forwarded-For"]
			md := metadataOf(t, grpcEv)
			grpcIP, grpcHas := md["x-forwarded-for"]
			if httpHas != pii || grpcHas != pii {
				t.Errorf("SendDefaultPII=%v: client IP sent over HTTP %v (%q), over gRPC %v (%q)", pii, httpHas, httpIP, grpcHas, grpcIP)
			}
			if httpEv.Request.Headers["Authorization"] != "[REDACTED]" || md["authorization"] != "[REDACTED]" {
				t.Errorf("credentials: HTTP %q, gRPC %v", httpEv.Request.Headers["Authorization"], md["authorization"])
			}
		})
	}
}

// metadataOf returns the metadata group of a gRPC panic event's attributes.
func metadataOf(t *testing.T, ev *sentry.Event) map[string]any {
	t.Helper()
	attrs := ev.Contexts["attributes"]
	md, _ := attrs["metadata"].(map[string]any)
	if md == nil {
		t.Fatalf("no metadata in the event's attributes: %v", attrs)
	}
	return md
}
