package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/logging"
)

// epoch anchors now. Durations only need the monotonic clock, and time.Since on a time
// with a monotonic reading skips the wall-clock read that time.Now costs.
var epoch = time.Now()

// now returns the monotonic time since epoch.
func now() time.Duration { return time.Since(epoch) }

// instrumentationName names vigil's tracer, as OpenTelemetry asks of instrumentation.
const instrumentationName = "github.com/vigil-go/vigil/middleware"

// HTTP instruments net/http servers (Handler) and clients (Transport). Build one per
// metrics registry with NewHTTP and wrap as many handlers and transports as needed; it
// is safe for concurrent use.
type HTTP struct {
	m           *httpMetrics
	tracer      trace.Tracer // nil: no spans
	prop        propagation.TextMapPropagator
	logger      *slog.Logger
	lines       *logging.Lines // the access lines' encoder; nil: through logger as records
	capture     CaptureFunc
	route       func(*http.Request) string // the user's, or muxRoute
	muxRoute    bool                       // route is muxRoute, which cannot panic: no recover needed
	hooks       *hookGuard
	skip        []string
	idHeader    string // canonical form, for direct map access
	matcher     *scrub.Matcher
	metricsOnly bool
}

// NewHTTP validates cfg, defines the metric families on cfg.Registry and returns the
// instrumentation. Errors name the bad field and its value.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.DurationBuckets == nil {
		cfg.DurationBuckets = DefaultDurationBuckets
	}
	if cfg.SizeBuckets == nil {
		cfg.SizeBuckets = DefaultSizeBuckets
	}
	m, err := newHTTPMetrics(cfg.Registry, cfg.DurationBuckets, cfg.SizeBuckets)
	if err != nil {
		return nil, err
	}
	h := &HTTP{
		m:           m,
		prop:        cfg.Propagator,
		logger:      cfg.Logger,
		capture:     cfg.Capture,
		route:       cfg.Route,
		skip:        cfg.Skip,
		idHeader:    textproto.CanonicalMIMEHeaderKey(cfg.RequestIDHeader),
		matcher:     newMatcher(cfg.RedactKeys, cfg.AllowKeys),
		metricsOnly: cfg.MetricsOnly,
	}
	if cfg.TracerProvider != nil {
		h.tracer = cfg.TracerProvider.Tracer(instrumentationName)
	}
	if cfg.Logger != nil {
		h.lines = logging.NewLines(cfg.Logger.Handler(), httpLineKeys[:]...)
	}
	if h.prop == nil {
		h.prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	if h.route == nil {
		h.route, h.muxRoute = muxRoute, true
	}
	if h.hooks, err = newHookGuard(cfg.Registry, cfg.Logger, h.matcher); err != nil {
		return nil, err
	}
	if h.skip == nil {
		h.skip = DefaultSkip
	}
	if h.idHeader == "" {
		h.idHeader = "X-Request-Id"
	}
	return h, nil
}

// Handler wraps next with the per-request telemetry: request id, server span, metrics,
// access log, error scope and panic recovery (or only the metrics, in MetricsOnly mode).
func (h *HTTP) Handler(next http.Handler) http.Handler {
	return &httpHandler{h: h, next: next}
}

type httpHandler struct {
	h    *HTTP
	next http.Handler
}

// requestCore is what metrics need of a request; in MetricsOnly mode it is the one
// allocation per request.
type requestCore struct {
	w      responseWriter
	body   countingBody
	start  time.Duration // since epoch: see now
	req    *http.Request // as received
	method uint8
	done   bool // the handler returned (metrics-only mode, which does not recover)
	// The full middleware's flags (serverRequest), here where they fill padding.
	queryDone bool // serverRequest.query is set
	quiet     bool // on the skip list: no span, no access log
}

