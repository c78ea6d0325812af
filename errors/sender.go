package errors

import (
	"bytes"
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/exportstatus"
	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/internal/worker"
)

// HTTP results the sending goroutine observes through roundTripper.
const (
	httpNone int32 = iota // no request was made: sentry-go's rate-limit backoff dropped it
	httpOK
	httpRateLimited
	httpFailed
)

// sender is the Reporter's sending goroutine and its account of what did not reach
// Sentry beyond what Stats counts.
type sender struct {
	w *worker.W
	// cut counts events still queued or in flight when Shutdown's deadline came; Stats
	// counts them as Closed, together with captures after Shutdown.
	cut atomic.Uint64
	// status is when an event was last delivered and when and why one last failed,
	// for Reporter.Status and Shutdown's error.
	status exportstatus.Tracker
	// flushFailed is set when a custom transport did not flush by the deadline.
	flushFailed atomic.Bool
	// cur is the event being built or sent. Whoever clears it counts its outcome: the
	// sender when it is done with it, or Shutdown when it gives up on the sender.
	cur atomic.Pointer[pending]
}

// newHTTPTransport builds sentry-go's synchronous transport over an HTTP client whose
// requests time out and report their result. Synchronous is right here: the Reporter's
// own goroutine is the queue, so there is one bounded buffer (whose drops are counted)
// instead of two, each request carries the sender's work context (so Shutdown's deadline
// aborts it), and sentry-go's handling of 429, Retry-After and X-Sentry-Rate-Limits
// stays in force inside the transport.
func (r *Reporter) newHTTPTransport() (sentry.Transport, *http.Transport) {
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: r.cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   r.cfg.Timeout,
		ResponseHeaderTimeout: r.cfg.Timeout,
		MaxIdleConns:          2,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	client := &http.Client{Transport: &roundTripper{base: base, r: r}, Timeout: r.cfg.Timeout}
	t := sentry.NewHTTPSyncTransport()
	t.Timeout = r.cfg.Timeout
	t.Configure(sentry.ClientOptions{Dsn: r.cfg.DSN, HTTPClient: client})
	return t, base
}

type roundTripper struct {
	base http.RoundTripper
	r    *Reporter
}

func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Header.Get("Content-Encoding") == "" {
		// sentry-go writes "exception" as a bare list; the protocol's form is
		// {"values": [...]}, which every consumer (Spotlight too) accepts.
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = rewriteEnvelope(body)
		req = req.Clone(req.Context())
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.r.outcome.Store(httpFailed)
		t.r.sender.noteErr("sending to Sentry: " + t.r.matcher.Text(err.Error()))
		return nil, err
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		t.r.outcome.Store(httpOK)
	case resp.StatusCode == http.StatusTooManyRequests:
		t.r.outcome.Store(httpRateLimited)
		t.r.sender.noteErr("Sentry answered " + resp.Status)
	default:
		t.r.outcome.Store(httpFailed)
		t.r.sender.noteErr("Sentry answered " + resp.Status)
	}
	// sentry-go reads the body whole; whatever answers at the DSN decides its size.
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, limits.BackendBody), resp.Body}
	return resp, nil
}

func (s *sender) noteErr(msg string) { s.status.Failed(time.Now(), msg) }

// contextSender is the transports (sentry-go's own among them) that take a context per
// event, so that the sender's work context can abort the request.
type contextSender interface {
	SendEventWithContext(ctx context.Context, ev *sentry.Event)
}

func (r *Reporter) startSender() {
	r.sender.w = worker.Run("errors: Sentry sender", r.run)
}

// run is the sending goroutine. ctx ends shortly before Shutdown's deadline.
func (r *Reporter) run(ctx context.Context, stop <-chan struct{}) {
	r.sendCtx = ctx
	defer func() {
		if r.transport != nil {
			r.transport.Close()
		}
		if r.httpBase != nil {
			r.httpBase.CloseIdleConnections()
		}
	}()
	for {
		select {
		case p := <-r.queue:
			r.process(ctx, p)
		case <-stop:
			r.drain(ctx)
			return
		}
	}
}

