package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/middleware"
)

// The access line is written straight into vigil's JSON encoding when the logger is
// vigil's handler, and as a slog.Record otherwise (here: a fan-out to another handler).
// Both must say the same, and both must scrub what the other side chose.
func TestGRPCAccessLineEitherPath(t *testing.T) {
	const secretMsg = "lookup failed: https://admin:hunter2@db.internal/orders?password=p4ss"
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlc2lnbmF0dXJl"
	lines := map[string][]map[string]any{}
	for _, path := range []string{"encoder", "record"} {
		t.Run(path, func(t *testing.T) {
			logs := &logBuffer{}
			e := newEnv(t, func(c *middleware.GRPCConfig) {
				cfg := logging.Config{Output: logs, Level: slog.LevelDebug, Service: "test"}
				if path == "record" {
					cfg.Handlers = []slog.Handler{slog.NewTextHandler(io.Discard, nil)}
				}
				l, err := logging.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				c.Logger = l
			})
			e.logs = logs
			_, err := e.client.UnaryCall(context.Background(), &testpb.SimpleRequest{
				ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: secretMsg}})
			if status.Code(err) != codes.NotFound {
				t.Fatalf("status %v", err)
			}
			if err := e.conn.Invoke(context.Background(), "/evil.Service/"+jwt, &testpb.Empty{}, &testpb.Empty{}); status.Code(err) != codes.Unimplemented {
				t.Fatalf("unknown method: %v", err)
			}
			server := e.logLine(t, "grpc server call", "UnaryCall")
			client := e.logLine(t, "grpc client call", "UnaryCall")
			other := e.logLine(t, "grpc server call", "_OTHER")
			for _, l := range []map[string]any{server, client, other} {
				for k, v := range l {
					if s, ok := v.(string); ok && (strings.Contains(s, "hunter2") || strings.Contains(s, "p4ss") || strings.Contains(s, jwt)) {
						t.Errorf("%s line %s = %q: a secret left the process", l["msg"], k, s)
					}
				}
			}
			if m, _ := server["error.message"].(string); !strings.Contains(m, "lookup failed") {
				t.Errorf("server error.message = %q, want the scrubbed status message", m)
			}
			if other["rpc.method_original"] == nil || other["rpc.method"] != "_OTHER" {
				t.Errorf("_OTHER line = %v", other)
			}
			// Facts that differ between runs are compared by presence only.
			for _, l := range []map[string]any{server, client, other} {
				for _, k := range []string{"time", "duration_ms", "request_id", "trace_id", "span_id", "network.peer.port"} {
					if _, ok := l[k]; ok {
						l[k] = "present"
					}
				}
			}
			lines[path] = []map[string]any{server, client, other}
		})
	}
	enc, rec := lines["encoder"], lines["record"]
	if len(enc) != 3 || len(rec) != 3 {
		t.Fatalf("lines: encoder %d, record %d", len(enc), len(rec))
	}
	for i := range enc {
		if !maps.EqualFunc(enc[i], rec[i], func(a, b any) bool { return a == b }) {
			t.Errorf("line %d differs:\nencoder %v\nrecord  %v", i, enc[i], rec[i])
		}
	}
}

// The handler's context is the call's: request_id and route from the call's one
// context value, attributes the handler adds on top, and the span's trace ids.
func TestGRPCHandlerContextScope(t *testing.T) {
	forModes(t, func(t *testing.T, m grpcMode) {
		logs := &logBuffer{}
		var logger *slog.Logger
		e := newEnv(t, m.with(func(c *middleware.GRPCConfig) {
			var err error
			if logger, err = logging.New(logging.Config{Output: logs, Level: slog.LevelDebug, Service: "test"}); err != nil {
				t.Fatal(err)
			}
			c.Logger = logger
		}), grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
			ctx := logging.WithAttrs(ss.Context(), slog.String("user", "u-42"))
			logger.InfoContext(ctx, "in handler", slog.String("request_id_seen", middleware.RequestID(ctx)))
			if err := ss.RecvMsg(&testpb.Empty{}); err != nil {
				return err
			}
			return ss.SendMsg(&testpb.Empty{})
		}))
		e.logs = logs
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "req-abc.1")
		if err := e.conn.Invoke(ctx, "/some.Service/Call", &testpb.Empty{}, &testpb.Empty{}); err != nil {
			t.Fatal(err)
		}
		line := e.msgLine(t, "in handler")
		access := e.logLine(t, "grpc server call", "_OTHER")
		for k, want := range map[string]any{
			"request_id": "req-abc.1", "request_id_seen": "req-abc.1", "route": "/some.Service/Call",
			"user": "u-42", "trace_id": access["trace_id"], "span_id": access["span_id"],
		} {
			if line[k] != want || want == nil {
				t.Errorf("handler line %s = %v, want %v (line %v)", k, line[k], want, line)
			}
		}
		if _, ok := access["user"]; ok {
			t.Errorf("the access line has the handler's attribute: %v", access)
		}
	})
}
