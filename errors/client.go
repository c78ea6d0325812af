package errors

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/maphash"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/conferr"
)

// unset stands in for an option vigil leaves empty: sentry-go fills empty Release and
// Environment options itself (from the environment, and Release by running git), and
// this package reads no environment. The client's event processor removes it.
const unset = "\x00vigil:unset"

// inertDSN is the client's DSN when Config has none (Spotlight only): an empty one makes
// sentry-go read SENTRY_DSN. Delivery never uses the client's DSN: it is vigil's.
const inertDSN = "http://vigil@vigil.invalid/0"

// Client returns the sentry.Client every event goes through: vigil's own captures, and
// whatever is captured through a hub it is bound to (observe.Init binds it to
// sentry.CurrentHub() unless Config.NoGlobals). Its Transport is the Reporter's dedup,
// caps and bounded queue, and its BeforeSend ends with vigil's scrubbing. Nil when the
// Reporter sends nowhere (no DSN, Transport or Spotlight).
func (r *Reporter) Client() *sentry.Client {
	if r == nil {
		return nil
	}
	return r.client
}

// clientOptions builds the options the user's hook sees, applies it, and takes back
// what vigil handles itself (DSN, Transport, SampleRate, BeforeSend).
func (r *Reporter) clientOptions() (sentry.ClientOptions, error) {
	c := &r.cfg
	opts := sentry.ClientOptions{
		Dsn: c.DSN, Environment: c.Environment, Release: c.Release, ServerName: r.hostname,
		SampleRate: c.SampleRate, BeforeSend: c.BeforeSend,
		MaxErrorDepth: maxChainDepth, Transport: c.Transport,
	}
	if c.Debug {
		// sentry-go's diagnostics, scrubbed, as debug lines of the Reporter's logger.
		opts.Debug, opts.DebugWriter = true, debugWriter{r}
	}
	if c.ClientOptions != nil {
		c.ClientOptions(&opts)
	}
	errs := &conferr.Error{Part: "errors"}
	if opts.Dsn != c.DSN {
		if err := CheckDSN(opts.Dsn); err != nil && opts.Dsn != "" {
			errs.Add("ClientOptions.Dsn", MaskDSN(opts.Dsn), err.Error())
		} else {
			c.DSN = opts.Dsn
		}
	}
	c.Transport = opts.Transport
	if opts.SampleRate > 0 && opts.SampleRate <= 1 {
		c.SampleRate = opts.SampleRate
	}
	c.Environment, c.Release = opts.Environment, opts.Release
	r.userBeforeSend = opts.BeforeSend
	return opts, errs.Err()
}

// newClient makes the sentry.Client whose Transport is the Reporter's queue.
func (r *Reporter) newClient(opts sentry.ClientOptions) error {
	if opts.Dsn == "" {
		opts.Dsn = inertDSN
	}
	if opts.Release == "" {
		opts.Release = buildRelease()
	}
	if opts.Release == "" {
		opts.Release = unset
	}
	if opts.Environment == "" {
		opts.Environment = unset
	}
	opts.Integrations = r.leanIntegrations(opts)
	opts.Transport = hubTransport{r}
	opts.SampleRate = 1 // vigil samples, before the queue, and counts it
	opts.BeforeSend = r.beforeSend
	opts.DisableTelemetryBuffer = true // a custom Transport needs the classic path
	client, err := sentry.NewClient(opts)
	if err != nil {
		return err
	}
	client.AddEventProcessor(r.finishEvent)
	r.client = client
	return nil
}

// leanIntegrations applies the user's Integrations option (if any) to sentry-go's
// defaults and leaves out the ones that would only cost time on every event: the
// environment integration, whose device, os and runtime contexts buildEvent writes
// itself (and finishEvent for the hub's events), and IgnoreErrors and IgnoreTransactions
// when they have no patterns.
func (r *Reporter) leanIntegrations(opts sentry.ClientOptions) func([]sentry.Integration) []sentry.Integration {
	user := opts.Integrations
	return func(in []sentry.Integration) []sentry.Integration {
		if user != nil {
			in = user(in)
		}
		out := make([]sentry.Integration, 0, len(in))
		for _, i := range in {
			switch i.Name() {
			case "Environment":
				r.environment = true
				continue
			case "IgnoreErrors":
				if len(opts.IgnoreErrors) == 0 {
					continue
				}
			case "IgnoreTransactions":
				if len(opts.IgnoreTransactions) == 0 {
					continue
				}
			}
			out = append(out, i)
		}
		return out
	}
}

