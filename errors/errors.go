package errors

import (
	"context"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Reporter sends errors to Sentry and always logs them. It is safe for concurrent use.
// Capture never waits for the network: events go through a bounded queue to one sending
// goroutine, and whatever cannot be sent is dropped and counted (see Stats).
type Reporter struct {
	cfg     Config
	log     *slog.Logger
	matcher *scrub.Matcher
	texts   safefmt.Cache // the last captured text, scrubbed
	traces  traceCache
	dedup   dedupTable
	limiter bucket
	stats   counters

	// transport is nil when there is nowhere to send (no DSN): captures are only logged.
	transport sentry.Transport
	httpBase  *http.Transport // set when the Reporter owns the HTTP client
	outcome   atomic.Int32    // last HTTP result seen by the sending goroutine
	hostname  string

	mu     sync.RWMutex // guards closed against enqueues racing Shutdown
	closed bool
	queue  chan *pending
	sender sender // the sending goroutine and what it could not deliver (sender.go)

	client         *sentry.Client // every event goes through it (client.go); nil when sending nowhere
	userBeforeSend func(*sentry.Event, *sentry.EventHint) *sentry.Event
	inflight       atomic.Pointer[sending] // the sender's own event, inside the client
	sendCtx        context.Context         // the sender's work context, read on its goroutine only
	spot           *spotlight              // nil without Config.Spotlight
	environment    bool                    // the client's integrations had sentry-go's environment one (leanIntegrations)
	envClean       bool                    // the policy redacts no key of the environment contexts (envSensitive)
	hubPanics      panicRing               // panics the hub reported outside a request scope
}

// New validates cfg (after applying the environment) and returns a Reporter. The error
// names every bad field or variable. With a DSN (or a Transport) it starts one sending
// goroutine, which Shutdown stops.
func New(cfg Config) (*Reporter, error) {
	cfg, err := cfg.resolve()
	r := &Reporter{
		cfg:     cfg,
		log:     cfg.Logger,
		matcher: scrub.Shared(cfg.RedactKeys, cfg.AllowKeys),
	}
	r.envClean = !envSensitive(r.matcher)
	r.hostname, _ = os.Hostname()
	r.dedup.window = int64(cfg.DedupWindow)
	r.limiter.init(cfg.MaxEventsPerSecond)
	if err != nil {
		return r, err
	}
	opts, err := r.clientOptions()
	if err != nil {
		return r, err
	}
	cfg = r.cfg
	switch {
	case cfg.Transport != nil:
		r.transport = cfg.Transport
		r.transport.Configure(sentry.ClientOptions{
			Dsn: cfg.DSN, Environment: cfg.Environment, Release: cfg.Release,
		})
	case cfg.DSN != "":
		r.transport, r.httpBase = r.newHTTPTransport()
	case cfg.Spotlight == "" && cfg.OnEvent == nil:
		return r, nil
	}
	if err := r.newClient(opts); err != nil {
		return r, err
	}
	if cfg.Spotlight != "" {
		r.spot = newSpotlight(cfg.Spotlight, cfg.Timeout)
	}
	r.queue = make(chan *pending, cfg.QueueSize)
	r.startSender()
	return r, nil
}

// Capture reports v and returns the Sentry event id ("" when nothing is sent: no DSN,
// sampled out, capped, or the queue is full). v may be an error (its whole Unwrap chain
// and errors.Join branches become the exception chain), a recovered panic value, or a
// string; nil does nothing. attrs become the event's "attributes" context and fields of
// the log line.
//
// Every call writes one error-level line through Config.Logger with the error, its stack,
// the event id and whatever the context carries (request and trace ids), whether or not
// anything is sent. Called from a deferred function during a panic, the stack is the
// panicking one.
func (r *Reporter) Capture(ctx context.Context, v any, attrs ...slog.Attr) string {
	return r.capture(ctx, v, attrs, captureOpts{log: true})
}

type captureOpts struct {
	log     bool
	message string       // the bridge's log message
	rec     *slog.Record // the bridge's record, whose attributes become context
	h       *bridge
}

// Outcomes of one capture, as logged in the "sentry" field and counted in Stats.
const (
	outcomeQueued     = "queued"
	outcomeDuplicate  = "duplicate"
	outcomeSampledOut = "sampled_out"
	outcomeRateCapped = "rate_capped"
	outcomeQueueFull  = "queue_full"
	outcomeClosed     = "closed"
)

func (r *Reporter) capture(ctx context.Context, v any, attrs []slog.Attr, o captureOpts) (id string) {
	if r == nil || v == nil {
		return ""
	}
	if ctx == nil {
		ctx = context.Background()
	}
	defer func() {
		// Reporting must never take the program down: a hostile value or hook is logged.
		if p := recover(); p != nil {
			id = ""
			r.log.LogAttrs(ctx, slog.LevelError, "vigil: error capture failed", slog.String("panic", safefmt.Text(p, r.matcher)))
		}
	}()
	r.stats.captured.Add(1)

	var pcs [maxFrames]uintptr
	n := runtime.Callers(2, pcs[:])
	site := r.traces.get(pcs[:n])
	err, _ := v.(error)
	msg, typ := r.describe(v)
	primary := site
	hasOwn := false
	if err != nil {
		if own := innermostPCs(err); own != nil {
			primary, hasOwn = r.traces.get(own), true
		}
	}

	now := time.Now()
	outcome := ""
	var sc *scope
	if site.panicked {
		sc = scopeFrom(ctx)
	}
	if !site.panicked {
		recordOnSpan(ctx, typ, msg)
	}
	if r.queue != nil && site.panicked {
		// Reported already, by sentry-go middleware or sentry.Recover inside vigil's
		// recovery: in this request's scope, or (without one) recently through the hub.
		prev, seen := "", false
		if sc != nil {
			prev, seen = sc.notePanic(v, "")
		}
		if !seen {
			prev, seen = r.hubPanics.take(v, now.UnixNano())
		}
		if seen {
			r.stats.deduplicated.Add(1)
			id, outcome = prev, outcomeDuplicate
			sc = nil
		}
	}
	if r.queue != nil && outcome == "" {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(typ)
		h.WriteString(msg)
		fp := h.Sum64() ^ primary.hash
		var suppressed int
		id, outcome, suppressed = r.decide(fp, now.UnixNano())
		if outcome == outcomeQueued && len(r.queue) == cap(r.queue) {
			// Full already: skip building the pending event only to drop it.
			r.stats.queueFull.Add(1)
			id, outcome = "", outcomeQueueFull
		}
		if outcome == outcomeQueued {
			p := &pending{
				id: id, when: now, v: v, err: err, msg: msg, typ: typ,
				site: site, hasOwn: hasOwn, suppressed: suppressed,
				message: o.message, rec: o.rec, h: o.h,
			}
			p.fromContext(ctx, r)
			if len(attrs) > 0 {
				p.attrs = append([]slog.Attr(nil), attrs...)
			}
			outcome = r.enqueue(p)
			if outcome == outcomeQueued {
				if r.dedup.window > 0 {
					r.dedup.remember(fp, id, now.UnixNano())
				}
				if sc != nil {
					sc.setPanicID(v, id)
				}
			} else {
				id = ""
			}
		}
	}
	if o.log {
		r.logCapture(ctx, now, site.pc, msg, typ, primary, id, outcome, site.panicked, attrs)
	}
	return id
}

// decide applies dedup, sampling and the rate cap, cheapest first, and counts drops.
func (r *Reporter) decide(fp uint64, now int64) (id, outcome string, suppressed int) {
	if r.dedup.window > 0 {
		prev, dup, carried := r.dedup.check(fp, now)
		if dup {
			r.stats.deduplicated.Add(1)
			if r.cfg.OnDuplicate != nil {
				r.cfg.OnDuplicate(prev)
			}
			return prev, outcomeDuplicate, 0
		}
		suppressed = carried
	}
	if r.cfg.SampleRate < 1 && rand.Float64() >= r.cfg.SampleRate {
		r.stats.sampledOut.Add(1)
		return "", outcomeSampledOut, 0
	}
	if !r.limiter.allow(now) {
		r.stats.rateCapped.Add(1)
		return "", outcomeRateCapped, 0
	}
	return newEventID(), outcomeQueued, suppressed
}

func (r *Reporter) enqueue(p *pending) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.stats.closed.Add(1)
		return outcomeClosed
	}
	select {
	case r.queue <- p:
		return outcomeQueued
	default:
		r.stats.queueFull.Add(1)
		return outcomeQueueFull
	}
}

