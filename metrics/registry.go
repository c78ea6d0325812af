package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"

	"github.com/vigil-go/vigil/internal/scrub"
)

// Opts defines a family.
type Opts struct {
	Name, Help string
	Labels     []string
	Buckets    []float64 // histograms and timers (in seconds); nil means prometheus.DefBuckets
	// SeriesLimit overrides Config.SeriesLimit for this family.
	SeriesLimit int
}

type kind uint8

const (
	kindCounter kind = iota + 1
	kindGauge
	kindHistogram
	kindTimer
	kindCounterFunc
	kindGaugeFunc
)

func (k kind) String() string {
	return [...]string{"", "counter", "gauge", "histogram", "timer", "counter func", "gauge func"}[k]
}

// family is what every kind shares: the definition and the misuse counters.
type family struct {
	reg      *Registry
	kind     kind
	name     string
	help     string
	labels   []string
	redact   []bool // labels named like secrets (token, password, ...); nil when none
	buckets  []float64
	limit    int
	ownLimit int            // Opts.SeriesLimit as given (0: the registry's), for Forward
	fn       func() float64 // CounterFunc and GaugeFunc
	desc     *prometheus.Desc

	handle any // the *Counter, *Gauge, ... returned by every definition
	series func() int
	flush  func(*statsdWriter)

	overflows, mismatches, invalid                atomic.Uint64
	overflowLogged, mismatchLogged, invalidLogged atomic.Bool
}

func (f *family) mismatch(got int) {
	f.mismatches.Add(1)
	if f.mismatchLogged.CompareAndSwap(false, true) {
		f.reg.logger.Error("metrics: wrong number of label values; the observation is not exported",
			"metric", f.name, "labels", f.labels, "got", got)
	}
}

func (f *family) invalidValue(v float64) {
	f.invalid.Add(1)
	if f.invalidLogged.CompareAndSwap(false, true) {
		f.reg.logger.Error("metrics: invalid value ignored", "metric", f.name, "kind", f.kind.String(), "value", v)
	}
}

// Registry holds families exposed to Prometheus and, when configured, sent to StatsD,
// a Pushgateway or Graphite. It is safe for concurrent use.
type Registry struct {
	cfg     Config
	reg     *prometheus.Registry
	logger  *slog.Logger
	matcher *scrub.Matcher // secret label names

	mu   sync.Mutex
	fams map[string]*family
	list atomic.Pointer[[]*family] // for the flusher and self-metrics, copy on write

	statsd   *statsdClient
	pusher   *pusher
	graphite *graphiteBridge

	pushes, pushFailures [numTargets]atomic.Uint64

	fwd       *Registry              // where r's families record (Forward); nil: r itself. Guarded by mu.
	fwdSkip   func(name string) bool // families Forward leaves in r
	followers int                    // registries forwarding into r; guarded by mu

	shutdownOnce sync.Once
	shutdownErr  error

	clashes sync.Map // counter names left out of the exposition whose removal was logged
}

// clashLogged reports whether name's removal from the exposition is to be logged now:
// once per registry, however many gatherers (a scrape each, the dev console's reads)
// come across it.
func (r *Registry) clashLogged(name string) bool {
	_, done := r.clashes.LoadOrStore(name, true)
	return !done
}

// New validates cfg (with the environment) and returns a Registry with its collectors
// registered and its backends started. A bad field or variable is an error naming it;
// nothing is left running then.
func New(cfg Config) (*Registry, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	r := &Registry{cfg: cfg, reg: prometheus.NewRegistry(), logger: cfg.Logger, fams: map[string]*family{},
		matcher: scrub.Shared(cfg.RedactKeys, cfg.AllowKeys)}
	r.list.Store(&[]*family{})
	var errs []error
	if !cfg.DisableGoCollector {
		errs = append(errs, r.reg.Register(newGoCollector()))
	}
	if !cfg.DisableProcessCollector {
		errs = append(errs, r.reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})))
	}
	if !cfg.DisableHostCollector {
		errs = append(errs, r.reg.Register(newHostCollector(hostProcRoot, cfg.Logger)))
	}
	errs = append(errs, r.reg.Register(selfCollector{r}))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("metrics: registering collectors: %w", err)
	}
	if cfg.StatsD.Addr != "" {
		r.statsd = newStatsD(cfg, r)
	}
	if cfg.Push.URL != "" {
		r.pusher = newPusher(cfg.Push, r)
	}
	if cfg.Graphite.Addr != "" {
		if r.graphite, err = newGraphite(cfg.Graphite, r); err != nil {
			r.stopBackends(context.Background())
			return nil, err
		}
	}
	return r, nil
}

// Prometheus returns the underlying registry, for extra collectors and Gatherer use.
func (r *Registry) Prometheus() *prometheus.Registry { return r.reg }

// Handler serves the exposition of Gatherer: Prometheus text, or OpenMetrics (with
// exemplars) when the scraper asks for it. A failing collector costs its own series,
// not the scrape.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.Gatherer(), promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
		ErrorLog:          slogPrintln{r.logger},
	})
}