// drain sends what is queued until ctx ends, then counts the rest as cut off.
func (r *Reporter) drain(ctx context.Context) {
	for {
		select {
		case p := <-r.queue:
			if ctx.Err() == nil {
				r.process(ctx, p)
				continue
			}
			if p.flush != nil {
				close(p.flush)
				continue
			}
			r.stats.closed.Add(1)
			r.sender.cut.Add(1)
		default:
			if r.transport != nil && r.httpBase == nil && !r.transport.FlushWithContext(ctx) {
				// A custom transport may queue; it had what was left of the deadline.
				r.sender.flushFailed.Store(true)
			}
			return
		}
	}
}

func (r *Reporter) process(ctx context.Context, p *pending) {
	if p.flush != nil {
		if r.transport != nil && r.httpBase == nil {
			r.transport.FlushWithContext(ctx)
		}
		close(p.flush)
		return
	}
	r.sender.cur.Store(p)
	mine := func() bool { return r.sender.cur.CompareAndSwap(p, nil) }
	defer mine()
	defer func() {
		if x := recover(); x != nil && mine() {
			r.stats.failed.Add(1)
			r.log.Error("vigil: building or sending a Sentry event panicked", slog.String("panic", r.text(x)))
		}
	}()
	if p.foreign != nil {
		r.deliver(ctx, p, p.foreign) // through the client already, on the capturing goroutine
		return
	}
	ev := r.buildEvent(p)
	// Through the client: the hub's scope, integrations, event processors, BeforeSend
	// and vigil's scrubbing; its Transport recognizes the event and calls deliver here.
	st := newSending(ev, p)
	hint := &st.hint
	r.inflight.Store(st)
	var modifier sentry.EventModifier
	if hub := sentry.CurrentHub(); hub.Client() == r.client {
		modifier = keepTrace{hub.Scope()}
	}
	r.client.CaptureEvent(ev, hint, modifier)
	r.inflight.Store(nil)
	if !st.delivered && mine() {
		r.stats.droppedByHook.Add(1) // BeforeSend, an event processor or IgnoreErrors
	}
}

// keepTrace applies the hub's scope (tags, user, contexts set with sentry.ConfigureScope)
// but keeps the event's trace context, which is OpenTelemetry's, not the scope's.
type keepTrace struct{ s *sentry.Scope }

func (k keepTrace) ApplyToEvent(ev *sentry.Event, hint *sentry.EventHint, c *sentry.Client) *sentry.Event {
	tc, had := ev.Contexts["trace"]
	ev = k.s.ApplyToEvent(ev, hint, c)
	if ev != nil && had {
		ev.Contexts["trace"] = tc
	}
	return ev
}

// deliver sends an event that passed the client to Sentry (and a copy to Spotlight),
// on the sending goroutine, and counts the result.
func (r *Reporter) deliver(ctx context.Context, p *pending, ev *sentry.Event) {
	mine := func() bool { return r.sender.cur.CompareAndSwap(p, nil) }
	if r.cfg.OnEvent != nil {
		r.notify(ev)
	}
	if r.spot != nil {
		r.spot.offer(ev)
	}
	if r.transport == nil {
		mine()
		return
	}
	r.outcome.Store(httpNone)
	if cs, ok := r.transport.(contextSender); ok {
		cs.SendEventWithContext(ctx, ev)
	} else {
		r.transport.SendEvent(ev)
	}
	if !mine() {
		return // Shutdown gave up on this send and counted it
	}
	result := "sent"
	if r.httpBase == nil {
		r.stats.sent.Add(1)
		r.sender.status.OK(time.Now())
	} else {
		switch r.outcome.Load() {
		case httpOK:
			r.stats.sent.Add(1)
			r.sender.status.OK(time.Now())
		case httpRateLimited, httpNone:
			r.stats.rateLimited.Add(1)
			result = "rate_limited"
		default:
			if ctx.Err() != nil {
				// Aborted by Shutdown's deadline, not refused by Sentry.
				r.stats.closed.Add(1)
				r.sender.cut.Add(1)
				result = "cut_at_deadline"
				break
			}
			r.stats.failed.Add(1)
			result = "failed"
		}
	}
	if r.cfg.Debug {
		r.log.Debug("vigil: sentry event", slog.String("event_id", p.id), slog.String("result", result))
	}
}

// notify hands ev to Config.OnEvent; a panic there is logged and the event still sent.
func (r *Reporter) notify(ev *sentry.Event) {
	defer func() {
		if x := recover(); x != nil {
			r.log.Error("vigil: errors OnEvent panicked", slog.String("panic", r.text(x)))
		}
	}()
	r.cfg.OnEvent(ev)
}