// logCapture builds the record itself rather than calling Logger.LogAttrs, which would
// read the clock and walk the stack a second time.
func (r *Reporter) logCapture(ctx context.Context, now time.Time, pc uintptr, msg, typ string, t *stackTrace, id, outcome string, panicked bool, attrs []slog.Attr) {
	h := r.log.Handler()
	if !h.Enabled(ctx, slog.LevelError) {
		return
	}
	var buf [8]slog.Attr
	a := append(buf[:0], slog.String("error", msg), slog.String("error_type", typ), slog.Any("stack", t.text))
	if id != "" {
		a = append(a, slog.String("event_id", id))
	}
	if panicked {
		a = append(a, slog.Bool("panic", true))
	}
	if outcome != "" {
		a = append(a, slog.String("sentry", outcome))
	}
	title := "error captured"
	if panicked {
		title = "panic recovered"
	}
	rec := slog.NewRecord(now, slog.LevelError, title, pc)
	rec.AddAttrs(a...)
	rec.AddAttrs(attrs...)
	_ = h.Handle(ctx, rec)
}

// describe returns v's message, through the safe formatter (bounded, user methods
// contained, secrets in the text scrubbed), and its type name. A storm of one error
// has its text scrubbed once (safefmt.Cache).
func (r *Reporter) describe(v any) (msg, typ string) {
	return r.texts.Text(v, r.matcher), reflect.TypeOf(v).String()
}

