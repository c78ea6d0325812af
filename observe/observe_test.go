package observe_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/envtest"
	"github.com/vigil-go/vigil/internal/logtest"

	"go.uber.org/goleak"

	"github.com/vigil-go/vigil/observe"
)

// syncBuffer is the tests' log sink.
type syncBuffer = logtest.Buffer

// quiet is a Config whose parts start nothing in the background and log to out.
func quiet(out *syncBuffer) observe.Config {
	var cfg observe.Config
	cfg.Logging.Output = out
	cfg.Metrics.DisableHostCollector = true
	cfg.Tracing.Exporter = "none"
	return cfg
}

// clearEnv blanks every variable that could change a test's outcome.
func clearEnv(t *testing.T) {
	for _, k := range []string{
		"OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
		"OTEL_RESOURCE_ATTRIBUTES", "SENTRY_DSN", "SENTRY_ENVIRONMENT", "SENTRY_RELEASE",
		observe.EnvEnvironment, "VIGIL_LOG_LEVEL", "VIGIL_LOG_FORMAT", "VIGIL_LOG_SOURCE", "VIGIL_LOG_REDACT",
		"VIGIL_STATSD_ADDR", "VIGIL_PUSHGATEWAY_URL",
	} {
		t.Setenv(k, "")
	}
}

func TestConfigPrecedence(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		cfg      func(*observe.Config)
		wantSvc  string
		wantEnv  string
		debugOn  bool
		wantText bool
	}{
		{name: "defaults", wantSvc: "observe.test"},
		{name: "env service", env: map[string]string{"OTEL_SERVICE_NAME": "from-env"}, wantSvc: "from-env"},
		{name: "resource attribute service", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team=a,service.name=from%20attrs"}, wantSvc: "from attrs"},
		{name: "OTEL_SERVICE_NAME beats resource attribute", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=attrs", "OTEL_SERVICE_NAME": "name"}, wantSvc: "name"},
		{name: "field beats env", env: map[string]string{"OTEL_SERVICE_NAME": "from-env"},
			cfg: func(c *observe.Config) { c.Service = "from-field" }, wantSvc: "from-field"},
		{name: "env environment", env: map[string]string{observe.EnvEnvironment: "staging"}, wantSvc: "observe.test", wantEnv: "staging"},
		{name: "field environment beats env", env: map[string]string{observe.EnvEnvironment: "staging"},
			cfg: func(c *observe.Config) { c.Environment = "prod" }, wantSvc: "observe.test", wantEnv: "prod"},
		{name: "env log level", env: map[string]string{"VIGIL_LOG_LEVEL": "debug"}, wantSvc: "observe.test", debugOn: true},
		{name: "field log level beats env", env: map[string]string{"VIGIL_LOG_LEVEL": "debug"},
			cfg: func(c *observe.Config) { c.Logging.Level = slog.LevelWarn }, wantSvc: "observe.test"},
		{name: "part's own service wins", cfg: func(c *observe.Config) { c.Service = "a"; c.Logging.Service = "b" }, wantSvc: "b"},
		{name: "env log format", env: map[string]string{"VIGIL_LOG_FORMAT": "text"}, wantSvc: "observe.test", wantText: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out syncBuffer
			cfg := quiet(&out)
			cfg.NoGlobals = true
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			o, err := observe.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Shutdown(context.Background())
			if got := o.Logger().Enabled(context.Background(), slog.LevelDebug); got != tt.debugOn {
				t.Errorf("debug enabled = %v, want %v", got, tt.debugOn)
			}
			o.Logger().Warn("probe")
			if tt.wantText {
				if s := out.String(); !strings.Contains(s, "service="+tt.wantSvc) {
					t.Errorf("text line = %q", s)
				}
				return
			}
			line := out.Lines(t)[0]
			if line["service"] != tt.wantSvc {
				t.Errorf("service = %v, want %q", line["service"], tt.wantSvc)
			}
			if got, _ := line["environment"].(string); got != tt.wantEnv {
				t.Errorf("environment = %q, want %q", got, tt.wantEnv)
			}
		})
	}
}