// flushFor is Flush with a timeout, for sentry.Flush.
func (r *Reporter) flushFor(d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return r.Flush(ctx)
}

// shutdown closes the queue to new events, stops the sender within ctx and reports what
// was lost since New.
func (r *Reporter) shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	stopErr := r.sender.w.Stop(ctx)
	r.spot.stop(ctx)
	if r.client != nil {
		r.client.Close() // its log and metric batchers; the transport is the sender's
	}
	if stopErr == nil {
		return r.lossError("")
	}
	if stderrors.Is(stopErr, worker.ErrCutShort) {
		// The loss names what the cut cost; errors.Is still sees the deadline.
		if loss := r.lossError(""); loss != nil {
			return &shutdownError{msg: loss.Error(), cause: stopErr}
		}
		return nil
	}
	// The sender is still busy (a Transport that ignores cancellation, or a starved
	// goroutine): count what it holds and what is queued behind it here, so that Stats
	// and this error are final when Shutdown returns.
	var n uint64
	if p := r.sender.cur.Swap(nil); p != nil {
		n++
	}
	for drained := false; !drained; {
		select {
		case p := <-r.queue:
			if p.flush != nil {
				close(p.flush)
				continue
			}
			n++
		default:
			drained = true
		}
	}
	r.stats.closed.Add(n)
	r.sender.cut.Add(n)
	loss := r.lossError("sending was still running when Shutdown returned")
	return &shutdownError{msg: loss.Error(), cause: stopErr}
}

// shutdownError is a loss report that unwraps to why sending stopped.
type shutdownError struct {
	msg   string
	cause error
}

func (e *shutdownError) Error() string { return e.msg }
func (e *shutdownError) Unwrap() error { return e.cause }

// lossError names the events that did not reach Sentry, by cause. Dedup, sampling,
// MaxEventsPerSecond and BeforeSend drop events on purpose and are not losses.
// note is added to the message when set.
func (r *Reporter) lossError(note string) error {
	st := r.Stats()
	causes := []struct {
		n    uint64
		what string
	}{
		{st.QueueFull, "queue full"},
		{st.Failed, "failed"},
		{st.RateLimited, "rate-limited by Sentry"},
		{r.sender.cut.Load(), "still queued when the deadline passed"},
	}
	var total uint64
	var b strings.Builder
	for _, c := range causes {
		if c.n == 0 {
			continue
		}
		if total > 0 {
			b.WriteString(", ")
		}
		total += c.n
		fmt.Fprintf(&b, "%d %s", c.n, c.what)
	}
	if r.sender.flushFailed.Load() {
		if total > 0 {
			b.WriteString(", and ")
		}
		b.WriteString("the custom Transport did not flush by the deadline")
	}
	if note != "" {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(note)
	}
	if b.Len() == 0 {
		return nil
	}
	events := "events"
	if total == 1 {
		events = "event"
	}
	msg := fmt.Sprintf("errors: %d %s not delivered: %s", total, events, b.String())
	if e := r.sender.status.LastError(); e != "" && (st.Failed > 0 || st.RateLimited > 0 || r.sender.cut.Load() > 0) {
		msg += " (last error: " + e + ")"
	}
	return stderrors.New(msg)
}