// innermostPCs returns the stack recorded by the innermost error of the chain that
// carries one: the closest to where things went wrong.
func innermostPCs(err error) []uintptr {
	var found []uintptr
	for depth := 0; err != nil && depth < maxChainDepth; depth++ {
		if pcs := ownPCs(err); len(pcs) > 0 {
			found = pcs
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			errs := u.Unwrap()
			err = nil
			if len(errs) > 0 {
				err = errs[0]
			}
		case interface{ Cause() error }:
			err = u.Cause()
		default:
			err = nil
		}
	}
	return found
}

// pending is one event on its way to the sender. Everything read from the request or
// context is copied here on the capturing goroutine.
type pending struct {
	id       string
	when     time.Time
	v        any
	err      error
	msg, typ string
	site     *stackTrace
	hasOwn   bool

	suppressed int
	message    string
	rec        *slog.Record
	h          *bridge
	attrs      []slog.Attr

	requestID, route string
	traceID, spanID  string
	parentSpanID     string
	op, method       string
	foreign          *sentry.Event // an event captured through the hub, built by sentry-go
	ctxAttrs         []slog.Attr
	req              *sentry.Request
	user             *User
	crumbs           []crumb
	flush            chan struct{} // a Flush marker, not an event
}

func (p *pending) fromContext(ctx context.Context, r *Reporter) {
	p.requestID, _ = ctxattrs.Lookup(ctx, "request_id")
	p.route, _ = ctxattrs.Lookup(ctx, "route")
	p.ctxAttrs = ctxattrs.From(ctx) // immutable once stored
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		p.traceID, p.spanID = sc.TraceID().String(), sc.SpanID().String()
		// The SDK's spans expose their parent; the API does not, hence the interface.
		if ps, ok := trace.SpanFromContext(ctx).(interface{ Parent() trace.SpanContext }); ok {
			if parent := ps.Parent(); parent.SpanID().IsValid() {
				p.parentSpanID = parent.SpanID().String()
			}
		}
	}
	if s := scopeFrom(ctx); s != nil {
		p.req = requestData(s.req, r.matcher, r.cfg.SendDefaultPII)
		p.crumbs = s.takeCrumbs()
		p.op = "http.server"
		if s.req != nil {
			p.method = s.req.Method
		}
	} else if p.route != "" {
		// The gRPC interceptor names the route (the full method) without a request scope.
		p.op = "grpc.server"
	}
	p.user = userFrom(ctx)
}

func newEventID() string {
	const hexdigits = "0123456789abcdef"
	var b [32]byte
	a, c := rand.Uint64(), rand.Uint64()
	for i := range 16 {
		b[i] = hexdigits[a>>(60-4*i)&0xf]
		b[16+i] = hexdigits[c>>(60-4*i)&0xf]
	}
	return string(b[:])
}

// Handler returns the slog bridge for the logging fan-out: records at Error and above
// become events (the "error" or "err" attribute as the exception, the rest as context),
// lower records become breadcrumbs of the request's scope (see WithRequest).
func (r *Reporter) Handler() slog.Handler { return &bridge{r: r} }

// Flush waits until every event captured before the call has been handed to the
// transport, or ctx is done; it reports whether everything was handed over.
func (r *Reporter) Flush(ctx context.Context) bool {
	if r == nil || r.queue == nil {
		return true
	}
	p := &pending{flush: make(chan struct{})}
	select {
	case r.queue <- p:
	case <-r.sender.w.Done():
		return true
	case <-ctx.Done():
		return false
	}
	select {
	case <-p.flush:
		return true
	case <-r.sender.w.Done():
		return true
	case <-ctx.Done():
		return false
	}
}

// Shutdown stops accepting events, sends what is queued, and returns by ctx's deadline.
// Shortly before the deadline the request in flight is aborted and what is left is
// dropped (and counted): a dead Sentry cannot hold the program's exit. The error names
// every event captured since New that did not reach Sentry, by cause; nil means none was
// lost. Captures after Shutdown are still logged. Calling it again is harmless.
func (r *Reporter) Shutdown(ctx context.Context) error {
	if r == nil || r.queue == nil {
		return nil
	}
	return r.shutdown(ctx)
}
