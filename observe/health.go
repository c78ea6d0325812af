package observe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-go/vigil/health"
	"github.com/vigil-go/vigil/internal/conferr"
)

// HealthConfig configures the health checks behind LivezHandler and ReadyzHandler (see
// package health and AddCheck).
type HealthConfig struct {
	// Enabled makes Middleware answer GET and HEAD requests for /livez and /readyz itself
	// (also VIGIL_HEALTH=true), ahead of the handler it wraps and of the telemetry:
	// probes are not counted, logged or traced. Without it, mount LivezHandler and
	// ReadyzHandler where the orchestrator expects them.
	Enabled bool
	// Timeout bounds one run of the checks, and each check without its own
	// (VIGIL_HEALTH_TIMEOUT); 0 means 2s.
	Timeout time.Duration
	// Interval is how long one run's results answer every probe (VIGIL_HEALTH_INTERVAL);
	// 0 means 1s.
	Interval time.Duration
}

// Environment variables that fill HealthConfig (see the settings table).
const (
	EnvHealth         = "VIGIL_HEALTH"
	EnvHealthTimeout  = "VIGIL_HEALTH_TIMEOUT"
	EnvHealthInterval = "VIGIL_HEALTH_INTERVAL"
)

// The paths Middleware answers when HealthConfig.Enabled is set.
const (
	LivezPath  = "/livez"
	ReadyzPath = "/readyz"
)

// lifecycle is what readiness knows of the package default, for the fallback's report:
// before the first Init it is starting, and once an Init'd Observer is shut down (the
// fallback is the default again) it is stopping.
var lifecycle struct {
	initDone atomic.Bool // an Observer was Init'd
	served   atomic.Bool // an Init'd Observer's Middleware answered probes: the fallback's does too
}

// programChecks are the checks added with the package function AddCheck. They belong to
// the program, not to one Observer: each Observer Init makes the default runs them, so
// checks added before Init, or before a test's second Init, are not lost.
var programChecks struct {
	mu   sync.Mutex
	list []programCheck
}

type programCheck struct {
	name string
	fn   func(context.Context) error
	opts []health.Option
}

func (o *Observer) initHealth(context.Context) error {
	cfg := o.cfg.Health
	ce := &conferr.Error{Part: "health"}
	if cfg.Timeout < 0 {
		ce.Add("Health.Timeout", cfg.Timeout, "must be positive (0 means 2s)")
	}
	if cfg.Interval < 0 {
		ce.Add("Health.Interval", cfg.Interval, "must be positive (0 means 1s)")
	}
	o.health = health.New(health.Config{
		Timeout:    max(cfg.Timeout, 0),
		Interval:   max(cfg.Interval, 0),
		Logger:     o.base, // a failing check is a warning in the log, not a Sentry event
		Registry:   o.registry,
		RedactKeys: o.redactKeys(),
		AllowKeys:  o.allowKeys(),
	})
	if o.cfg.fixed {
		o.health.SetPhase(fallbackPhase())
		return nil
	}
	// Readiness ends as Shutdown begins: parts are stopped first thing.
	o.parts = append(o.parts, part{name: "health", shutdown: func(context.Context) error {
		o.health.SetPhase(health.Stopping)
		return nil
	}})
	o.setConsoleHealth(func() any { return o.health.Check(context.Background()) }) // console.go
	return ce.Err()
}

// healthEntered runs when Init has made o the default: readiness now follows o, and o
// runs the program's checks.
func healthEntered(o *Observer) {
	lifecycle.initDone.Store(true)
	if o.cfg.Health.Enabled {
		lifecycle.served.Store(true)
	}
	programChecks.mu.Lock()
	defer programChecks.mu.Unlock()
	for _, pc := range programChecks.list {
		if err := o.AddCheck(pc.name, pc.fn, pc.opts...); err != nil {
			o.base.Warn("vigil: health check not added", slog.String("check", pc.name), slog.Any("error", err))
		}
	}
}

// fallbackPhase is the phase the fallback reports: starting before the first Init,
// stopping after.
func fallbackPhase() health.Phase {
	if lifecycle.initDone.Load() {
		return health.Stopping
	}
	return health.Starting
}