// buildRelease is the release sentry-go would find in build info (the VCS revision),
// without its fallback of running git.
func buildRelease() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			return s.Value
		}
	}
	return ""
}

// finishEvent is the client's last event processor: in-app flags by vigil's rule (the
// main module's packages, whatever the build flags), and no placeholder left.
func (r *Reporter) finishEvent(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
	own := r.ownEvent(ev)
	if r.environment && !own {
		addEnvironment(ev)
	}
	if ev.Release == unset {
		ev.Release = ""
	}
	if ev.Environment == unset {
		ev.Environment = ""
	}
	if own {
		return ev // its frames were flagged by the same rule when the stack was symbolized
	}
	fix := func(st *sentry.Stacktrace) {
		if st == nil {
			return
		}
		for i := range st.Frames {
			f := &st.Frames[i]
			f.InApp = inApp(f.Module, f.AbsPath)
		}
	}
	for i := range ev.Exception {
		fix(ev.Exception[i].Stacktrace)
	}
	for i := range ev.Threads {
		fix(ev.Threads[i].Stacktrace)
	}
	return ev
}

// addEnvironment does what sentry-go's environment integration does (the client runs
// without it, see leanIntegrations) for the events the hub captures: device, os and
// runtime contexts, keeping whatever they hold already.
func addEnvironment(ev *sentry.Event) {
	if ev.Contexts == nil {
		ev.Contexts = make(map[string]sentry.Context, 3)
	}
	for _, e := range envContexts {
		c := ev.Contexts[e.name]
		if c == nil {
			ev.Contexts[e.name] = e.instance()
			continue
		}
		for k, v := range e.instance() {
			if _, ok := c[k]; !ok {
				c[k] = v
			}
		}
	}
}

// beforeSend is the client's BeforeSend: a panic already reported in the same request
// is dropped, then the user's BeforeSend runs, then vigil's scrubbing, so nothing any
// hook adds leaves unscrubbed.
func (r *Reporter) beforeSend(ev *sentry.Event, hint *sentry.EventHint) *sentry.Event {
	own := r.ownEvent(ev)
	if !own && hint != nil && hint.RecoveredException != nil {
		if s := scopeFrom(hint.Context); s != nil {
			if _, seen := s.notePanic(hint.RecoveredException, string(ev.EventID)); seen {
				r.stats.captured.Add(1)
				r.stats.deduplicated.Add(1)
				return nil
			}
		} else {
			r.hubPanics.put(hint.RecoveredException, string(ev.EventID), time.Now().UnixNano())
		}
	}
	if !own && hint != nil && hint.Context != nil {
		// sentry-go links the event to its own propagation context; the trace is
		// OpenTelemetry's when the capture's context has a span (sentryhttp passes the
		// request's).
		if sc := trace.SpanContextFromContext(hint.Context); sc.IsValid() {
			if ev.Contexts == nil {
				ev.Contexts = map[string]sentry.Context{}
			}
			tc := sentry.Context{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String(), "type": "trace"}
			if old := ev.Contexts["trace"]; old != nil && old["op"] != nil {
				tc["op"] = old["op"]
			}
			ev.Contexts["trace"] = tc
		}
	}
	if r.userBeforeSend != nil {
		if ev = r.userBeforeSend(ev, hint); ev == nil {
			if !own {
				r.stats.captured.Add(1)
				r.stats.droppedByHook.Add(1)
			}
			return nil
		}
	}
	var built *sending
	if own {
		built = r.inflight.Load()
	}
	r.scrubEvent(ev, built)
	return ev
}

// sending is the event the sender goroutine is passing through the client, so the
// Transport can tell vigil's own events (already admitted) from the hub's.
type sending struct {
	ev        *sentry.Event
	p         *pending
	delivered bool
	// message and values are texts buildEvent put in ev through the secret policy
	// already (the message and the first exception values). Text is idempotent, so
	// scrubText passes over a text still equal to one of them; whatever a hook put in
	// their place is scrubbed like any other text.
	message string
	values  [4]string
	hint    sentry.EventHint // the client's hint for ev, in the same allocation
}

// newSending records ev, built by buildEvent from p, as the sender's event in flight.
func newSending(ev *sentry.Event, p *pending) *sending {
	st := &sending{ev: ev, p: p, message: ev.Message}
	st.hint.OriginalException = p.err
	if p.site.panicked {
		st.hint.RecoveredException = p.v
	}
	for i := range min(len(ev.Exception), len(st.values)) {
		st.values[i] = ev.Exception[i].Value
	}
	return st
}

