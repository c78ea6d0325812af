package observe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-go/vigil/health"
	"github.com/vigil-go/vigil/internal/logtest"
)

// TestReadyzLifecycle follows the package-level handlers through the program's life:
// 503 "starting" before Init, the checks once Init is done (a check added before Init
// included), 503 "stopping" once Shutdown has begun, through the handler mounted on
// the mux and through the Middleware alike, and again for a second Init.
func TestReadyzLifecycle(t *testing.T) {
	for _, s := range settings {
		t.Setenv(s.Var, "")
	}
	// Back to the state before any Init; restored for the tests that follow.
	for Default() != fallback() {
		_ = Shutdown(context.Background())
	}
	saved := programChecks.list
	initDone, served := lifecycle.initDone.Load(), lifecycle.served.Load()
	t.Cleanup(func() {
		programChecks.list = saved
		lifecycle.initDone.Store(initDone)
		lifecycle.served.Store(served)
	})
	programChecks.list = nil
	lifecycle.initDone.Store(false)
	lifecycle.served.Store(false)

	var failing atomic.Bool
	if err := AddCheck("warm-up", func(context.Context) error {
		if failing.Load() {
			return errors.New("cache not loaded")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := AddCheck("warm-up", func(context.Context) error { return nil }); err == nil {
		t.Error("a second check named warm-up was added")
	}
	if err := AddCheck("", func(context.Context) error { return nil }); err == nil {
		t.Error("a check without a name was added")
	}

	mux := http.NewServeMux()
	mux.Handle("GET /ready", ReadyzHandler()) // mounted by the application
	mux.Handle("GET /alive", LivezHandler())
	h := Middleware(mux) // and served by the Middleware when Health.Enabled
	probe := func(path string) (int, health.Report) {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		var r health.Report
		if w.Code != http.StatusNotFound {
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
				t.Fatalf("%s: %d %q", path, w.Code, w.Body)
			}
		}
		return w.Code, r
	}
	expect := func(when string, want map[string]string) {
		t.Helper()
		for path, w := range want {
			code, r := probe(path)
			var checks []string
			for _, c := range r.Checks {
				checks = append(checks, c.Name+"="+string(c.Status))
			}
			got := strings.TrimSpace(strings.Join([]string{strconv.Itoa(code), string(r.Status), strings.Join(checks, ",")}, " "))
			if got != w {
				t.Errorf("%s: %s = %q, want %q", when, path, got, w)
			}
		}
	}

	expect("before Init", map[string]string{
		"/ready": "503 starting", "/alive": "200 ok", "/readyz": "404", "/livez": "404",
	})

	var logs logtest.Buffer
	cfg := quietConfig(&logs)
	cfg.Health.Enabled = true
	cfg.Health.Interval = time.Nanosecond
	o, err := Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	expect("after Init", map[string]string{
		"/ready": "200 ok warm-up=ok", "/readyz": "200 ok warm-up=ok", "/livez": "200 ok",
	})
	failing.Store(true)
	expect("failing", map[string]string{"/ready": "503 fail warm-up=fail", "/readyz": "503 fail warm-up=fail"})
	failing.Store(false)
	expect("passing again", map[string]string{"/ready": "200 ok warm-up=ok", "/readyz": "200 ok warm-up=ok"})

	if err := o.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect("after Shutdown", map[string]string{
		"/ready": "503 stopping", "/readyz": "503 stopping", "/livez": "200 ok", "/alive": "200 ok",
	})
	w := httptest.NewRecorder()
	o.ReadyzHandler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"status":"stopping"`) {
		t.Errorf("the shut-down Observer's own handler: %d %s", w.Code, w.Body)
	}

	// A second Init runs the program's checks too.
	o2, err := Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	expect("second Init", map[string]string{"/ready": "200 ok warm-up=ok"})
	_ = o2.Shutdown(context.Background())
}
