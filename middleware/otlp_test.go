package middleware_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/middleware"
	"github.com/vigil-go/vigil/tracing"
)

// The case end to end: one request in eight carries a 100 KiB User-Agent, the
// spans go to an OTLP/gRPC receiver with grpc-go's (and the Collector's) default 4 MiB
// limit, and every span arrives with the user agent bounded.
func TestHugeUserAgentsDoNotSinkOtherSpans(t *testing.T) {
	rcv := otlptest.StartGRPC(t)
	p, err := tracing.New(context.Background(), tracing.Config{Endpoint: rcv.URL, Protocol: "grpc", Exporter: "otlp", Service: "checkout",
		ExportTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, func(c *middleware.HTTPConfig) { c.TracerProvider = p.TracerProvider(); c.Logger = nil })
	h := s.h.Handler(demoMux(t))
	huge := strings.Repeat("u", 100<<10)
	const n = 1024
	for i := range n {
		req := httptest.NewRequest("GET", "/orders/7", nil)
		if i%8 == 0 {
			req.Header.Set("User-Agent", huge)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := rcv.WaitSpans(t, n, 10*time.Second)
	if len(spans) != n || p.Dropped() != 0 {
		t.Fatalf("%d of %d spans arrived, %d dropped", len(spans), n, p.Dropped())
	}
	for _, sp := range spans {
		if ua := otlptest.Attrs(sp.Attributes)["user_agent.original"]; len(ua) > limits.AttrValue {
			t.Fatalf("user_agent.original of %d bytes", len(ua))
		}
	}
	t.Logf("%d spans arrived in %d export requests", len(spans), len(rcv.Headers()))
}