// clean reports whether s is one of the texts buildEvent scrubbed; st may be nil.
func (st *sending) clean(s string) bool {
	if st == nil {
		return false
	}
	if s == st.message {
		return true
	}
	for _, v := range st.values {
		if s == v {
			return true
		}
	}
	return false
}

func (r *Reporter) ownEvent(ev *sentry.Event) bool {
	s := r.inflight.Load()
	return s != nil && s.ev == ev
}

// hubTransport is the client's Transport: the entry into vigil's queue.
type hubTransport struct{ r *Reporter }

func (hubTransport) Configure(sentry.ClientOptions) {}
func (hubTransport) Close()                         {}

func (t hubTransport) Flush(timeout time.Duration) bool {
	return t.r.flushFor(timeout)
}

func (t hubTransport) FlushWithContext(ctx context.Context) bool { return t.r.Flush(ctx) }

func (t hubTransport) SendEvent(ev *sentry.Event) {
	r := t.r
	// By id as well: a BeforeSend may return a new event in place of the one it got.
	if s := r.inflight.Load(); s != nil && (s.ev == ev || ev != nil && s.ev.EventID == ev.EventID) {
		// The sender goroutine is passing its own event through the client: it was
		// admitted at Capture, and is sent now, on this (the sender's) goroutine.
		s.delivered = true
		r.deliver(r.sendCtx, s.p, ev)
		return
	}
	r.admit(ev)
}

// admit puts an event captured through the hub (sentry.CaptureException, sentryhttp, a
// library) through the same dedup, sampling, cap and bounded queue as Capture.
func (r *Reporter) admit(ev *sentry.Event) {
	if ev == nil {
		return
	}
	r.stats.captured.Add(1)
	if r.queue == nil {
		return
	}
	p := &pending{foreign: ev, id: string(ev.EventID), when: time.Now()}
	if ev.Type == "" { // an error or message event; transactions and logs are not capped
		fp := foreignFingerprint(ev)
		_, outcome, suppressed := r.decide(fp, p.when.UnixNano())
		if outcome != outcomeQueued {
			return
		}
		if suppressed > 0 {
			if ev.Contexts == nil {
				ev.Contexts = map[string]sentry.Context{}
			}
			ev.Contexts["dedup"] = sentry.Context{
				"suppressed_before": suppressed, "window": time.Duration(r.dedup.window).String(),
			}
		}
		if r.enqueue(p) == outcomeQueued && r.dedup.window > 0 {
			r.dedup.remember(fp, p.id, p.when.UnixNano())
		}
		return
	}
	r.enqueue(p)
}

// foreignFingerprint identifies an event built by sentry-go for dedup: its message,
// exception types and values, and the innermost stack's functions and lines.
func foreignFingerprint(ev *sentry.Event) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(ev.Message)
	for _, e := range ev.Exception {
		h.WriteString(e.Type)
		h.WriteByte(0)
		h.WriteString(e.Value)
		h.WriteByte(0)
	}
	if n := len(ev.Exception); n > 0 && ev.Exception[n-1].Stacktrace != nil {
		for _, f := range ev.Exception[n-1].Stacktrace.Frames {
			h.WriteString(f.Module)
			h.WriteString(f.Function)
			h.WriteString(strconv.Itoa(f.Lineno))
		}
	}
	return h.Sum64()
}