// orphan serves readiness for an Observer without a Checker (the logging-only fallback).
var orphan = sync.OnceValue(func() *health.Checker {
	return health.New(health.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
})

// checker returns o's Checker.
func (o *Observer) checker() *health.Checker {
	if o.health != nil {
		return o.health
	}
	return orphan()
}

// Health returns o's health checker: its checks, handlers and Last report.
func (o *Observer) Health() *health.Checker { return o.checker() }

// AddCheck adds a readiness check to o under name; see health.Checker.Add. Its error
// text is redacted with o's secret policy, its state changes are logged by o's logger,
// and o's registry gets its vigil_health_check_up and
// vigil_health_check_latency_seconds series.
func (o *Observer) AddCheck(name string, check func(ctx context.Context) error, opts ...health.Option) error {
	return o.checker().Add(name, check, opts...)
}

// LivezHandler answers liveness probes: 200 while the process serves HTTP; it runs no
// check (see health.Checker.LivezHandler).
func (o *Observer) LivezHandler() http.Handler { return o.checker().LivezHandler() }

// ReadyzHandler answers readiness probes: 200 with the checks' report when all pass, 503
// when one fails or once Shutdown has begun (see health.Checker.ReadyzHandler).
func (o *Observer) ReadyzHandler() http.Handler {
	c := o.checker()
	h := c.ReadyzHandler()
	if o.health != nil && !o.cfg.fixed {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.SetPhase(fallbackPhase())
		h.ServeHTTP(w, r)
	})
}

// AddCheck adds a readiness check for the program: the default Observer runs it from
// now on, and so does every Observer Init makes the default later. A check added before
// Init waits for it. Checks run concurrently, at most once per
// HealthConfig.Interval however many probes arrive, each within its timeout:
//
//	if err := observe.AddCheck("postgres", health.DB(db)); err != nil {
//		log.Fatal(err)
//	}
//	observe.AddCheck("warm-up", func(ctx context.Context) error {
//		if !warm.Load() {
//			return errors.New("cache not loaded yet")
//		}
//		return nil
//	}, health.Timeout(100*time.Millisecond))
func AddCheck(name string, check func(ctx context.Context) error, opts ...health.Option) error {
	programChecks.mu.Lock()
	defer programChecks.mu.Unlock()
	if slices.ContainsFunc(programChecks.list, func(pc programCheck) bool { return pc.name == name }) {
		return fmt.Errorf("health: check %q is already added", name)
	}
	var err error
	if o := current.Load(); o != nil {
		err = o.AddCheck(name, check, opts...)
	} else {
		// Validated now, so the mistake surfaces where it was made.
		err = health.New(health.Config{}).Add(name, check, opts...)
	}
	if err != nil {
		return err
	}
	programChecks.list = append(programChecks.list, programCheck{name: name, fn: check, opts: opts})
	return nil
}

// LivezHandler answers liveness probes for the default Observer; see
// Observer.LivezHandler. It never runs a check.
func LivezHandler() http.Handler {
	return &defaultHealth{build: (*Observer).LivezHandler}
}

// ReadyzHandler answers readiness probes for the default Observer, resolved at each
// request: 503 "starting" before Init, the checks' report while an Init'd Observer is
// the default, and 503 "stopping" once its Shutdown has begun.
func ReadyzHandler() http.Handler {
	return &defaultHealth{build: (*Observer).ReadyzHandler}
}

type defaultHealth struct {
	h     perDefault[http.Handler]
	build func(*Observer) http.Handler
}

func (d *defaultHealth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.h.get(Default(), d.build).ServeHTTP(w, r)
}

// withHealth answers the probes ahead of next when HealthConfig.Enabled is set (decided
// here, once: otherwise next is returned as is). The fallback answers them too once an
// Init'd Observer did, so that after Shutdown a probe sees "stopping", not a 404.
func (o *Observer) withHealth(next http.Handler) http.Handler {
	switch {
	case o.cfg.fixed:
		return &healthRoutes{o: o, next: next, live: o.LivezHandler(), ready: o.ReadyzHandler(), dynamic: true}
	case o.cfg.Health.Enabled:
		return &healthRoutes{o: o, next: next, live: o.LivezHandler(), ready: o.ReadyzHandler()}
	}
	return next
}

type healthRoutes struct {
	o           *Observer
	next        http.Handler
	live, ready http.Handler
	dynamic     bool // serve only once an Init'd Observer did (the fallback)
}

func (h *healthRoutes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && (!h.dynamic || lifecycle.served.Load()) {
		switch r.URL.Path {
		case LivezPath:
			h.live.ServeHTTP(w, r)
			return
		case ReadyzPath:
			h.ready.ServeHTTP(w, r)
			return
		}
	}
	h.next.ServeHTTP(w, r)
}
