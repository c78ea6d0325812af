package observe

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestConsoleOffNoWork: with the console off, Init installs nothing for it: the log
// writer, the errors and tracing hooks and the middleware's handler are exactly what
// they would be without the feature.
func TestConsoleOffNoWork(t *testing.T) {
	for _, env := range []string{"", "false"} {
		t.Setenv(EnvConsole, env)
		cfg := quietConfig(nil)
		cfg.Logging.Output = io.Discard
		o, err := New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if o.console != nil || o.cfg.Logging.Output != io.Discard || o.cfg.Errors.OnEvent != nil ||
			o.cfg.Errors.OnDuplicate != nil || o.cfg.Tracing.OnEnd != nil {
			t.Errorf("VIGIL_CONSOLE=%q: console parts installed", env)
		}
		app := http.NotFoundHandler()
		got, want := o.Middleware(app), o.http.mw.Handler(app)
		if reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("VIGIL_CONSOLE=%q: Middleware returns %T, the bare middleware %T", env, got, want)
		}
		if err := o.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleOnHooks: with VIGIL_CONSOLE=true every feed is installed, and a user's own
// hooks still run.
func TestConsoleOnHooks(t *testing.T) {
	t.Setenv(EnvConsole, "true")
	cfg := quietConfig(nil)
	cfg.Logging.Output = io.Discard
	var userSpans atomic.Int32
	cfg.Tracing.OnEnd = func(sdktrace.ReadOnlySpan) { userSpans.Add(1) }
	o, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	if o.console == nil {
		t.Fatal("console off")
	}
	_, span := o.Start(context.Background(), "work")
	span.End()
	if userSpans.Load() != 1 || o.console.c.Version()["traces"] != 1 {
		t.Errorf("user hook saw %d spans, console %v", userSpans.Load(), o.console.c.Version())
	}
	if o.cfg.Logging.Output == io.Discard || o.cfg.Errors.OnEvent == nil || o.cfg.Tracing.OnEnd == nil {
		t.Error("console parts missing")
	}
}
