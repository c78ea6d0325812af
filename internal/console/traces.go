package console

import (
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// traceEntry is one trace: the spans of it that ended in this process, in the order
// they ended. The spans are the SDK's immutable snapshots (redacted as on export), held
// as they are: nothing is copied on the request path.
type traceEntry struct {
	id      trace.TraceID
	spans   []sdktrace.ReadOnlySpan
	inline  [2]sdktrace.ReadOnlySpan // spans' first array: a request's spans, one allocation
	bytes   int
	dropped int // spans beyond MaxTraceSpans
	root    sdktrace.ReadOnlySpan
	start   time.Time
	end     time.Time
	failed  bool
	// The trace's database client spans, counted as they arrive.
	dbCalls int
	dbTime  time.Duration
}

type traceStore struct {
	mu    sync.Mutex
	byID  map[trace.TraceID]*traceEntry
	order []*traceEntry // oldest first
	bytes int
}

const spanOverhead = 640 // estimated bytes of a span snapshot beyond its strings

func (s *traceStore) init() { s.byID = map[trace.TraceID]*traceEntry{} }

// Span records a span that ended (the tracing part's OnEnd hook). It runs on the
// request path: one pass over the attributes, one lock, nothing copied.
func (c *Console) Span(sp sdktrace.ReadOnlySpan) {
	if sp == nil {
		return
	}
	attrs := sp.Attributes()
	n := spanOverhead + len(sp.Name()) + len(sp.Status().Description) + attrsSize(attrs)
	for _, e := range sp.Events() {
		n += 64 + len(e.Name) + attrsSize(e.Attributes)
	}
	for _, l := range sp.Links() {
		n += 64 + attrsSize(l.Attributes)
	}
	if n > MaxTraceBytes/4 {
		return // one span cannot take a quarter of the store
	}
	failed, db := sp.Status().Code == codes.Error, false
	for _, kv := range attrs {
		switch kv.Key {
		case "http.response.status_code":
			failed = failed || kv.Value.AsInt64() >= 500
		case "db.system.name", "db.system":
			db = true
		}
	}
	start, end, parent := sp.StartTime(), sp.EndTime(), sp.Parent()
	id := sp.SpanContext().TraceID()
	s := &c.traces
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byID[id]
	if t == nil {
		t = &traceEntry{id: id, start: start, end: end}
		t.spans = t.inline[:0]
		s.byID[id] = t
		s.order = append(s.order, t)
	}
	if len(t.spans) >= MaxTraceSpans {
		t.dropped++
		return
	}
	t.spans = append(t.spans, sp)
	t.bytes += n
	s.bytes += n
	if start.Before(t.start) {
		t.start = start
	}
	if end.After(t.end) {
		t.end = end
	}
	if !parent.IsValid() || parent.IsRemote() {
		t.root = sp
	}
	t.failed = t.failed || failed
	if db {
		t.dbCalls++
		t.dbTime += end.Sub(start)
	}
	for len(s.order) > MaxTraces || s.bytes > MaxTraceBytes {
		old := s.order[0]
		s.order[0] = nil
		s.order = s.order[1:]
		s.bytes -= old.bytes
		delete(s.byID, old.id)
	}
	c.traceSeq.Add(1)
}

func attrsSize(kvs []attribute.KeyValue) int {
	n := 0
	for _, kv := range kvs {
		n += 48 + len(kv.Key)
		switch kv.Value.Type() {
		case attribute.STRING:
			n += len(kv.Value.AsString())
		case attribute.STRINGSLICE:
			for _, s := range kv.Value.AsStringSlice() {
				n += 16 + len(s)
			}
		case attribute.BOOLSLICE:
			n += len(kv.Value.AsBoolSlice())
		case attribute.INT64SLICE:
			n += 8 * len(kv.Value.AsInt64Slice())
		case attribute.FLOAT64SLICE:
			n += 8 * len(kv.Value.AsFloat64Slice())
		}
	}
	return n
}

// traceSummary is one row of the traces view.
type traceSummary struct {
	TraceID    string  `json:"trace_id"`
	Root       string  `json:"root"`
	Route      string  `json:"route"`
	Status     string  `json:"status"`
	Start      string  `json:"start"`
	DurationMS float64 `json:"duration_ms"`
	Spans      int     `json:"spans"`
	Error      bool    `json:"error"`

	start time.Time
	dur   time.Duration
}

// traceHead is what the lists need of a trace, copied under the store's lock so that
// redaction and formatting happen outside it.
type traceHead struct {
	id              trace.TraceID
	spans           int
	failed, hasRoot bool
	start, end      time.Time
	root            sdktrace.ReadOnlySpan // the root, else the earliest span held
	dbCalls         int
	dbTime          time.Duration
}

func (t *traceEntry) head() traceHead {
	h := traceHead{id: t.id, spans: len(t.spans), failed: t.failed, start: t.start, end: t.end,
		root: t.root, hasRoot: t.root != nil, dbCalls: t.dbCalls, dbTime: t.dbTime}
	if h.root == nil && len(t.spans) > 0 {
		h.root = t.spans[0]
		for _, sp := range t.spans {
			if sp.StartTime().Before(h.root.StartTime()) {
				h.root = sp
			}
		}
	}
	return h
}

// heads copies the heads of the held traces, newest first.
func (c *Console) heads() []traceHead {
	s := &c.traces
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]traceHead, 0, len(s.order))
	for i := len(s.order) - 1; i >= 0; i-- {
		out = append(out, s.order[i].head())
	}
	return out
}

