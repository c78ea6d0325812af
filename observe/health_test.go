package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/health"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/observe"
)

const healthSecret = "Sup3r-s3cret-pw"

// TestHealthThroughObserve follows a check from passing to failing and back through
// /readyz, served by the Middleware (Health.Enabled) and mounted on the application's
// mux, and checks what the user sees: status codes and bodies, the error redacted in the
// body and the log, one log line per change, the gauge, and no access line, no span.
func TestHealthThroughObserve(t *testing.T) {
	for _, served := range []bool{true, false} {
		name := map[bool]string{true: "middleware", false: "mounted"}[served]
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			exp := tracetest.NewInMemoryExporter()
			logs := &syncBuffer{}
			cfg := quiet(logs)
			cfg.NoGlobals = true
			cfg.Tracing.Exporter = ""
			cfg.Tracing.SpanExporter = keptExporter{exp}
			cfg.RedactKeys = []string{"pin"}
			cfg.Health.Enabled = served
			cfg.Health.Interval = time.Nanosecond // every probe runs the checks
			o, err := observe.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var down atomic.Bool
			var calls atomic.Int32
			var spanInCheck atomic.Bool
			must(t, o.AddCheck("db", func(ctx context.Context) error {
				calls.Add(1)
				if trace.SpanFromContext(ctx).SpanContext().IsValid() {
					spanInCheck.Store(true)
				}
				if down.Load() {
					return errors.New("dial postgres://app:" + healthSecret + "@db:5432/shop: refused; pin=8731")
				}
				return nil
			}))

			mux := http.NewServeMux()
			mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
			if !served {
				mux.Handle("GET /readyz", o.ReadyzHandler())
				mux.Handle("GET /livez", o.LivezHandler())
			}
			h := o.Middleware(mux)
			get := func(path string) (int, health.Report) {
				t.Helper()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				var r health.Report
				if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
					t.Fatalf("%s: %d %q: %v", path, w.Code, w.Body, err)
				}
				return w.Code, r
			}

			for i, step := range []struct {
				down bool
				code int
			}{{false, 200}, {true, 503}, {true, 503}, {true, 503}, {false, 200}} {
				down.Store(step.down)
				code, r := get("/readyz")
				if code != step.code || len(r.Checks) != 1 || r.Checks[0].Name != "db" {
					t.Fatalf("step %d: %d %+v, want %d", i, code, r, step.code)
				}
				if step.down && r.Checks[0].Error != "dial postgres://app:[REDACTED]@db:5432/shop: refused; pin=[REDACTED]" {
					t.Errorf("step %d: error %q", i, r.Checks[0].Error)
				}
			}
			before := calls.Load()
			for range 3 {
				if code, r := get("/livez"); code != 200 || r.Status != health.StatusOK {
					t.Errorf("livez: %d %+v", code, r)
				}
			}
			if calls.Load() != before {
				t.Errorf("livez ran the check")
			}
			// An application request, for contrast: it is logged and traced.
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/orders/1", nil))

			want := `
# HELP vigil_health_check_up 1 if the health check passed its last run, 0 if it failed.
# TYPE vigil_health_check_up gauge
vigil_health_check_up{check="db"} 1
`
			if err := testutil.GatherAndCompare(o.Registry().Gatherer(), strings.NewReader(want), "vigil_health_check_up"); err != nil {
				t.Error(err)
			}
			n, err := testutil.GatherAndCount(o.Registry().Gatherer(), "vigil_health_check_latency_seconds")
			if err != nil || n != 1 {
				t.Errorf("latency series: %d, %v", n, err)
			}
			if err := o.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			if strings.Contains(logs.String(), healthSecret) || strings.Contains(logs.String(), "8731") {
				t.Errorf("the secret is in the log:\n%s", logs)
			}
			var changes, access []string
			for _, l := range logs.Lines(t) {
				switch l["msg"] {
				case "health check failing", "health check passing again":
					changes = append(changes, l["level"].(string)+" "+l["msg"].(string))
				case "http request":
					access = append(access, l["url.path"].(string))
				}
			}
			if strings.Join(changes, ", ") != "WARN health check failing, INFO health check passing again" {
				t.Errorf("state-change lines: %q", changes)
			}
			if strings.Join(access, ",") != "/orders/1" {
				t.Errorf("access lines for %q, want /orders/1 only", access)
			}
			var names []string
			for _, s := range exp.GetSpans() {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != "GET /orders/{id}" {
				t.Errorf("spans %q, want only the application request's", names)
			}
			if spanInCheck.Load() {
				t.Error("a check ran inside a span")
			}
		})
	}
}