// buildEvent turns a pending capture into a Sentry event, on the sending goroutine.
func (r *Reporter) buildEvent(p *pending) *sentry.Event {
	level := sentry.LevelError
	if p.site.panicked {
		level = sentry.LevelFatal
	}
	ev := &sentry.Event{
		EventID:     sentry.EventID(p.id),
		Timestamp:   p.when,
		Level:       level,
		Message:     p.message,
		Transaction: transactionName(p.method, p.route),
		Tags:        map[string]string{},
		Contexts:    map[string]sentry.Context{},
		Request:     p.req,
	}
	// Release, environment, server name (the host) and SDK come from the client.
	if r.cfg.Service != "" {
		ev.Tags["service"] = r.cfg.Service
	}
	// Tags are for grouping and search over few values: per-event ids go to contexts
	// (request_id to "attributes", with the context's other attributes; trace_id to
	// "trace").
	if p.route != "" {
		ev.Tags["route"] = p.route
	}
	if p.traceID != "" {
		tc := sentry.Context{"trace_id": p.traceID, "span_id": p.spanID, "type": "trace"}
		if p.parentSpanID != "" {
			tc["parent_span_id"] = p.parentSpanID
		}
		if p.op != "" {
			tc["op"] = p.op
		}
		ev.Contexts["trace"] = tc
	}
	if p.site.panicked {
		ev.Tags["panic"] = "true"
	}

	if p.err != nil {
		ev.Exception = r.exceptions(p.err, p.msg, p.site.panicked)
	} else {
		ev.Exception = []sentry.Exception{{Type: p.typ, Value: p.msg}}
	}
	main := &ev.Exception[len(ev.Exception)-1]
	if main.Stacktrace == nil && (p.site.panicked || !p.hasOwn) {
		main.Stacktrace = &sentry.Stacktrace{Frames: slices.Clone(p.site.frames)}
	}
	if p.site.panicked {
		handled := false
		if main.Mechanism == nil {
			main.Mechanism = &sentry.Mechanism{ExceptionID: len(ev.Exception) - 1}
		}
		main.Mechanism.Type, main.Mechanism.Handled = "panic", &handled
	} else if len(ev.Exception) == 1 {
		main.Mechanism = nil // a lone error is not a chain
	}

	if len(p.ctxAttrs) > 0 || p.rec != nil || len(p.attrs) > 0 {
		attrs := map[string]any{}
		for _, a := range p.ctxAttrs {
			if a.Key != "route" {
				addAttr(attrs, a, r.matcher)
			}
		}
		if p.rec != nil {
			p.h.collect(*p.rec, r.matcher, attrs)
		}
		for _, a := range p.attrs {
			addAttr(attrs, a, r.matcher)
		}
		if len(attrs) > 0 {
			ev.Contexts["attributes"] = attrs
		}
	}
	if p.suppressed > 0 {
		ev.Contexts["dedup"] = sentry.Context{
			"suppressed_before": p.suppressed,
			"window":            time.Duration(r.dedup.window).String(),
		}
	}
	// What sentry-go's environment integration would add, which the client leaves out
	// (newClient): the same keys, without looking each up first.
	for _, e := range envContexts {
		ev.Contexts[e.name] = e.instance()
	}

	if p.user != nil {
		ev.User = sentry.User{ID: p.user.ID, Username: p.user.Username, Email: p.user.Email, IPAddress: p.user.IPAddress}
		if len(p.user.Data) > 0 {
			ev.User.Data = make(map[string]string, len(p.user.Data))
			for k, v := range p.user.Data {
				ev.User.Data[k] = v
			}
		}
	}
	ev.Breadcrumbs = breadcrumbs(p.crumbs, r.matcher)
	return ev
}

// goVersion is runtime.Version() boxed once, not on every event.
var goVersion any = runtime.Version()

// envContexts are the device, os and runtime contexts every event carries (buildEvent,
// and addEnvironment for the hub's events): the keys sentry-go's environment
// integration writes. Each is a template holding the values fixed for the process,
// never written, and its keys (envSensitive, envUnchanged).
var envContexts = [...]envContext{
	newEnvContext("device", sentry.Context{"arch": runtime.GOARCH, "num_cpu": runtime.NumCPU()}),
	newEnvContext("os", sentry.Context{"name": runtime.GOOS}),
	newEnvContext("runtime", sentry.Context{"name": "go", "version": goVersion,
		"go_maxprocs": 0, "go_numroutines": 0, "go_numcgocalls": int64(0)}), // set per event
}

type envContext struct {
	name string
	tmpl sentry.Context
	keys []string
}

func newEnvContext(name string, tmpl sentry.Context) envContext {
	return envContext{name: name, tmpl: tmpl, keys: slices.Sorted(maps.Keys(tmpl))}
}

// instance returns the context for one event: a map of its own (hooks may change it),
// cloned from the template (a small map's clone is one copy, where a literal hashes and
// inserts every key), with the runtime's changing values set.
func (e *envContext) instance() sentry.Context {
	c := maps.Clone(e.tmpl)
	if e.name == "runtime" {
		c["go_maxprocs"], c["go_numroutines"], c["go_numcgocalls"] = runtime.GOMAXPROCS(0), runtime.NumGoroutine(), runtime.NumCgoCall()
	}
	return c
}