func (c *Console) summary(h traceHead) traceSummary {
	out := traceSummary{TraceID: h.id.String(), Spans: h.spans, Error: h.failed, start: h.start}
	if h.root != nil {
		root := c.redact(h.root)
		out.Root = root.Name()
		out.Route = attrString(root.Attributes(), "http.route")
		out.Status = statusText(root.Status().Code)
	}
	out.dur = h.end.Sub(h.start)
	if h.hasRoot {
		out.dur = h.root.EndTime().Sub(h.root.StartTime())
	}
	out.Start = stamp(h.start)
	out.DurationMS = ms(out.dur)
	return out
}

// traceList returns the held traces for a view: recent (newest first), slow (slowest
// first) or failed (newest first), of one route when route is not empty.
func (c *Console) traceList(view, route string, max int) []traceSummary {
	heads := c.heads()
	out := make([]traceSummary, 0, len(heads))
	for _, h := range heads {
		if view == "failed" && !h.failed {
			continue
		}
		sum := c.summary(h)
		if route != "" && sum.Route != route {
			continue
		}
		out = append(out, sum)
	}
	switch view {
	case "slow":
		sort.SliceStable(out, func(i, j int) bool { return out[i].dur > out[j].dur })
	default:
		sort.SliceStable(out, func(i, j int) bool { return out[i].start.After(out[j].start) })
	}
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// spanView is one span of the trace view.
type spanView struct {
	SpanID        string         `json:"span_id"`
	ParentID      string         `json:"parent_id"`
	Name          string         `json:"name"`
	Kind          string         `json:"kind"`
	Start         string         `json:"start"`
	End           string         `json:"end"`
	DurationMS    float64        `json:"duration_ms"`
	OffsetMS      float64        `json:"offset_ms"`
	Status        string         `json:"status"`
	StatusMessage string         `json:"status_message"`
	Attributes    map[string]any `json:"attributes"`
	Events        []eventView    `json:"events"`
	Logs          int            `json:"logs"`
}

type eventView struct {
	Name       string         `json:"name"`
	Time       string         `json:"time"`
	Attributes map[string]any `json:"attributes"`
}

type dbTotals struct {
	Calls      int     `json:"calls"`
	DurationMS float64 `json:"duration_ms"`
}

type traceView struct {
	TraceID string     `json:"trace_id"`
	Spans   []spanView `json:"spans"`
	DB      dbTotals   `json:"db"`
	Dropped int        `json:"dropped_spans"`
}

// traceDetail returns one trace; the log counts come from the log store.
func (c *Console) traceDetail(id trace.TraceID) (traceView, bool) {
	s := &c.traces
	s.mu.Lock()
	t := s.byID[id]
	if t == nil {
		s.mu.Unlock()
		return traceView{}, false
	}
	spans := append([]sdktrace.ReadOnlySpan(nil), t.spans...)
	start, dropped := t.start, t.dropped
	s.mu.Unlock()

	for i, sp := range spans {
		spans[i] = c.redact(sp) // the secret policy, as on export
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].StartTime().Before(spans[j].StartTime()) })
	held := map[trace.SpanID]bool{}
	for _, sp := range spans {
		held[sp.SpanContext().SpanID()] = true
	}
	logs := c.logCounts(id.String())
	out := traceView{TraceID: id.String(), Spans: make([]spanView, 0, len(spans)), Dropped: dropped}
	for _, sp := range spans {
		v := spanView{
			SpanID:        sp.SpanContext().SpanID().String(),
			Name:          sp.Name(),
			Kind:          sp.SpanKind().String(),
			Start:         stamp(sp.StartTime()),
			End:           stamp(sp.EndTime()),
			DurationMS:    ms(sp.EndTime().Sub(sp.StartTime())),
			OffsetMS:      ms(sp.StartTime().Sub(start)),
			Status:        statusText(sp.Status().Code),
			StatusMessage: sp.Status().Description,
			Attributes:    attrMap(sp.Attributes()),
			Events:        []eventView{},
		}
		if p := sp.Parent(); p.IsValid() && held[p.SpanID()] {
			v.ParentID = p.SpanID().String()
		}
		for _, e := range sp.Events() {
			v.Events = append(v.Events, eventView{Name: e.Name, Time: stamp(e.Time), Attributes: attrMap(e.Attributes)})
		}
		v.Logs = logs[v.SpanID]
		if isDB(sp.Attributes()) {
			out.DB.Calls++
			out.DB.DurationMS += v.DurationMS
		}
		out.Spans = append(out.Spans, v)
	}
	return out, true
}