// serverRequest is the one allocation the full middleware makes per request for itself:
// the response-writer wrapper, the route attribute, the body counter, the echoed header
// value, the context attributes and the error scope live together. It is also the
// request's one context value: as a context.Context it carries the logging attributes
// (request_id, route) that logging.WithAttrs would store and the errors package's request
// scope that errors.WithRequest would add, so the request costs no context layer of its
// own beyond this one. (440 bytes, in the 448-byte size class: one more word fits, two
// cost a class up.)
type serverRequest struct {
	requestCore
	parent context.Context // the context the attributes are added to (with the span)
	attrs  ctxattrs.List
	scope  verrors.RequestScope
	route  routeValue
	id     [1]string // the X-Request-ID header value slice, without its own allocation
	query  string    // the scrubbed query, once queryDone: the span and the log line share it
	span   trace.Span
}

func (s *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := s.h
	// A vigil middleware further out records it? Not before any has made a route slot.
	if slotsMade.Load() && h.serveNested(s.next, w, r) {
		return
	}
	if h.metricsOnly {
		s.serveMetricsOnly(w, r)
		return
	}
	st := &serverRequest{requestCore: requestCore{start: now(), method: methodIndex(r.Method), req: r}}
	// st is a usable context from here on (a panic below reports with it): the request's
	// own, with the error scope, until the span's context replaces the parent.
	st.parent = r.Context()
	st.scope.Init(r)
	if g := h.m.activeGauge(st.method); g != nil {
		g.Inc()
	}
	st.w.reset(w)
	// Deferred at once: whatever panics from here on (a hook, the handler), the gauge
	// goes down and the request is recorded.
	defer h.finish(st)
	st.quiet = h.skipped(r.URL.Path)

	var inbound string
	if v := r.Header[h.idHeader]; len(v) > 0 {
		inbound = v[0]
	}
	id := requestID(inbound)
	st.id[0] = id
	w.Header()[h.idHeader] = st.id[:]

	ctx := r.Context()
	if h.tracer != nil && !st.quiet {
		ctx = h.extract(ctx, r.Header)
		// The attributes are set once, at the end: one SetAttributes call costs the SDK
		// one slice, and samplers see none set after Start anyway.
		ctx, st.span = h.tracer.Start(ctx, methodNames[st.method], serverKind)
	}
	st.route.h = h
	st.parent = ctx
	st.attrs.Init(ctxattrs.From(ctx), slog.String(attrRequestID, id), slog.Any(attrRoute, &st.route))
	if !slotsMade.Load() {
		slotsMade.Store(true)
	}
	r2 := r.WithContext(st)
	st.route.req = r2
	st.route.mountAt(r2)
	if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
		st.body.rc = r.Body
		r2.Body = &st.body
	}

	s.next.ServeHTTP(&st.w, r2)
}

// Deadline, Done, Err and Value make a serverRequest the request's context: the parent's,
// with the attribute list and the error scope.
func (st *serverRequest) Deadline() (time.Time, bool) { return st.parent.Deadline() }
func (st *serverRequest) Done() <-chan struct{}       { return st.parent.Done() }
func (st *serverRequest) Err() error                  { return st.parent.Err() }

func (st *serverRequest) Value(key any) any {
	if ctxattrs.IsKey(key) {
		return &st.attrs
	}
	if v := st.scope.Value(key); v != nil {
		return v
	}
	return st.parent.Value(key)
}

// String names the context as the context package's own do: the parent's name, then this
// layer's.
func (st *serverRequest) String() string {
	name := "<nil>"
	if s, ok := st.parent.(fmt.Stringer); ok {
		name = s.String()
	} else if st.parent != nil {
		name = fmt.Sprintf("%T", st.parent)
	}
	return name + ".WithVigilRequest"
}

