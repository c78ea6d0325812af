package observe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Shutdown is bounded by Config.ShutdownTimeout when its context has no deadline, and
// its error says what each part lost and which part had not finished.
func TestShutdownBoundAndReport(t *testing.T) {
	type fake struct {
		name string
		stop func(ctx context.Context, release <-chan struct{}) error
	}
	hung := fake{"hung", func(_ context.Context, release <-chan struct{}) error { <-release; return nil }}
	lossy := fake{"lossy", func(ctx context.Context, _ <-chan struct{}) error {
		<-ctx.Done()
		return errors.New("3 events not sent")
	}}
	quick := fake{"quick", func(context.Context, <-chan struct{}) error { return nil }}
	failing := fake{"failing", func(context.Context, <-chan struct{}) error { return errors.New("final push failed") }}
	panicking := fake{"panicking", func(context.Context, <-chan struct{}) error { panic("boom") }}

	for _, tc := range []struct {
		name     string
		parts    []fake
		timeout  time.Duration // Config.ShutdownTimeout; 0 is the default
		deadline time.Duration // of Shutdown's ctx; 0 is none
		took     time.Duration
		want     []string // in the error; nil means no error
	}{
		{name: "all quick", parts: []fake{quick, quick}, took: 0},
		{name: "errors joined", parts: []fake{quick, failing, panicking}, took: 0,
			want: []string{"failing: final push failed", "panicking: shutdown panicked: boom"}},
		{name: "no deadline: the default bound", parts: []fake{quick, lossy, hung},
			took: DefaultShutdownTimeout + shutdownGrace,
			want: []string{"lossy: 3 events not sent", "still running: hung", "deadline exceeded"}},
		{name: "no deadline: Config.ShutdownTimeout", parts: []fake{lossy}, timeout: time.Second,
			took: time.Second, want: []string{"lossy: 3 events not sent"}},
		{name: "ctx deadline wins", parts: []fake{hung, lossy}, timeout: time.Hour, deadline: 2 * time.Second,
			took: 2*time.Second + shutdownGrace, want: []string{"lossy: 3 events not sent", "still running: hung"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				o := &Observer{cfg: Config{ShutdownTimeout: tc.timeout}}
				for _, p := range tc.parts {
					o.addPart(p.name, func(ctx context.Context) error { return p.stop(ctx, release) })
				}
				ctx := context.Background()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				err := o.Shutdown(ctx)
				if took := time.Since(start); took != tc.took {
					t.Errorf("Shutdown took %v (fake clock), want %v", took, tc.took)
				}
				if tc.want == nil && err != nil {
					t.Errorf("Shutdown = %v, want nil", err)
				}
				for _, w := range tc.want {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("Shutdown = %v, want it to contain %q", err, w)
					}
				}
				if again := o.Shutdown(context.Background()); again != err {
					t.Errorf("second Shutdown = %v, want the first result", again)
				}
				close(release) // the hung part finally returns; nothing is left behind
				synctest.Wait()
			})
		})
	}
}

// The fallback assembled by hand, for when even the fixed Config is refused, is safe to
// use through every method.
func TestMinimalObserverIsSafe(t *testing.T) {
	o := minimalObserver()
	ctx, span := o.Start(context.Background(), "x")
	span.End()
	o.Logger().InfoContext(ctx, "minimal")
	o.Capture(ctx, errors.New("captured"))
	o.Counter("vigil_minimal_total", "").Inc()
	o.Gauge("vigil_minimal_gauge", "").Set(1)
	rec := httptest.NewRecorder()
	o.Middleware(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("Middleware: %d", rec.Code)
	}
	if o.Transport(nil) == nil || o.GRPCServerOptions() != nil || o.GRPCDialOptions() != nil {
		t.Error("Transport or gRPC options of the minimal observer")
	}
	rec = httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "vigil_minimal_total 1") {
		t.Errorf("metrics: %s", rec.Body)
	}
	if err := o.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}
