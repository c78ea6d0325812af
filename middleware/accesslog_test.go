package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/middleware"
)

// TestAccessLineEncoderMatchesRecord serves the same request through the one-pass
// encoder (vigil's JSON handler) and through the slog.Record fallback (a fan-out, which
// the encoder leaves to slog), and checks the lines agree on every field that does not
// vary per request; and that a context attribute clashing with a line key sends the line
// through the key rule.
func TestAccessLineEncoderMatchesRecord(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("short and stout"))
	})
	// A JWT in the path, a secret parameter and a URL with a password in the query.
	target := "/orders/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX2J5dGVz?token=abc&next=https://u:pw@h/"
	serve := func(t *testing.T, fanout bool, ctx context.Context) map[string]any {
		t.Helper()
		logs := &logtest.Buffer{}
		cfg := logging.Config{Output: logs, RedactKeys: []string{"user_agent"}}
		if fanout {
			cfg.Handlers = []slog.Handler{slog.DiscardHandler}
		}
		logger, err := logging.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		h, err := middleware.NewHTTP(middleware.HTTPConfig{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, target, nil).WithContext(ctx)
		req.Header.Set("User-Agent", "probe/1.0")
		h.Handler(mux).ServeHTTP(httptest.NewRecorder(), req)
		lines := logs.Lines(t)
		if len(lines) != 1 {
			t.Fatalf("lines: %v", lines)
		}
		for _, k := range []string{"time", "duration_ms", "request_id"} {
			if _, ok := lines[0][k]; !ok {
				t.Errorf("no %s in %v", k, lines[0])
			}
			delete(lines[0], k)
		}
		return lines[0]
	}
	fast, slow := serve(t, false, context.Background()), serve(t, true, context.Background())
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("encoder wrote\n%v\nthe record path\n%v", fast, slow)
	}
	for k, want := range map[string]any{
		"url.path":                  "/orders/[REDACTED]",
		"url.query":                 "token=[REDACTED]&next=https://u:[REDACTED]@h/",
		"user_agent.original":       "[REDACTED]",
		"http.response.status_code": float64(418),
		"route":                     "/orders/{id}",
		"http.response.body.size":   float64(15),
	} {
		if fast[k] != want {
			t.Errorf("%s = %v, want %v", k, fast[k], want)
		}
	}

	clash := logging.WithAttrs(context.Background(), slog.String("url.path", "outer"))
	line := serve(t, false, clash)
	if line["url.path"] != "outer" || line["attr.url.path"] != "/orders/[REDACTED]" {
		t.Errorf("clashing context attribute: %v", line)
	}
}