// samePanic reports whether two recovered values are the same panic, without ever
// panicking on values that cannot be compared.
func samePanic(a, b any) (same bool) {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta == nil || ta != tb || !ta.Comparable() {
		return false
	}
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// maxScopePanics bounds the panics a request scope remembers for dedup.
const maxScopePanics = 4

// notePanic reports whether v was already reported in this request (and that event's
// id); otherwise it remembers v under id.
func (s *scope) notePanic(v any, id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.panics {
		if samePanic(p.v, v) {
			return p.id, true
		}
	}
	if len(s.panics) < maxScopePanics {
		s.panics = append(s.panics, reportedPanic{v: v, id: id})
	}
	return "", false
}

type reportedPanic struct {
	v  any
	id string
}

// valuesForm rewrites an event payload's bare-list "exception" (sentry-go's JSON) into
// the {"values": [...]} form of the protocol, which Spotlight requires.
func valuesForm(payload []byte) []byte {
	i := bytes.Index(payload, []byte(`"exception":[`))
	if i < 0 {
		return payload
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return payload
	}
	ex := m["exception"]
	if len(ex) == 0 || ex[0] != '[' {
		return payload
	}
	m["exception"] = append(append([]byte(`{"values":`), ex...), '}')
	out, err := json.Marshal(m)
	if err != nil {
		return payload
	}
	return out
}

// rewriteEnvelope applies valuesForm to the event items of an envelope, fixing their
// lengths; anything it cannot parse is returned unchanged.
func rewriteEnvelope(body []byte) []byte {
	nl := bytes.IndexByte(body, '\n')
	if nl < 0 {
		return body
	}
	out := append([]byte(nil), body[:nl+1]...)
	rest := body[nl+1:]
	for len(rest) > 0 {
		nl = bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return body
		}
		hdrLine := rest[:nl]
		rest = rest[nl+1:]
		if len(bytes.TrimSpace(hdrLine)) == 0 {
			continue
		}
		var hdr map[string]any
		if json.Unmarshal(hdrLine, &hdr) != nil {
			return body
		}
		var payload []byte
		if l, ok := hdr["length"].(float64); ok {
			n := int(l)
			if n < 0 || n > len(rest) {
				return body
			}
			payload, rest = rest[:n], rest[n:]
			rest = bytes.TrimPrefix(rest, []byte("\n"))
		} else {
			nl = bytes.IndexByte(rest, '\n')
			if nl < 0 {
				nl = len(rest)
			}
			payload, rest = rest[:nl], rest[min(nl+1, len(rest)):]
		}
		if hdr["type"] == "event" {
			payload = valuesForm(payload)
			if _, ok := hdr["length"]; ok {
				hdr["length"] = len(payload)
				hdrLine, _ = json.Marshal(hdr)
			}
		}
		out = append(out, hdrLine...)
		out = append(out, '\n')
		out = append(out, payload...)
		out = append(out, '\n')
	}
	return out
}

// envelope encodes ev as a one-item envelope, exception in the values form.
func envelope(ev *sentry.Event) ([]byte, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	payload = valuesForm(payload)
	hdr, _ := json.Marshal(map[string]any{
		"event_id": ev.EventID, "sent_at": time.Now().UTC().Format(time.RFC3339Nano),
		"sdk": map[string]string{"name": ev.Sdk.Name, "version": ev.Sdk.Version},
	})
	typ := "event"
	if ev.Type != "" {
		typ = ev.Type
	}
	item, _ := json.Marshal(map[string]any{"type": typ, "length": len(payload)})
	var b bytes.Buffer
	b.Write(hdr)
	b.WriteByte('\n')
	b.Write(item)
	b.WriteByte('\n')
	b.Write(payload)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// setPanicID records the event id of a panic noted before its id was known.
func (s *scope) setPanicID(v any, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.panics {
		if s.panics[i].id == "" && samePanic(s.panics[i].v, v) {
			s.panics[i].id = id
		}
	}
}

// panicRing remembers the last panics reported through the hub without a request scope
// (sentry.Recover, sentry-go middleware outside vigil's), so that vigil's recovery of the
// same value, re-panicked, is not a second event. Only vigil's side consumes entries, so
// vigil's own panics never suppress one another.
type panicRing struct {
	mu   sync.Mutex
	ring [8]struct {
		v  any
		id string
		at int64
	}
	next int
}

// panicMemory is how long a hub-reported panic waits for vigil's recovery of it: the
// same goroutine unwinding, so moments.
const panicMemory = int64(10 * time.Second)

func (p *panicRing) put(v any, id string, now int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := &p.ring[p.next]
	e.v, e.id, e.at = v, id, now
	p.next = (p.next + 1) % len(p.ring)
}

func (p *panicRing) take(v any, now int64) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.ring {
		e := &p.ring[i]
		if e.id != "" && now-e.at < panicMemory && samePanic(e.v, v) {
			id := e.id
			e.v, e.id = nil, ""
			return id, true
		}
	}
	return "", false
}

// debugWriter turns sentry-go's debug output into debug records of the Reporter's logger.
type debugWriter struct{ r *Reporter }

func (w debugWriter) Write(p []byte) (int, error) {
	w.r.log.Debug("vigil: sentry-go", slog.String("msg", w.r.matcher.Text(strings.TrimSpace(string(p)))))
	return len(p), nil
}