func TestInvalidConfigNamesEachProblem(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		cfg  func(*observe.Config)
		want []string
	}{
		{name: "log format field", cfg: func(c *observe.Config) { c.Logging.Format = "xml" }, want: []string{`Logging.Format="xml"`}},
		{name: "log level env", env: map[string]string{"VIGIL_LOG_LEVEL": "chatty"}, want: []string{`VIGIL_LOG_LEVEL="chatty"`}},
		{name: "two at once", env: map[string]string{"VIGIL_LOG_LEVEL": "chatty", "VIGIL_LOG_SOURCE": "perhaps"},
			want: []string{`VIGIL_LOG_LEVEL="chatty"`, `VIGIL_LOG_SOURCE="perhaps"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			var out syncBuffer
			cfg := quiet(&out)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			o, err := observe.Init(context.Background(), cfg)
			if err == nil {
				o.Shutdown(context.Background())
				t.Fatal("Init accepted an invalid config")
			}
			if o != nil {
				t.Error("Init returned an Observer with its error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
			if observe.Default() == nil {
				t.Error("no default after a failed Init")
			}
		})
	}
}

func TestInitSetsAndShutdownRestoresGlobals(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	before := slog.Default()

	var out syncBuffer
	o, err := observe.Init(context.Background(), quiet(&out))
	if err != nil {
		t.Fatal(err)
	}
	if observe.Default() != o {
		t.Error("Init did not set the package default")
	}
	slog.Info("through the global")
	if lines := out.Lines(t); len(lines) != 1 || lines[0]["msg"] != "through the global" {
		t.Errorf("slog.Default not ours: %v", lines)
	}
	if err := observe.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if slog.Default() != before {
		t.Error("slog.Default not restored after Shutdown")
	}
	if observe.Default() == o {
		t.Error("default still the shut-down Observer")
	}
	// Idempotent: a second call returns the first result and does nothing else.
	if err := o.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestNoGlobalsLeavesSlogDefault(t *testing.T) {
	clearEnv(t)
	before := slog.Default()
	var out syncBuffer
	cfg := quiet(&out)
	cfg.NoGlobals = true
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	if slog.Default() != before {
		t.Error("NoGlobals changed slog.Default")
	}
	if observe.Default() != o {
		t.Error("NoGlobals Observer is not the package default")
	}
}

func TestInitTwiceAndExpiredShutdown(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out syncBuffer
	first, err := observe.Init(context.Background(), quiet(&out))
	if err != nil {
		t.Fatal(err)
	}
	second, err := observe.Init(context.Background(), quiet(&out))
	if err != nil {
		t.Fatal(err)
	}
	if observe.Default() != second {
		t.Error("second Init is not the default")
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	start := time.Now()
	_ = first.Shutdown(expired) // may report the deadline; must return at once
	_ = second.Shutdown(expired)
	if d := time.Since(start); d > envtest.Blocked {
		t.Errorf("Shutdown with an expired context took %v", d)
	}
	// Everything still works after Shutdown.
	observe.Logger().Info("after shutdown")
	_ = observe.Capture(context.Background(), "after shutdown")
}

// TestSafeWithoutInit exercises every package function on the fallback Observer.
func TestSafeWithoutInit(t *testing.T) {
	clearEnv(t)
	_ = observe.Shutdown(context.Background()) // make sure no default is set
	ctx, span := observe.Start(context.Background(), "no-init")
	span.End()
	observe.Logger().InfoContext(ctx, "no init")
	if id := observe.Capture(ctx, nil); id != "" {
		t.Errorf("Capture(nil) = %q", id)
	}
	observe.Capture(ctx, "a string")
	observe.Counter("vigil_test_noinit_total", "test").Inc()
	observe.Gauge("vigil_test_noinit_gauge", "test").Set(3)
	observe.Histogram("vigil_test_noinit_seconds", "test").Observe(0.1)
	observe.Timer("vigil_test_noinit_timer_seconds", "test").Observe(time.Millisecond)

	rec := httptest.NewRecorder()
	observe.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	// The fallback lives for the process, so -count=N runs add up.
	if rec.Code != http.StatusOK || !regexp.MustCompile(`(?m)^vigil_test_noinit_total [1-9]`).MatchString(rec.Body.String()) {
		t.Errorf("metrics before Init: %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	observe.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("middleware before Init: %d", rec.Code)
	}
}

func TestShutdownLeavesNoGoroutines(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for range 20 {
		var out syncBuffer
		o, err := observe.Init(context.Background(), quiet(&out))
		if err != nil {
			t.Fatal(err)
		}
		o.Logger().Info("cycle")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := o.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		cancel()
	}
}
