package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
)

// FuzzRequestID sends arbitrary X-Request-ID values (and paths and user agents) through
// the HTTP middleware and the gRPC rule, and checks what a log reader relies on: the id
// that comes back is short and made of safe characters, an acceptable inbound id is kept,
// and every record stays one JSON line however hostile the input. Seeds are in
// testdata/fuzz/FuzzRequestID; run with go test -fuzz=FuzzRequestID ./middleware/.
func FuzzRequestID(f *testing.F) {
	f.Add("abc-123", "/orders/1", "curl/8")
	f.Add("a\nb", "/", "ua\r\n{\"level\":\"ERROR\"}")
	f.Add(strings.Repeat("x", 10<<10), "/x", "")
	f.Add("", "/%0a", "\u2028")
	reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		f.Fatal(err)
	}
	var logs bytes.Buffer
	logger, err := logging.New(logging.Config{Output: &logs, Level: slog.LevelDebug, Format: "json"})
	if err != nil {
		f.Fatal(err)
	}
	h, err := NewHTTP(HTTPConfig{Registry: reg, Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	handler := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "handled", "ua", r.UserAgent())
	}))
	f.Fuzz(func(t *testing.T, inbound, path, ua string) {
		got := requestID(inbound)
		if !validRequestID(got) {
			t.Fatalf("requestID(%q) = %q, not a valid id", inbound, got)
		}
		if validRequestID(inbound) != (got == inbound) {
			t.Fatalf("requestID(%q) = %q: a valid id must be kept, an invalid one replaced", inbound, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < '!' || c > '~' {
				t.Fatalf("id %q has byte %#x", got, c)
			}
		}
		ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{requestIDKey: {inbound}})
		if g := grpcRequestID(ctx); !validRequestID(g) || validRequestID(inbound) != (g == inbound) {
			t.Fatalf("grpcRequestID(%q) = %q", inbound, g)
		}

		logs.Reset()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path // any bytes, as a hostile client could send them raw
		req.Header.Set("X-Request-ID", inbound)
		req.Header.Set("User-Agent", ua)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		id := rec.Header().Get("X-Request-ID")
		if !validRequestID(id) {
			t.Fatalf("response X-Request-ID %q", id)
		}
		lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d log lines, want the handler's and the access line: %q", len(lines), logs.String())
		}
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not one JSON line: %v: %q", err, l)
			}
			if m["request_id"] != id {
				t.Fatalf("line has request_id %v, response says %q", m["request_id"], id)
			}
		}
	})
}
