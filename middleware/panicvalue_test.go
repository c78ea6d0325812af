package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/middleware"
)

type hostileErr struct{}

func (hostileErr) Error() string { panic("Error method blew up") }

type login struct {
	User     string
	Password string
}

// panicValues are what handlers panic with in the wild and in issue 13: values fmt
// cannot print (a map that contains itself overflows its stack, a fatal error), values
// whose methods panic, and values that carry secrets.
func panicValues() []struct {
	name string
	v    func() any
	want string // in the span event's exception.message
} {
	return []struct {
		name string
		v    func() any
		want string
	}{
		{"map that contains itself", func() any {
			m := map[string]any{"password": "SECRET-1", "id": 7}
			m["self"] = m
			return m
		}, "!CYCLE"},
		{"slice that contains itself", func() any {
			s := []any{"a", nil}
			s[1] = s
			return s
		}, "!CYCLE"},
		{"panicking Error", func() any { return hostileErr{} }, "!PANIC in Error"},
		{"struct with a password", func() any { return login{"ann", "SECRET-2"} }, "ann"},
	}
}

// TestHandlerPanicsWithHostileValue: a 500, one capture line, one Sentry event and a
// span event, no crash and no secret anywhere.
func TestHandlerPanicsWithHostileValue(t *testing.T) {
	for _, tt := range panicValues() {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, logs, _ := newReportingStack(t)
			h := s.h.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(tt.v()) }))

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
			if rec.Code != 500 {
				t.Errorf("status %d, want 500", rec.Code)
			}

			srv.WaitForEvents(t, 1, 5*time.Second)
			if n := len(srv.Events()); n != 1 {
				t.Errorf("%d Sentry events, want 1", n)
			}
			for _, b := range srv.RawBodies() {
				if strings.Contains(string(b), "SECRET") {
					t.Errorf("secret sent to Sentry: %s", b)
				}
			}

			panicLines := 0
			for _, l := range logs.Lines(t) {
				if l["msg"] == "panic recovered" {
					panicLines++
				}
			}
			if panicLines != 1 {
				t.Errorf("%d panic lines, want 1:\n%s", panicLines, logs.String())
			}
			if strings.Contains(logs.String(), "SECRET") {
				t.Errorf("secret logged: %s", logs.String())
			}

			spans := s.exp.GetSpans()
			if len(spans) != 1 || len(spans[0].Events) != 1 {
				t.Fatalf("spans %d, events %v", len(spans), spans)
			}
			msg := eventMessage(spans[0].Events[0])
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "SECRET") {
				t.Errorf("exception.message = %q, want it to show %q and no secret", msg, tt.want)
			}
		})
	}
}

func eventMessage(e sdktrace.Event) string {
	for _, a := range e.Attributes {
		if a.Key == "exception.message" {
			return a.Value.AsString()
		}
	}
	return ""
}

// newReportingStack is newStack whose panics a real Reporter sends to a Sentry envelope
// server, logging to logs; rep is there for its slog bridge.
func newReportingStack(t *testing.T) (s *stack, srv *sentrytest.Server, logs *logtest.Buffer, rep *verrors.Reporter) {
	t.Helper()
	srv = sentrytest.NewServer(t)
	logs = &logtest.Buffer{}
	logger, err := logging.New(logging.Config{Output: logs})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = verrors.New(verrors.Config{DSN: srv.DSN(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = rep.Shutdown(ctx)
	})
	s = newStack(t, func(c *middleware.HTTPConfig) {
		c.Logger = logger
		c.Capture = rep.Capture
	})
	return s, srv, logs, rep
}

// TestGRPCHandlerPanicsWithHostileValue calls the unary interceptor directly, under a
// recording span: Internal for the client, one panic line, a span event, no crash.
func TestGRPCHandlerPanicsWithHostileValue(t *testing.T) {
	for _, tt := range panicValues() {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T, m grpcMode) {
				logs := &logtest.Buffer{}
				logger, err := logging.New(logging.Config{Output: logs})
				if err != nil {
					t.Fatal(err)
				}
				exp := tracetest.NewInMemoryExporter()
				tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
				t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				cfg := middleware.GRPCConfig{TracerProvider: tp, Logger: logger}
				m(&cfg)
				g, err := middleware.NewGRPC(cfg)
				if err != nil {
					t.Fatal(err)
				}
				ctx, sp := tp.Tracer("test").Start(context.Background(), "call")
				_, err = g.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/pkg.Svc/M"},
					func(context.Context, any) (any, error) { panic(tt.v()) })
				sp.End()
				if status.Code(err) != codes.Internal {
					t.Errorf("err = %v, want Internal", err)
				}
				var lines []map[string]any
				for _, l := range logs.Lines(t) {
					if l["msg"] == "panic recovered" {
						lines = append(lines, l)
					}
				}
				if len(lines) != 1 {
					t.Fatalf("%d panic lines:\n%s", len(lines), logs.String())
				}
				if p, _ := lines[0]["panic"].(string); !strings.Contains(p, tt.want) {
					t.Errorf("panic = %q, want %q", p, tt.want)
				}
				if strings.Contains(logs.String(), "SECRET") {
					t.Errorf("secret logged: %s", logs.String())
				}
				// The test's span, and with InterceptorsOnly the call's own, its child: one
				// of them has the exception event.
				var spans tracetest.SpanStubs
				for _, s := range exp.GetSpans() {
					if len(s.Events) > 0 {
						spans = append(spans, s)
					}
				}
				if len(spans) != 1 || len(spans[0].Events) != 1 {
					t.Fatalf("spans %v", exp.GetSpans())
				}
				if msg := eventMessage(spans[0].Events[0]); !strings.Contains(msg, tt.want) || strings.Contains(msg, "SECRET") {
					t.Errorf("exception.message = %q", msg)
				}
			})
		})
	}
}