// finish runs deferred: it recovers a panic, then records the request. Recording comes
// before an abort so the failure is counted, traced and logged.
func (h *HTTP) finish(st *serverRequest) {
	v := recover()
	status := 0
	abort := false
	if v != nil {
		status = http.StatusInternalServerError
		if v == http.ErrAbortHandler { // compared as net/http does, not errors.Is
			abort = true // the handler chose to abort; net/http stays silent, so do we
		} else {
			reportPanic(st, h.capture, h.logger, h.matcher, v)
			if st.w.started() {
				abort = true // a 500 can no longer be sent; a truncated body must not look complete
			} else {
				h.writePanicResponse(&st.w)
			}
		}
	}
	if status == 0 {
		status = st.w.code()
	}
	d := now() - st.start
	route := st.route.final()
	ser := h.m.serverSeriesFor(serverKey{route: route, method: st.method, status: statusKey(status)})
	// From now on log lines and captures say "unmatched" rather than "" for a 404; the
	// cached series' string makes that free.
	st.route.set.Store(&ser.route)
	in := st.req.ContentLength
	if in < 0 {
		in = st.body.n
	}
	if ser.duration != nil {
		ser.duration.ObserveContext(st, d)
		ser.reqSize.Observe(float64(in))
		ser.respSize.Observe(float64(st.w.written))
	}
	if g := h.m.activeGauge(st.method); g != nil {
		g.Dec()
	}
	// The request's facts, computed once for the span and the access line.
	var f serverFacts
	if st.span != nil {
		h.endSpan(st, ser, h.fill(&f, st, ser.route, status, in), v)
	}
	if h.logger != nil && !st.quiet {
		h.logAccessContained(st, &f, ser.route, status, d, in, v, abort)
	}
	if abort {
		panic(http.ErrAbortHandler)
	}
}

// writePanicResponse sends a bare 500, dropping headers the handler set for the body
// it never wrote.
func (h *HTTP) writePanicResponse(w *responseWriter) {
	defer func() { _ = recover() }() // a broken connection must not panic twice
	hdr := w.Header()
	for _, k := range []string{"Content-Length", "Content-Encoding", "Etag", "Last-Modified"} {
		delete(hdr, k)
	}
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// statusKey is status as a series key: a code net/http would refuse (a writer of the
// handler's own may pass one on) becomes 1000, whose label is _OTHER, rather than wrapping
// around to a valid code.
func statusKey(status int) uint16 {
	if status < 0 || status > 999 {
		return 1000
	}
	return uint16(status)
}

func (h *HTTP) skipped(path string) bool {
	for _, p := range h.skip {
		if p == path {
			return true
		}
	}
	return false
}

// serveMetricsOnly is MetricsOnly mode: one allocation, no context, and no recover; a
// panic is recorded as a 500 on its way up.
func (s *httpHandler) serveMetricsOnly(w http.ResponseWriter, r *http.Request) {
	h := s.h
	st := &requestCore{start: now(), method: methodIndex(r.Method), req: r}
	st.w.reset(w)
	if g := h.m.activeGauge(st.method); g != nil {
		g.Inc()
	}
	if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
		st.body.rc = r.Body
		r.Body = &st.body
	}
	defer h.finishMetricsOnly(st)
	s.next.ServeHTTP(&st.w, r)
	st.done = true
}

func (h *HTTP) finishMetricsOnly(st *requestCore) {
	status := st.w.code()
	if !st.done {
		status = http.StatusInternalServerError // panicking (or runtime.Goexit)
	}
	route := limits.Truncate(h.callRoute(st.req), limits.LabelValue)
	if route == "" {
		route = Unmatched
	}
	ser := h.m.serverSeriesFor(serverKey{route: route, method: st.method, status: statusKey(status)})
	if ser.duration != nil {
		in := st.req.ContentLength
		if in < 0 {
			in = st.body.n
		}
		ser.duration.ObserveContext(st.req.Context(), now()-st.start)
		ser.reqSize.Observe(float64(in))
		ser.respSize.Observe(float64(st.w.written))
	}
	if g := h.m.activeGauge(st.method); g != nil {
		g.Dec()
	}
}