// Shutdown stops the background work within ctx's deadline: a last StatsD flush, a last
// push to the Pushgateway and Graphite. Later calls return the first call's result.
// Families keep working afterwards; they are just no longer sent anywhere.
func (r *Registry) Shutdown(ctx context.Context) error {
	r.shutdownOnce.Do(func() { r.shutdownErr = r.stopBackends(ctx) })
	return r.shutdownErr
}

func (r *Registry) stopBackends(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, stop := range []func(context.Context) error{
		r.statsd.stop, r.pusher.stop, r.graphite.stop,
	} {
		wg.Go(func() { errs[i] = stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Counter defines (or returns the existing) counter family.
func (r *Registry) Counter(name, help string, labels ...string) (*Counter, error) {
	return r.NewCounter(Opts{Name: name, Help: help, Labels: labels})
}

// NewCounter defines a counter family from opts. Defining the same name, kind and labels
// again returns the same family; a different kind or labels is an error.
func (r *Registry) NewCounter(o Opts) (*Counter, error) {
	h, err := r.define(kindCounter, o, func(f *family) (any, prometheus.Collector) {
		v := newCounterVec(f)
		return bind(f, v, counterFamily{v}, counterFamily{v}.flushStatsD, unboundCounter(v))
	})
	if err != nil {
		return nil, err
	}
	return h.(*Counter), nil
}

// Gauge defines (or returns the existing) gauge family.
func (r *Registry) Gauge(name, help string, labels ...string) (*Gauge, error) {
	return r.NewGauge(Opts{Name: name, Help: help, Labels: labels})
}

// NewGauge defines a gauge family from opts; see NewCounter.
func (r *Registry) NewGauge(o Opts) (*Gauge, error) {
	h, err := r.define(kindGauge, o, func(f *family) (any, prometheus.Collector) {
		v := newGaugeVec(f)
		return bind(f, v, gaugeFamily{v}, gaugeFamily{v}.flushStatsD, unboundGauge(v))
	})
	if err != nil {
		return nil, err
	}
	return h.(*Gauge), nil
}

// Histogram defines a histogram family with default buckets.
func (r *Registry) Histogram(name, help string, labels ...string) (*Histogram, error) {
	return r.NewHistogram(Opts{Name: name, Help: help, Labels: labels})
}

// NewHistogram defines a histogram family from opts; see NewCounter.
func (r *Registry) NewHistogram(o Opts) (*Histogram, error) {
	h, err := r.define(kindHistogram, o, func(f *family) (any, prometheus.Collector) {
		v := newHistogramVec(f)
		return bind(f, v, histogramFamily{v}, histogramFamily{v}.flushStatsD, unboundHistogram(v))
	})
	if err != nil {
		return nil, err
	}
	return h.(*Histogram), nil
}

// Timer defines a timer family (seconds in Prometheus, milliseconds in StatsD) with
// default buckets.
func (r *Registry) Timer(name, help string, labels ...string) (*Timer, error) {
	return r.NewTimer(Opts{Name: name, Help: help, Labels: labels})
}

// NewTimer defines a timer family from opts; Buckets are in seconds. See NewCounter.
func (r *Registry) NewTimer(o Opts) (*Timer, error) {
	h, err := r.define(kindTimer, o, func(f *family) (any, prometheus.Collector) {
		v := newTimerVec(f)
		return bind(f, v, timerFamily{v}, timerFamily{v}.flushStatsD, unboundTimer(v))
	})
	if err != nil {
		return nil, err
	}
	return h.(*Timer), nil
}

// CounterFunc exposes a counter whose value fn returns at scrape time, such as another
// package's count of dropped events. fn must be safe for concurrent use. Defining the
// same name again as a CounterFunc returns nil and keeps the first fn.
func (r *Registry) CounterFunc(name, help string, fn func() float64) error {
	return r.valueFunc(name, help, prometheus.CounterValue, fn)
}

// GaugeFunc exposes a gauge whose value fn returns at scrape time; see CounterFunc.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) error {
	return r.valueFunc(name, help, prometheus.GaugeValue, fn)
}

func (r *Registry) valueFunc(name, help string, vt prometheus.ValueType, fn func() float64) error {
	k := kindCounterFunc
	if vt == prometheus.GaugeValue {
		k = kindGaugeFunc
	}
	_, err := r.define(k, Opts{Name: name, Help: help}, func(f *family) (any, prometheus.Collector) {
		f.series = func() int { return 1 }
		f.fn = fn
		return nil, funcCollector{desc: f.desc, vt: vt, fn: fn}
	})
	return err
}

type funcCollector struct {
	desc *prometheus.Desc
	vt   prometheus.ValueType
	fn   func() float64
}

func (c funcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c funcCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.desc, c.vt, c.fn())
}

// bind wires a new family's series count and StatsD flush. A label-less family's handle
// is its only series, created now so that it is exported (as 0) from the start.
func bind[T any](f *family, v *vec[T], c prometheus.Collector, flush func(*statsdWriter), unbound any) (any, prometheus.Collector) {
	f.series = v.count
	f.flush = flush
	if len(f.labels) == 0 {
		return v.only(), c
	}
	return unbound, c
}

// define validates o and returns the existing family's handle when o matches it, an
// error when it conflicts, or the handle of a new family built by mk and registered.
func (r *Registry) define(k kind, o Opts, mk func(*family) (any, prometheus.Collector)) (any, error) {
	if err := validate(k, &o); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.fams[o.Name]; ok {
		if f.kind != k || !slices.Equal(f.labels, o.Labels) || !slices.Equal(f.buckets, o.Buckets) {
			return nil, fmt.Errorf("metrics: %q is already defined as a %s with labels %q%s; cannot define it as a %s with labels %q%s",
				o.Name, f.kind, f.labels, bucketsNote(f.kind, f.buckets), k, o.Labels, bucketsNote(k, o.Buckets))
		}
		return f.handle, nil
	}
	limit := o.SeriesLimit
	if limit == 0 {
		limit = r.cfg.SeriesLimit
	}
	f := &family{
		reg: r, kind: k, name: o.Name, help: o.Help,
		labels: slices.Clone(o.Labels), buckets: slices.Clone(o.Buckets), limit: limit, ownLimit: o.SeriesLimit,
	}
	for i, l := range f.labels {
		if r.matcher.Sensitive(l) {
			if f.redact == nil {
				f.redact = make([]bool, len(f.labels))
			}
			f.redact[i] = true
		}
	}
	f.desc = prometheus.NewDesc(o.Name, o.Help, f.labels, nil)
	handle, c := mk(f)
	if err := r.reg.Register(c); err != nil {
		return nil, fmt.Errorf("metrics: defining %q: %w", o.Name, err)
	}
	f.handle = handle
	r.fams[o.Name] = f
	list := append(slices.Clone(*r.list.Load()), f)
	r.list.Store(&list)
	if r.fwd != nil {
		// Defined after Forward: it records where the others do.
		if err := r.forwardFamily(f); err != nil {
			r.logger.Error("metrics: family not forwarded; it records here", "metric", f.name, "error", err)
		}
	}
	return handle, nil
}

func bucketsNote(k kind, b []float64) string {
	if k == kindHistogram || k == kindTimer {
		return fmt.Sprintf(" and buckets %v", b)
	}
	return ""
}

// validate checks names, labels and buckets, filling default buckets, so a mistake is
// an error here and never a panic in client_golang later.
func validate(k kind, o *Opts) error {
	if !model.LegacyValidation.IsValidMetricName(o.Name) {
		return fmt.Errorf("metrics: invalid metric name %q: want [a-zA-Z_:][a-zA-Z0-9_:]*", o.Name)
	}
	if strings.TrimSpace(o.Help) == "" {
		o.Help = o.Name
	}
	seen := map[string]bool{}
	for _, l := range o.Labels {
		if !model.LegacyValidation.IsValidLabelName(l) || strings.HasPrefix(l, "__") {
			return fmt.Errorf("metrics: %q: invalid label name %q: want [a-zA-Z_][a-zA-Z0-9_]*, not starting with __", o.Name, l)
		}
		if seen[l] {
			return fmt.Errorf("metrics: %q: label %q given twice", o.Name, l)
		}
		if (k == kindHistogram || k == kindTimer) && l == "le" {
			return fmt.Errorf("metrics: %q: label \"le\" is reserved for histogram buckets", o.Name)
		}
		seen[l] = true
	}
	if o.SeriesLimit < 0 {
		return fmt.Errorf("metrics: %q: SeriesLimit = %d: must be at least 1", o.Name, o.SeriesLimit)
	}
	switch k {
	case kindHistogram, kindTimer:
		if o.Buckets == nil {
			o.Buckets = prometheus.DefBuckets
		}
		if len(o.Buckets) == 0 {
			return fmt.Errorf("metrics: %q: Buckets is empty", o.Name)
		}
		for i, b := range o.Buckets {
			if b != b || (i > 0 && b <= o.Buckets[i-1]) {
				return fmt.Errorf("metrics: %q: Buckets %v: must be strictly increasing numbers", o.Name, o.Buckets)
			}
		}
		if last := len(o.Buckets) - 1; o.Buckets[last] > 1e308 {
			o.Buckets = o.Buckets[:last] // +Inf is implicit
		}
	default:
		if o.Buckets != nil {
			return fmt.Errorf("metrics: %q: Buckets given for a %s", o.Name, k)
		}
	}
	return nil
}

// slogPrintln adapts a slog.Logger to the Println loggers of promhttp and graphite.
type slogPrintln struct{ l *slog.Logger }

func (p slogPrintln) Println(v ...any) { p.l.Warn(strings.TrimSpace(fmt.Sprintln(v...))) }
