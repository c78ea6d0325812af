package observe

import (
	"context"
	"log/slog"

	"github.com/getsentry/sentry-go"
	"github.com/prometheus/client_golang/prometheus"

	verrors "github.com/vigil-go/vigil/errors"
)

func (o *Observer) initErrors(context.Context) error {
	cfg := o.cfg.Errors
	if cfg.Logger == nil {
		cfg.Logger = o.base
	}
	r, err := verrors.New(cfg)
	if err != nil {
		// Keep a Reporter that logs, so Capture works while New reports the error.
		if r == nil {
			r, _ = verrors.New(verrors.Config{Logger: o.base})
		}
		o.reporter = r
		return err
	}
	o.reporter = r
	o.bridges = append(o.bridges, r.Handler())
	o.addPart("errors", r.Shutdown)
	if err := o.registry.Prometheus().Register(errorsCollector{r}); err != nil {
		o.base.Error("vigil: error event metrics not registered", slog.Any("error", err))
	}
	return nil
}

// sentryHub is the hub state Init takes over with the other globals: prev is the client
// bound to sentry.CurrentHub() before the first Init, installed the one vigil bound last.
var sentryHub struct {
	prev, installed *sentry.Client
}

// switchSentry binds the globals owner's sentry.Client to sentry.CurrentHub(), so the
// program's own sentry.CaptureException (and sentry-go middleware, and libraries
// reporting through the hub) go through vigil's scrubbing, dedup, caps and queue. With
// no owner left, the client from before the first Init is restored. A client the
// program bound itself after vigil's is the program's and stays. live.mu is held.
func switchSentry(fresh bool, to *Observer) {
	hub := sentry.CurrentHub()
	if fresh {
		sentryHub.prev = hub.Client()
		sentryHub.installed = sentryHub.prev
	}
	want := sentryHub.prev
	if to != nil {
		if c := to.reporter.Client(); c != nil {
			want = c
		}
	}
	if fresh || hub.Client() == sentryHub.installed {
		hub.BindClient(want)
		sentryHub.installed = want
	}
}

// errorsCollector exposes the Reporter's counts at scrape time, so capturing costs no
// metric updates of its own.
type errorsCollector struct{ r *verrors.Reporter }

var (
	errorsEventsDesc = prometheus.NewDesc("vigil_errors_events_total",
		"Error events by what happened to them: sent to Sentry, or why not.", []string{"outcome"}, nil)
	errorsCapturedDesc = prometheus.NewDesc("vigil_errors_captured_total",
		"Errors and panics captured (each is also logged).", nil, nil)
)

func (c errorsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- errorsEventsDesc
	ch <- errorsCapturedDesc
}

func (c errorsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.Stats()
	ch <- prometheus.MustNewConstMetric(errorsCapturedDesc, prometheus.CounterValue, float64(s.Captured))
	for outcome, n := range s.Outcomes() {
		ch <- prometheus.MustNewConstMetric(errorsEventsDesc, prometheus.CounterValue, float64(n), outcome)
	}
}
