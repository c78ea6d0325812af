package console

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The console's bounds. Each store is a ring: when a new item would exceed either the
// entry or the byte bound, the oldest items go first. Bytes are an estimate of the
// memory an item holds (its strings, attributes and a fixed overhead per item), so the
// figures bound the console's heap to within a small factor.
const (
	// MaxErrorGroups bounds the error groups kept; MaxGroupEvents the events kept per
	// group (the newest); MaxErrorBytes the estimated size of all of them.
	MaxErrorGroups = 200
	MaxGroupEvents = 10
	MaxErrorBytes  = 4 << 20
	// MaxSpans bounds the ended spans kept and MaxTraceBytes their estimated size;
	// the views group them into traces, and list the newest MaxTraces.
	MaxSpans      = 10000
	MaxTraceBytes = 8 << 20
	MaxTraces     = 500
	// MaxLogLines bounds the log lines kept, MaxLogBytes their size, and MaxLogLine one
	// line (a longer line is cut and kept as text).
	MaxLogLines = 2000
	MaxLogBytes = 4 << 20
	MaxLogLine  = 32 << 10
	// MaxText bounds one string of an error event kept by the console (a message, an
	// attribute value, a header); MaxFrames the frames kept of a stack, the innermost.
	MaxText   = 4 << 10
	MaxFrames = 100
)

// Options configures a Console. Every field is optional.
type Options struct {
	// Gatherer is the process's metrics (observe's Gatherer): the routes view reads the
	// HTTP server duration histogram, and the self view the vigil_* counters, from it.
	Gatherer prometheus.Gatherer
	// Health returns the readiness report the health view shows (the /readyz body); nil
	// shows {"checks":[]}.
	Health func() any
	// Config is the effective configuration, with each value's source, secrets masked.
	Config []Setting
	// Exporters reports each exporter's last success and error.
	Exporters func() []Exporter
	// Redact applies the secret policy to a span before it is shown (the tracing part's
	// Provider.Redact): spans are held as they ended, and redacted only when served.
	// Nil shows them as held.
	Redact func(sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan
	// Token, when set, is required of every client (loopback included): as
	// "Authorization: Bearer TOKEN", or once as ?token=TOKEN, which sets a cookie.
	// Without it only loopback clients are served.
	Token string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Setting is one effective configuration value, as the self view lists it.
type Setting struct {
	Name   string `json:"name"`   // the environment variable
	Field  string `json:"field"`  // the Config field
	Value  string `json:"value"`  // masked when the setting is secret
	Source string `json:"source"` // "field", "environment" or "default"
}

// Exporter is the state of one exporter, as the self view lists it.
type Exporter struct {
	Name          string    `json:"name"`
	LastOK        time.Time `json:"last_ok"`
	LastError     string    `json:"last_error"`
	LastErrorTime time.Time `json:"last_error_time"`
}

// Console holds the recent errors, traces and log lines of the process in bounded
// rings and serves them (see Handler). Its methods are safe for concurrent use, and the
// ones fed from the request path (Event, Duplicate, Span, the log tee) only copy into
// a ring under a mutex.
type Console struct {
	opts  Options
	now   func() time.Time
	start time.Time

	errs   errorStore
	traces traceStore
	logs   logStore
	routes routeSampler

	// Sequence numbers of the version endpoint: each grows with every new item.
	errSeq, traceSeq atomic.Uint64
}

// New returns a Console.
func New(opts Options) *Console {
	c := &Console{opts: opts, now: opts.Now}
	if c.now == nil {
		c.now = time.Now
	}
	c.start = c.now()
	c.errs.init()
	c.traces.init()
	c.routes.snaps = []routeSnap{{at: c.start}} // the rate's first base: no requests yet
	return c
}

// redact applies Options.Redact.
func (c *Console) redact(sp sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	if c.opts.Redact == nil {
		return sp
	}
	return c.opts.Redact(sp)
}
