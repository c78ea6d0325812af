package health

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/metrics"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds one run of all checks, and each check added without its own
	// Timeout. Kubernetes gives a probe 1s by default; a run that needs more than a
	// couple of seconds is a failing dependency either way.
	DefaultTimeout = 2 * time.Second
	// DefaultInterval is how long a run's results answer every probe before the next
	// probe runs the checks again.
	DefaultInterval = time.Second
)

// MaxNameLen bounds a check's name, which becomes a label value and a log field.
const MaxNameLen = 64

// maxError bounds the error text of one check, in bytes: the report lists every check,
// and a dependency's error message is not ours to size.
const maxError = limits.AttrValue

// Config configures a Checker. The zero Config works: 2s timeout, results reused for 1s,
// state changes logged to slog.Default(), no metrics.
type Config struct {
	// Timeout bounds one run of all checks (they run concurrently under it) and is each
	// check's own timeout unless Add gives it a shorter or longer one (the run's bound
	// still applies). A check's context ends at its timeout; one that has not returned
	// 20ms later is reported as timed out. 0 means DefaultTimeout.
	Timeout time.Duration
	// Interval is how long a run's results answer every probe; the first probe after it
	// runs the checks again, and probes arriving during a run wait for that run. 0 means
	// DefaultInterval.
	Interval time.Duration
	// Logger receives one line each time a check changes state (failing, passing
	// again), never one per probe. Nil means slog.Default().
	Logger *slog.Logger
	// Registry, when set, receives two gauges per check:
	// vigil_health_check_up{check} (1 passing, 0 failing) and
	// vigil_health_check_latency_seconds{check} (the last run's duration). They are
	// defined when the first check is added.
	Registry *metrics.Registry
	// RedactKeys and AllowKeys extend the secret policy applied to error text, as in
	// the other parts: a password in a connection string or a token in a URL inside an
	// error never reaches the report or the log.
	RedactKeys, AllowKeys []string
}

// Option configures one check; see Timeout.
type Option func(*check)