// isDB reports a database client span (OpenTelemetry's db.system.name, or db.system
// of older conventions).
func isDB(attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if kv.Key == "db.system.name" || kv.Key == "db.system" {
			return true
		}
	}
	return false
}

// routeDB sums the database calls and time of the held traces per root route.
func (c *Console) routeDB() map[string]dbPerRoute {
	out := map[string]dbPerRoute{}
	for _, h := range c.heads() {
		if !h.hasRoot {
			continue
		}
		root := c.redact(h.root)
		route := attrString(root.Attributes(), "http.route")
		if route == "" {
			continue
		}
		key := attrString(root.Attributes(), "http.request.method") + " " + route
		d := out[key]
		d.traces++
		d.calls += h.dbCalls
		d.dur += h.dbTime
		out[key] = d
	}
	return out
}

type dbPerRoute struct {
	traces, calls int
	dur           time.Duration
}

func attrString(kvs []attribute.KeyValue, key attribute.Key) string {
	for _, kv := range kvs {
		if kv.Key == key && kv.Value.Type() == attribute.STRING {
			return kv.Value.AsString()
		}
	}
	return ""
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func statusText(c codes.Code) string {
	switch c {
	case codes.Ok:
		return "ok"
	case codes.Error:
		return "error"
	}
	return "unset"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// parseTraceID accepts the 32 hex digits of a trace id, any case.
func parseTraceID(s string) (trace.TraceID, bool) {
	id, err := trace.TraceIDFromHex(strings.ToLower(s))
	return id, err == nil
}
