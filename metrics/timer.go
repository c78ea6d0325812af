package metrics

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
)

// Timer is a family of durations, or one bound series of it; see Counter for With.
// Prometheus gets a histogram in seconds, StatsD gets each duration in milliseconds
// ("|ms", or "|d" with StatsDConfig.Distributions) under the name with _seconds replaced
// by _ms (job_duration_seconds is job_duration_ms), so the name says the unit sent.
type Timer struct {
	vec     *vec[Timer]
	unbound bool
	to      unsafe.Pointer // *Timer; see Counter
	h       histValue      // seconds
}

// With returns the series for the label values; see Counter.With.
func (t *Timer) With(values ...string) *Timer {
	return t.vec.withFor(t, &t.to, values)
}

// Observe records d.
func (t *Timer) Observe(d time.Duration) {
	if to := t.redirect(); to != nil {
		if to.unbound {
			to.vec.mismatch(0)
			return
		}
		t = to
	}
	t.h.observe(t.vec.family, d.Seconds())
}

// ObserveContext records d, with ctx's sampled span as exemplar; see
// Histogram.ObserveContext.
func (t *Timer) ObserveContext(ctx context.Context, d time.Duration) {
	if to := t.redirect(); to != nil {
		if to.unbound {
			to.vec.mismatch(0)
			return
		}
		t = to
	}
	s := d.Seconds()
	if i := t.h.observe(t.vec.family, s); i >= 0 {
		t.h.exemplar(ctx, i, s)
	}
}

// unboundTimer returns the handle of a labelled timer family.
func unboundTimer(v *vec[Timer]) *Timer {
	t := &Timer{vec: v, unbound: true}
	t.to = unsafe.Pointer(t)
	return t
}

func (t *Timer) redirect() *Timer   { return (*Timer)(atomic.LoadPointer(&t.to)) }
func (t *Timer) vecOf() *vec[Timer] { return t.vec }
func (t *Timer) moveTo(to *Timer)   { t.h.moveTo(&to.h) }
func (t *Timer) swapTarget(to *Timer) *Timer {
	return (*Timer)(atomic.SwapPointer(&t.to, unsafe.Pointer(to)))
}

// Start returns a Stopwatch; `defer t.Start().Stop()` times the rest of a function.
func (t *Timer) Start() Stopwatch { return Stopwatch{t: t, start: time.Now()} }

// Stopwatch measures one duration for a Timer. It is a value: starting one allocates
// nothing.
type Stopwatch struct {
	t     *Timer
	start time.Time
}

// Stop records the time since Start and returns it.
func (s Stopwatch) Stop() time.Duration {
	d := time.Since(s.start)
	s.t.Observe(d)
	return d
}

// StopContext records the time since Start with ctx's span as exemplar and returns it.
func (s Stopwatch) StopContext(ctx context.Context) time.Duration {
	d := time.Since(s.start)
	s.t.ObserveContext(ctx, d)
	return d
}

func newTimerVec(f *family) *vec[Timer] {
	return newVec(f, func(v *vec[Timer], n *node[Timer]) {
		n.val.vec = v
		n.val.h.init(f.buckets, f.reg.statsd.samples(f))
	}, (*Timer).vecOf)
}

type timerFamily struct{ *vec[Timer] }

func (f timerFamily) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f timerFamily) Collect(ch chan<- prometheus.Metric) {
	collectHistograms(f.family, f.series(), func(t *Timer) *histValue { return &t.h }, ch)
}

func (f timerFamily) flushStatsD(w *statsdWriter) {
	for _, n := range f.series() {
		w.histogram(f.family, &n.stat, &n.val.h)
	}
}