// Timeout sets the check's own timeout instead of Config.Timeout. The run's bound,
// Config.Timeout, still ends every check.
func Timeout(d time.Duration) Option {
	return func(c *check) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// Status is the state of a check or of the whole report.
type Status string

// Statuses. A check is StatusOK or StatusFail; a report is StatusOK when every check
// passes, StatusFail when one fails, and StatusStarting or StatusStopping whatever the
// checks say while its Checker is in that Phase.
const (
	StatusOK       Status = "ok"
	StatusFail     Status = "fail"
	StatusStarting Status = "starting"
	StatusStopping Status = "stopping"
)

// Phase is the program's lifecycle as readiness sees it; see Checker.SetPhase.
type Phase int32

// Phases. The zero Phase is Running: a new Checker is ready as soon as its checks pass.
const (
	// Running: the checks decide readiness.
	Running Phase = iota
	// Starting: not ready yet. Probes still run the checks (their results show what
	// startup waits for) but the report says starting.
	Starting
	// Stopping: shutting down. Probes run no check (dependencies may be closing); the
	// report says stopping and lists the last results.
	Stopping
)

// Report is what a readiness probe sees, and the JSON body of ReadyzHandler.
type Report struct {
	Status Status   `json:"status"`
	Checks []Result `json:"checks"`
}

// Result is one check's outcome in a Report. Latency is how long the check took (its
// timeout when it did not return in time), LatencyMS the same in milliseconds, as the
// JSON body has it. Since is when the check entered its current status (a failing check
// has been failing since then); CheckedAt is when the run that produced the result
// started. Error is the check's error text, with secrets redacted and cut to 1 KiB; it
// is empty when the check passed.
type Result struct {
	Name      string        `json:"name"`
	Status    Status        `json:"status"`
	Latency   time.Duration `json:"-"`
	LatencyMS float64       `json:"latency_ms"`
	Error     string        `json:"error,omitempty"`
	Since     time.Time     `json:"since"`
	CheckedAt time.Time     `json:"checked_at"`
}

// Checker holds named checks and runs them for readiness probes. Its methods are safe
// for concurrent use.
type Checker struct {
	timeout  time.Duration
	interval time.Duration
	logger   *slog.Logger
	registry *metrics.Registry
	matcher  *scrub.Matcher
	phase    atomic.Int32

	mu      sync.Mutex
	checks  []*check // sorted by name
	gen     uint64   // changes with the set of checks
	last    *Report  // the last run's report, nil before the first
	lastGen uint64
	lastEnd time.Time // when the last run ended: its results answer until lastEnd+interval
	flight  *flight   // the run in progress, if any
	up, lat *metrics.Gauge
}

type check struct {
	name    string
	fn      func(context.Context) error
	timeout time.Duration
	up, lat *metrics.Gauge // this check's series; nil without a Registry

	// busy is set while fn runs. A check that outlived its timeout is not started
	// again until it returns, so a hung dependency costs one goroutine, not one per run.
	busy atomic.Bool

	// Guarded by Checker.mu, written by the run that holds the flight.
	ran    bool
	status Status
	since  time.Time
}

type flight struct {
	done   chan struct{}
	report Report
}

// New returns a Checker with no checks, in the Running phase.
func New(cfg Config) *Checker {
	c := &Checker{
		timeout:  cfg.Timeout,
		interval: cfg.Interval,
		logger:   cfg.Logger,
		registry: cfg.Registry,
		matcher:  scrub.Shared(cfg.RedactKeys, cfg.AllowKeys),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.interval <= 0 {
		c.interval = DefaultInterval
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// Add registers a check under name. The check should honour its context, which ends at
// its timeout; one that does not is reported as timed out all the same, and is not
// started again until it returns. A panic in a check is a failure, not a crash.
//
// Names are unique, 1 to 64 printable characters; Add returns an error for a
// duplicate or invalid name, a nil check, or gauges the Registry refuses.
func (c *Checker) Add(name string, fn func(ctx context.Context) error, opts ...Option) error {
	if err := checkName(name); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("health: check %q is nil", name)
	}
	ch := &check{name: name, fn: fn, timeout: c.timeout}
	for _, opt := range opts {
		opt(ch)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, found := slices.BinarySearchFunc(c.checks, name, func(x *check, n string) int { return strings.Compare(x.name, n) })
	if found {
		return fmt.Errorf("health: check %q is already added", name)
	}
	if c.registry != nil {
		if c.up == nil {
			// Defined with the first check, so a program without checks exports nothing.
			up, err := c.registry.Gauge("vigil_health_check_up", "1 if the health check passed its last run, 0 if it failed.", "check")
			if err != nil {
				return fmt.Errorf("health: %w", err)
			}
			lat, err := c.registry.Gauge("vigil_health_check_latency_seconds", "Duration of the health check's last run.", "check")
			if err != nil {
				return fmt.Errorf("health: %w", err)
			}
			c.up, c.lat = up, lat
		}
		ch.up, ch.lat = c.up.With(name), c.lat.With(name)
	}
	c.checks = slices.Insert(c.checks, i, ch)
	c.gen++
	return nil
}

// checkName accepts 1 to MaxNameLen printable UTF-8 characters.
func checkName(name string) error {
	if name == "" || len(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("health: check name %q: want 1 to %d bytes of UTF-8", limits.Truncate(name, MaxNameLen), MaxNameLen)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("health: check name %q: control characters are not allowed", name)
		}
	}
	return nil
}

// Names returns the names of the checks, sorted.
func (c *Checker) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, len(c.checks))
	for i, ch := range c.checks {
		names[i] = ch.name
	}
	return names
}

// SetPhase sets the lifecycle phase readiness reports: Starting and Stopping make the
// report (and ReadyzHandler's status code) not ready whatever the checks say.
func (c *Checker) SetPhase(p Phase) { c.phase.Store(int32(p)) }

// Phase returns the current phase.
func (c *Checker) Phase() Phase { return Phase(c.phase.Load()) }

// Check returns the readiness report. It runs every check concurrently, unless the last
// run ended less than Config.Interval ago (its report is returned) or a run is in
// progress (Check waits for it): however many probes arrive, the checks run at most once
// per interval. The run is not tied to ctx; when ctx ends first, Check returns the
// previous results with StatusFail.
func (c *Checker) Check(ctx context.Context) Report {
	if c.Phase() == Stopping {
		return c.lastReport(StatusStopping)
	}
	r := c.fresh(ctx)
	if c.Phase() == Starting {
		r.Status = StatusStarting
	}
	return r
}

// Last returns the report of the last run without running any check (StatusOK with no
// checks before the first run), with the status the current phase gives it.
func (c *Checker) Last() Report {
	switch c.Phase() {
	case Starting:
		return c.lastReport(StatusStarting)
	case Stopping:
		return c.lastReport(StatusStopping)
	}
	return c.lastReport("")
}

// lastReport copies the last report, with status instead of its own unless "".
func (c *Checker) lastReport(status Status) Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Report{Status: StatusOK, Checks: []Result{}}
	if c.last != nil {
		r = Report{Status: c.last.Status, Checks: slices.Clone(c.last.Checks)}
	}
	if status != "" {
		r.Status = status
	}
	return r
}

// fresh returns a report no older than the interval, running the checks if needed.
func (c *Checker) fresh(ctx context.Context) Report {
	c.mu.Lock()
	if c.last != nil && c.lastGen == c.gen && time.Since(c.lastEnd) < c.interval {
		r := Report{Status: c.last.Status, Checks: slices.Clone(c.last.Checks)}
		c.mu.Unlock()
		return r
	}
	f := c.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flight = f
		checks, gen := slices.Clone(c.checks), c.gen
		go c.run(f, checks, gen)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return Report{Status: f.report.Status, Checks: slices.Clone(f.report.Checks)}
	case <-ctx.Done():
		return c.lastReport(StatusFail)
	}
}

