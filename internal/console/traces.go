package console

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// spanSlot is one ended span in the ring: the SDK's immutable snapshot (not yet
// redacted: see Console.redact), with what the lists need of it, decided once.
type spanSlot struct {
	sp         sdktrace.ReadOnlySpan
	bytes      int
	failed, db bool
}

// traceStore is a ring of the spans that ended most recently. Spans are grouped into
// traces when a view asks, not as they arrive, so a span costs the request path one
// pass over its attributes and a slot write under a lock: no allocation, no map.
type traceStore struct {
	mu    sync.Mutex
	ring  []spanSlot // MaxSpans slots, allocated once
	head  int        // the oldest span's slot
	n     int        // spans held
	bytes int
}

const spanOverhead = 640 // estimated bytes of a span snapshot beyond its strings

func (s *traceStore) init() { s.ring = make([]spanSlot, MaxSpans) }

// Span records a span that ended (the tracing part's OnEnd hook). It runs on the
// request path: one pass over the attributes, one lock, nothing allocated.
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
	slot := spanSlot{sp: sp, bytes: n, failed: sp.Status().Code == codes.Error}
	for _, kv := range attrs {
		switch kv.Key {
		case "http.response.status_code":
			slot.failed = slot.failed || kv.Value.AsInt64() >= 500
		case "db.system.name", "db.system":
			slot.db = true
		}
	}
	s := &c.traces
	s.mu.Lock()
	for s.n > 0 && (s.n == len(s.ring) || s.bytes+n > MaxTraceBytes) {
		s.bytes -= s.ring[s.head].bytes
		s.ring[s.head] = spanSlot{}
		s.head = (s.head + 1) % len(s.ring)
		s.n--
	}
	s.ring[(s.head+s.n)%len(s.ring)] = slot
	s.n++
	s.bytes += n
	s.mu.Unlock()
	c.traceSeq.Add(1)
}

// held copies the slots, oldest first.
func (s *traceStore) held() []spanSlot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]spanSlot, s.n)
	for i := range out {
		out[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	return out
}

// traceEntry is one trace as a view sees it: its held spans, in the order they ended.
type traceEntry struct {
	id         trace.TraceID
	spans      []sdktrace.ReadOnlySpan
	root       sdktrace.ReadOnlySpan
	start, end time.Time
	failed     bool
	dbCalls    int
	dbTime     time.Duration
}

// traces groups the held spans into traces, ordered by their first span's arrival,
// newest first; outside the store's lock.
func (c *Console) traceEntries() []*traceEntry {
	slots := c.traces.held()
	byID := map[trace.TraceID]*traceEntry{}
	var order []*traceEntry
	for _, sl := range slots {
		sp := sl.sp
		id := sp.SpanContext().TraceID()
		t := byID[id]
		start, end := sp.StartTime(), sp.EndTime()
		if t == nil {
			t = &traceEntry{id: id, start: start, end: end}
			byID[id] = t
			order = append(order, t)
		}
		t.spans = append(t.spans, sp)
		if start.Before(t.start) {
			t.start = start
		}
		if end.After(t.end) {
			t.end = end
		}
		if p := sp.Parent(); !p.IsValid() || p.IsRemote() {
			t.root = sp
		}
		t.failed = t.failed || sl.failed
		if sl.db {
			t.dbCalls++
			t.dbTime += end.Sub(start)
		}
	}
	slices.Reverse(order)
	if len(order) > MaxTraces {
		order = order[:MaxTraces]
	}
	return order
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

func (c *Console) summary(h *traceEntry) traceSummary {
	out := traceSummary{TraceID: h.id.String(), Spans: len(h.spans), Error: h.failed, start: h.start}
	root := h.root
	if root == nil { // not ended yet, or not held: the earliest span stands in
		for _, sp := range h.spans {
			if root == nil || sp.StartTime().Before(root.StartTime()) {
				root = sp
			}
		}
	}
	if root != nil {
		root := c.redact(root)
		out.Root = root.Name()
		out.Route = attrString(root.Attributes(), "http.route")
		out.Status = statusText(root.Status().Code)
	}
	out.dur = h.end.Sub(h.start)
	if h.root != nil {
		out.dur = h.root.EndTime().Sub(h.root.StartTime())
	}
	out.Start = stamp(h.start)
	out.DurationMS = ms(out.dur)
	return out
}

// traceList returns the held traces for a view: recent (newest first), slow (slowest
// first) or failed (newest first), of one route when route is not empty.
func (c *Console) traceList(view, route string, max int) []traceSummary {
	entries := c.traceEntries()
	out := make([]traceSummary, 0, len(entries))
	for _, h := range entries {
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
	Dropped int        `json:"dropped_spans"` // 0: the ring drops whole spans, oldest first
}

// traceDetail returns one trace; the log counts come from the log store.
func (c *Console) traceDetail(id trace.TraceID) (traceView, bool) {
	var spans []sdktrace.ReadOnlySpan
	var start time.Time
	for _, sl := range c.traces.held() {
		if sp := sl.sp; sp.SpanContext().TraceID() == id {
			spans = append(spans, sp)
			if start.IsZero() || sp.StartTime().Before(start) {
				start = sp.StartTime()
			}
		}
	}
	if len(spans) == 0 {
		return traceView{}, false
	}
	for i, sp := range spans {
		spans[i] = c.redact(sp) // the secret policy, as on export
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].StartTime().Before(spans[j].StartTime()) })
	held := map[trace.SpanID]bool{}
	for _, sp := range spans {
		held[sp.SpanContext().SpanID()] = true
	}
	logs := c.logCounts(id.String())
	out := traceView{TraceID: id.String(), Spans: make([]spanView, 0, len(spans))}
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
	for _, h := range c.traceEntries() {
		if h.root == nil {
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