// transactionName is "METHOD route" for HTTP (as sentry-go's middleware names it), the
// route alone otherwise (gRPC's full method).
func transactionName(method, route string) string {
	if method == "" || route == "" || strings.HasPrefix(route, method+" ") {
		return route
	}
	return method + " " + route
}

// addAttr stores a's value in m under its key, as JSON-safe data, redacting sensitive
// keys; groups become nested maps.
func addAttr(m map[string]any, a slog.Attr, sm *scrub.Matcher) {
	a.Value = a.Value.Resolve()
	if a.Key == "" && a.Value.Kind() != slog.KindGroup {
		return
	}
	if a.Key != "" && sm.Sensitive(a.Key) {
		m[a.Key] = scrub.Redacted
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		dst := m
		if a.Key != "" {
			sub, ok := m[a.Key].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[a.Key] = sub
			}
			dst = sub
		}
		for _, g := range a.Value.Group() {
			addAttr(dst, g, sm)
		}
		return
	}
	m[a.Key] = plainValue(a.Value, sm)
}

func plainValue(v slog.Value, sm *scrub.Matcher) any {
	switch v.Kind() {
	case slog.KindString:
		// Free text may hold a secret under a harmless key ("target": a URL with a
		// password): the policy's text rules apply, as to every other text of the event.
		return sm.Text(v.String())
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f) // JSON has no NaN or Inf
		}
		return f
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	}
	return anyValue(v.Any(), sm)
}

// scrubEvent is the last step before the transport: whatever BeforeSend added, values
// under sensitive names do not leave the process. built is the sender's own event in
// flight when ev is it (nil otherwise): its texts scrubbed already are not scanned twice.
func (r *Reporter) scrubEvent(ev *sentry.Event, built *sending) {
	r.scrubText(ev, built)
	m := r.matcher
	for k := range ev.Tags {
		if m.Sensitive(k) {
			ev.Tags[k] = scrub.Redacted
		}
	}
	for name, c := range ev.Contexts {
		if name == "trace" || r.envClean && envUnchanged(name, c) {
			continue
		}
		scrubMap(c, m)
	}
	if q := ev.Request; q != nil {
		for k := range q.Headers {
			if m.Sensitive(k) {
				q.Headers[k] = scrub.Redacted
			}
		}
		if q.Cookies != "" {
			q.Cookies = scrub.Redacted
		}
		q.QueryString = m.Query(q.QueryString)
		if u, err := url.Parse(q.URL); err == nil {
			if u.RawQuery != "" || u.User != nil {
				q.URL = m.URL(u)
			}
		} else if q.URL != "" {
			q.URL = scrub.Redacted
		}
		if q.Data != "" {
			ct := ""
			for k, v := range q.Headers {
				if strings.EqualFold(k, "Content-Type") {
					ct = v
				}
			}
			q.Data = string(m.Body(ct, []byte(q.Data)))
		}
	}
	for k := range ev.User.Data {
		if m.Sensitive(k) {
			ev.User.Data[k] = scrub.Redacted
		}
	}
	for _, b := range ev.Breadcrumbs {
		if b != nil {
			scrubMap(b.Data, m)
		}
	}
}

// envSensitive reports whether the policy redacts any key of envContexts (a configured
// name such as "version"); the Reporter asks once, in New.
func envSensitive(m *scrub.Matcher) bool {
	for _, e := range envContexts {
		if m.Sensitive(e.name) || slices.ContainsFunc(e.keys, m.Sensitive) {
			return true
		}
	}
	return false
}

// envUnchanged reports whether c, the context called name, is one of envContexts' with
// exactly its keys and no nested map, which scrubMap would leave as it is when
// envSensitive is false: a handful of lookups instead of iterating and classifying
// every key. Whatever a hook added or nested makes it false, and c is scrubbed.
func envUnchanged(name string, c map[string]any) bool {
	for _, e := range envContexts {
		if e.name != name {
			continue
		}
		if len(c) != len(e.keys) {
			return false
		}
		for _, k := range e.keys {
			v, ok := c[k]
			if !ok {
				return false
			}
			if _, nested := v.(map[string]any); nested {
				return false
			}
		}
		return true
	}
	return false
}

func scrubMap(c map[string]any, m *scrub.Matcher) {
	for k, v := range c {
		if m.Sensitive(k) {
			c[k] = scrub.Redacted
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			scrubMap(sub, m)
		}
	}
}