// run runs checks concurrently under one deadline and publishes the report.
func (c *Checker) run(f *flight, checks []*check, gen uint64) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() {
			latency, err := c.runOne(ctx, ch)
			results[i] = Result{Name: ch.name, Status: StatusOK, Latency: latency,
				LatencyMS: float64(latency) / float64(time.Millisecond), CheckedAt: start}
			if err != nil {
				results[i].Status = StatusFail
				results[i].Error = c.errorText(err)
			}
		})
	}
	wg.Wait()

	report := Report{Status: StatusOK, Checks: results}
	var changes []slog.Record
	c.mu.Lock()
	for i, ch := range checks {
		r := &results[i]
		if r.Status == StatusFail {
			report.Status = StatusFail
		}
		changed := !ch.ran || ch.status != r.Status
		if changed {
			ch.since = start
		}
		r.Since = ch.since
		// Logged once per change: a first run that passes is the expected state.
		switch {
		case changed && r.Status == StatusFail:
			rec := slog.NewRecord(time.Now(), slog.LevelWarn, "health check failing", 0)
			rec.AddAttrs(slog.String("check", ch.name), slog.String("error", r.Error),
				slog.Float64("latency_ms", r.LatencyMS))
			changes = append(changes, rec)
		case changed && ch.ran:
			rec := slog.NewRecord(time.Now(), slog.LevelInfo, "health check passing again", 0)
			rec.AddAttrs(slog.String("check", ch.name), slog.Float64("latency_ms", r.LatencyMS))
			changes = append(changes, rec)
		}
		ch.ran, ch.status = true, r.Status
		if ch.up != nil {
			ch.up.Set(boolFloat(r.Status == StatusOK))
			ch.lat.Set(r.Latency.Seconds())
		}
	}
	f.report = report
	c.last, c.lastGen, c.lastEnd = &report, gen, time.Now()
	c.flight = nil
	c.mu.Unlock()
	// Logged outside the lock, so a slow log writer holds up only the probes that
	// waited for this run, and before they return, so a probe's answer is in the log.
	c.log(changes)
	close(f.done)
}

// log writes the state-change records. A panicking handler (the logger is the
// program's) loses its line, not the process.
func (c *Checker) log(recs []slog.Record) {
	defer func() { _ = recover() }()
	h := c.logger.Handler()
	for _, rec := range recs {
		if h.Enabled(context.Background(), rec.Level) {
			_ = h.Handle(context.Background(), rec)
		}
	}
}

// grace is how long past a check's deadline the run waits for the check to return.
const grace = 20 * time.Millisecond

// errTimeout reports a check that did not return by its deadline.
type errTimeout struct {
	after time.Duration
	busy  bool
}

func (e errTimeout) Error() string {
	if e.busy {
		return "still running after an earlier timeout; not started again"
	}
	return fmt.Sprintf("timed out after %v", e.after)
}

// runOne runs one check within its timeout and the run's deadline, and returns its
// duration and error (nil when it passed). A check that does not return in time
// is left running alone; the run does not wait for it.
func (c *Checker) runOne(ctx context.Context, ch *check) (latency time.Duration, err error) {
	start := time.Now()
	if !ch.busy.CompareAndSwap(false, true) {
		return 0, errTimeout{busy: true}
	}
	bound, shown := ch.timeout, ch.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < bound {
		// The run's deadline comes first: the checks started together, so the time
		// the check had is the run's Timeout, as the message says.
		bound, shown = time.Until(dl), c.timeout
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bound)
	defer cancel()
	// The check's context ends at bound; the run waits a little longer, so that a
	// check that honours its context can say why it failed ("all connections in use"),
	// and only one that does not is reported as timed out without its own words.
	wait := time.NewTimer(bound + grace)
	defer wait.Stop()
	done := make(chan error, 1) // buffered: a late check's send must not block forever
	go func() {
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = panicError{p}
			}
			ch.busy.Store(false) // before the send: the next run may start right after it
			done <- err
		}()
		err = ch.fn(cctx)
	}()
	select {
	case err = <-done:
		// A check that returns its context's bare error says what the timeout says;
		// a wrapped one keeps its own text.
		if err == context.DeadlineExceeded && cctx.Err() != nil {
			err = errTimeout{after: shown}
		}
	case <-wait.C:
		return bound, errTimeout{after: shown}
	}
	return min(time.Since(start), bound), err
}

type panicError struct{ v any }

func (p panicError) Error() string { return "panic: " + safefmt.Text(p.v, nil) }

// errorText is err's text as the report and the log show it: secrets redacted, bounded.
func (c *Checker) errorText(err error) string {
	s := safefmt.Text(err, c.matcher)
	if s == "" {
		s = "failed" // an error with no text still fails the check visibly
	}
	return limits.Truncate(s, maxError)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