// TestHealthNotServed: without Health.Enabled the Middleware leaves /readyz to the
// application.
func TestHealthNotServed(t *testing.T) {
	clearEnv(t)
	cfg := quiet(&syncBuffer{})
	cfg.NoGlobals = true
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	for _, path := range []string{"/readyz", "/livez"} {
		if w := serveOnce(o, path); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want the application's 404", path, w.Code)
		}
	}
}

// TestHealthEnv: VIGIL_HEALTH turns the serving on, the timeout variable reaches the
// checks.
func TestHealthEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv(observe.EnvHealth, "true")
	t.Setenv(observe.EnvHealthTimeout, "50ms")
	cfg := quiet(&syncBuffer{})
	cfg.NoGlobals = true
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	var deadline time.Duration
	must(t, o.AddCheck("db", func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		deadline = time.Until(dl)
		return nil
	}))
	if w := serveOnce(o, "/readyz"); w.Code != 200 || !strings.Contains(w.Body.String(), `"name":"db"`) {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if deadline <= 0 || deadline > 50*time.Millisecond {
		t.Errorf("the check's deadline was %v away, want within 50ms", deadline)
	}
}

func TestHealthConfigErrors(t *testing.T) {
	clearEnv(t)
	cfg := quiet(&syncBuffer{})
	cfg.NoGlobals = true
	cfg.Health.Timeout = -time.Second
	cfg.Health.Interval = -time.Second
	_, err := observe.New(context.Background(), cfg)
	var ce *observe.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "Health.Timeout") || !strings.Contains(err.Error(), "Health.Interval") {
		t.Errorf("err = %v, want a ConfigError naming Health.Timeout and Health.Interval", err)
	}
}

// TestHealthConsole: the dev console's health API shows the readiness report.
func TestHealthConsole(t *testing.T) {
	clearEnv(t)
	cfg := quiet(&syncBuffer{})
	cfg.NoGlobals = true
	cfg.Console.Enabled = true
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	must(t, o.AddCheck("queue", func(context.Context) error { return errors.New("amqp: token=" + healthSecret + " rejected") }))
	r := httptest.NewRequest("GET", "/debug/vigil/api/health", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:50000", "127.0.0.1:8080"
	w := httptest.NewRecorder()
	o.Middleware(http.NotFoundHandler()).ServeHTTP(w, r)
	var rep health.Report
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	if w.Code != 200 || rep.Status != health.StatusFail || len(rep.Checks) != 1 || rep.Checks[0].Error != "amqp: token=[REDACTED] rejected" {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A readiness check on an Observer, and its probe handlers on the application's mux.
func ExampleObserver_AddCheck() {
	o, err := observe.New(context.Background(), observe.Config{NoGlobals: true, Logging: logging.Config{Output: io.Discard}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer o.Shutdown(context.Background())

	var loaded atomic.Bool
	_ = o.AddCheck("catalog", func(ctx context.Context) error {
		if !loaded.Load() {
			return errors.New("catalog not loaded yet")
		}
		return nil
	}, health.Timeout(100*time.Millisecond))

	mux := http.NewServeMux()
	mux.Handle("GET /livez", o.LivezHandler())
	mux.Handle("GET /readyz", o.ReadyzHandler())
	w := httptest.NewRecorder()
	o.Middleware(mux).ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Print(w.Code, " ", strings.Split(w.Body.String(), `,"latency_ms"`)[0], "\n")
	// Output: 503 {"status":"fail","checks":[{"name":"catalog","status":"fail"
}