// headerCarrier reads propagation headers by their canonical names: http.Header.Get
// would allocate to canonicalize "traceparent" on every request.
type headerCarrier http.Header

func (c headerCarrier) Get(key string) string {
	var v []string
	switch key {
	case "traceparent":
		v = c["Traceparent"]
	case "tracestate":
		v = c["Tracestate"]
	case "baggage":
		v = c["Baggage"]
	default:
		return http.Header(c).Get(key)
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (c headerCarrier) Set(key, value string) { http.Header(c).Set(key, value) }
func (c headerCarrier) Keys() []string        { return propagation.HeaderCarrier(c).Keys() }

// maxSpanAttrs is the most attributes a server span gets (serverFacts.spanAttrs).
const maxSpanAttrs = 14

var spanAttrPool = sync.Pool{New: func() any { return new([maxSpanAttrs]attribute.KeyValue) }}

var (
	serverKind = trace.WithSpanKind(trace.SpanKindServer)
	clientKind = trace.WithSpanKind(trace.SpanKindClient)
)

func (h *HTTP) endSpan(st *serverRequest, ser *serverSeries, f *serverFacts, panicked any) {
	sp := st.span
	if sp.IsRecording() {
		sp.SetName(ser.spanName)
		// SetAttributes copies the attributes into the span, so the scratch array goes
		// back to the pool at once rather than living (1 KB) in every request's state.
		buf := spanAttrPool.Get().(*[maxSpanAttrs]attribute.KeyValue)
		sp.SetAttributes(f.spanAttrs(buf[:0])...)
		clear(buf[:])
		spanAttrPool.Put(buf)
		if panicked != nil {
			sp.AddEvent("exception", trace.WithAttributes(
				attribute.String("exception.type", fmt.Sprintf("%T", panicked)),
				attribute.String("exception.message", panicText(panicked, h.matcher)),
			))
		}
		if f.status >= 500 {
			// Server spans fail on 5xx only: a 4xx is the client's error.
			sp.SetStatus(codes.Error, "")
		}
	}
	sp.End()
}

func (h *HTTP) logAccess(st *serverRequest, f *serverFacts, d time.Duration, panicked any, aborted bool) {
	level := httpLevel(f.status)
	w := lineWriter{keys: httpLineKeys[:]}
	if !w.begin(st, h.lines, h.logger, level, "http request") {
		return
	}
	f.line(&w, d)
	if panicked != nil {
		w.bool(fPanic, true)
	}
	if aborted {
		w.bool(fAborted, true)
	}
	w.end(st, h.logger, level, "http request")
}

// scrubbedQuery returns the request's query with secret values redacted, then bounded,
// computed once per request (finish runs on one goroutine, so no lock is needed).
// Redaction comes first, so a cut cannot hide a secret's name from the matcher.
func (h *HTTP) scrubbedQuery(st *serverRequest) string {
	if !st.queryDone {
		st.query, st.queryDone = bound(h.matcher.Query(st.req.URL.RawQuery)), true
	}
	return st.query
}

// hostPort splits "host:port", "[v6]:port" or a bare host without allocating
// (net.SplitHostPort allocates an error for a bare host); the port is 0 when absent or
// not a number.
func hostPort(hp string) (string, int) {
	host, portStr := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return hp, 0
		}
		host = hp[1:end]
		if rest := hp[end+1:]; strings.HasPrefix(rest, ":") {
			portStr = rest[1:]
		}
	} else if i := strings.LastIndexByte(hp, ':'); i >= 0 && strings.IndexByte(hp[:i], ':') < 0 {
		host, portStr = hp[:i], hp[i+1:]
	}
	port := 0
	for i := 0; i < len(portStr); i++ {
		c := portStr[i]
		if c < '0' || c > '9' || port > 65535 {
			return host, 0
		}
		port = port*10 + int(c-'0')
	}
	return host, port
}

func protocolVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return "1.1"
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	case r.ProtoMajor == 3:
		return "3"
	}
	return r.Proto
}
