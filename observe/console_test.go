package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/observe"
)

// consoleApp is an Observer with the console on and a small service behind its
// Middleware: /orders/{id} logs inside a child span, /fail captures an error, /panic
// panics.
type consoleApp struct {
	o    *observe.Observer
	h    http.Handler
	logs *syncBuffer
}

func newConsoleApp(t *testing.T, mod func(*observe.Config)) *consoleApp {
	t.Helper()
	clearEnv(t)
	logs := &syncBuffer{}
	cfg := quiet(logs)
	cfg.NoGlobals = true
	cfg.Service = "shop"
	cfg.Console.Enabled = true
	if mod != nil {
		mod(&cfg)
	}
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx, span := o.Start(r.Context(), "load order")
		o.Logger().InfoContext(ctx, "loading order", slog.String("id", r.PathValue("id")))
		span.End()
		_, _ = io.WriteString(w, "order")
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		o.Capture(r.Context(), errors.New("database down"))
		http.Error(w, "unavailable", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("nil map write") })
	return &consoleApp{o: o, h: o.Middleware(mux), logs: logs}
}

// do serves one request from remote (loopback when "").
func (a *consoleApp) do(t *testing.T, target, remote string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if remote != "" {
		r.RemoteAddr = remote
	} else {
		r.RemoteAddr = "127.0.0.1:50000"
	}
	r.Host = "127.0.0.1:8080"
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// api fetches a console endpoint as a loopback client and decodes its JSON into v.
func (a *consoleApp) api(t *testing.T, path string, v any) string {
	t.Helper()
	w := a.do(t, "/debug/vigil/api/"+path, "", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("%s: status %d: %s", path, w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("%s: %v: %s", path, err, w.Body)
	}
	return w.Body.String()
}

func (a *consoleApp) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !a.o.Reporter().Flush(ctx) {
		t.Fatal("errors not flushed")
	}
}

func TestConsoleSmoke(t *testing.T) {
	a := newConsoleApp(t, nil)
	for _, p := range []string{"/orders/1", "/orders/2", "/fail", "/fail", "/fail", "/panic"} {
		a.do(t, p, "", nil)
	}
	a.flush(t)
	for _, p := range []string{"errors", "traces", "routes", "logs", "self", "health", "version"} {
		var v any
		body := a.api(t, p, &v)
		t.Logf("%s: %.1500s", p, body)
	}
	_ = url.Values{}
	_ = runtime.NumGoroutine
}
