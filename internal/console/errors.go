package console

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/limits"
)

// errorGroup is one row of the errors view: the events that share a fingerprint, as
// Sentry groups them into an issue.
type errorGroup struct {
	Fingerprint string `json:"fingerprint"`
	Title       string `json:"title"`
	Type        string `json:"type"`
	Count       uint64 `json:"count"`
	FirstSeen   string `json:"first_seen"`
	LastSeen    string `json:"last_seen"`
	Route       string `json:"route"`
	Level       string `json:"level"`
	LastEventID string `json:"last_event_id"`
	TraceID     string `json:"trace_id"`

	first, last time.Time
	events      []*errorEvent // newest last
	bytes       int
}

type errorEvent struct {
	EventID     string                     `json:"event_id"`
	Time        string                     `json:"time"`
	Message     string                     `json:"message"`
	Type        string                     `json:"type"`
	Value       string                     `json:"value"`
	Route       string                     `json:"route"`
	TraceID     string                     `json:"trace_id"`
	SpanID      string                     `json:"span_id"`
	RequestID   string                     `json:"request_id"`
	Stack       []frame                    `json:"stack"`
	Request     *request                   `json:"request"`
	Attributes  map[string]json.RawMessage `json:"attributes"`
	Breadcrumbs []breadcrumb               `json:"breadcrumbs"`

	bytes int
}

type frame struct {
	Function string `json:"function"`
	Module   string `json:"module"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	InApp    bool   `json:"in_app"`
}

type request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Query   string            `json:"query"`
}

type breadcrumb struct {
	Time     string `json:"time"`
	Category string `json:"category"`
	Level    string `json:"level"`
	Message  string `json:"message"`
}

// errorStore holds the groups, evicting the least recently seen.
type errorStore struct {
	mu     sync.Mutex
	groups map[string]*errorGroup
	bytes  int
	// byEvent maps an event id to its group, so that a deduplicated capture, which
	// knows only the id of the event it repeats, counts in the right group; ids is its
	// eviction order. pending counts duplicates of events not received yet (the event
	// is built on the sending goroutine, after the capture returned).
	byEvent map[string]string
	ids     []string
	pending map[string]int
}

const (
	maxEventIDs    = 4096 // ids remembered for dedup counting
	maxPending     = 1024
	eventOverhead  = 512 // estimated bytes of an event beyond its strings
	maxBreadcrumbs = 50
	maxAttrs       = 64
	maxHeaders     = 64
)

func (s *errorStore) init() {
	s.groups = map[string]*errorGroup{}
	s.byEvent = map[string]string{}
	s.pending = map[string]int{}
}

// Event records an error event as it leaves for Sentry, after scrubbing (the errors
// part's OnEvent hook).
func (c *Console) Event(ev *sentry.Event) {
	if ev == nil || ev.Type != "" { // transactions, check-ins, logs: not errors
		return
	}
	e, fp, title, typ := convertEvent(ev)
	now := c.now()
	s := &c.errs
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[fp]
	if g == nil {
		g = &errorGroup{Fingerprint: fp, Title: title, Type: typ, first: now}
		s.groups[fp] = g
	}
	dups := s.pending[e.EventID]
	delete(s.pending, e.EventID)
	g.Count += 1 + uint64(dups)
	g.last = now
	g.Route, g.Level, g.LastEventID, g.TraceID = e.Route, string(ev.Level), e.EventID, e.TraceID
	g.events = append(g.events, e)
	g.bytes += e.bytes
	s.bytes += e.bytes
	if len(g.events) > MaxGroupEvents {
		old := g.events[0]
		g.events = append(g.events[:0], g.events[1:]...)
		g.bytes -= old.bytes
		s.bytes -= old.bytes
	}
	s.remember(e.EventID, fp)
	s.evict(fp)
	c.errSeq.Add(1)
}

// Duplicate counts a capture that dedup suppressed as an occurrence of the event it
// repeats (the errors part's OnDuplicate hook).
func (c *Console) Duplicate(eventID string) {
	s := &c.errs
	now := c.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	fp, ok := s.byEvent[eventID]
	g := s.groups[fp]
	if !ok || g == nil {
		if len(s.pending) < maxPending {
			s.pending[eventID]++
		}
		return
	}
	g.Count++
	g.last = now
	c.errSeq.Add(1)
}

func (s *errorStore) remember(id, fp string) {
	if _, ok := s.byEvent[id]; ok {
		return
	}
	s.byEvent[id] = fp
	s.ids = append(s.ids, id)
	if len(s.ids) > maxEventIDs {
		delete(s.byEvent, s.ids[0])
		s.ids = append(s.ids[:0], s.ids[1:]...)
	}
}

// evict drops the least recently seen groups (never keep, the one just updated) while
// over a bound.
func (s *errorStore) evict(keep string) {
	for len(s.groups) > MaxErrorGroups || s.bytes > MaxErrorBytes {
		var victim *errorGroup
		for fp, g := range s.groups {
			if fp != keep && (victim == nil || g.last.Before(victim.last)) {
				victim = g
			}
		}
		if victim == nil {
			// One group over the byte bound on its own: keep only its newest event.
			g := s.groups[keep]
			for len(g.events) > 1 && s.bytes > MaxErrorBytes {
				s.bytes -= g.events[0].bytes
				g.bytes -= g.events[0].bytes
				g.events = g.events[1:]
			}
			return
		}
		s.bytes -= victim.bytes
		delete(s.groups, victim.Fingerprint)
	}
}

// groupsJSON returns a snapshot of the groups, most recently seen first.
func (c *Console) errorGroups() []errorGroup {
	s := &c.errs
	s.mu.Lock()
	out := make([]errorGroup, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g.snapshot())
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].last.Equal(out[j].last) {
			return out[i].last.After(out[j].last)
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	return out
}

// errorGroup returns one group and its events, newest first.
func (c *Console) errorGroup(fp string) (errorGroup, []*errorEvent, bool) {
	s := &c.errs
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[fp]
	if g == nil {
		return errorGroup{}, nil, false
	}
	evs := make([]*errorEvent, 0, len(g.events))
	for i := len(g.events) - 1; i >= 0; i-- {
		evs = append(evs, g.events[i]) // events are immutable once stored
	}
	return g.snapshot(), evs, true
}

func (g *errorGroup) snapshot() errorGroup {
	out := *g
	out.events = nil
	out.FirstSeen = stamp(g.first)
	out.LastSeen = stamp(g.last)
	return out
}

// convertEvent copies what the console shows of ev into bounded plain values, and
// computes its group: the main exception's type and in-app frames (as Sentry groups by
// stack), or its type and message when there is no stack.
func convertEvent(ev *sentry.Event) (e *errorEvent, fp, title, typ string) {
	e = &errorEvent{
		EventID: clip(string(ev.EventID)),
		Time:    stamp(ev.Timestamp),
		Message: clip(ev.Message),
		Route:   clip(ev.Tags["route"]),
	}
	if tc := ev.Contexts["trace"]; tc != nil {
		e.TraceID, _ = tc["trace_id"].(string)
		e.SpanID, _ = tc["span_id"].(string)
		e.TraceID, e.SpanID = clip(e.TraceID), clip(e.SpanID)
	}
	h := fnv.New64a()
	var main *sentry.Exception
	if n := len(ev.Exception); n > 0 {
		main = &ev.Exception[n-1] // Sentry lists the chain innermost first, the main one last
	}
	if main != nil {
		e.Type, e.Value = clip(main.Type), clip(main.Value)
		h.Write([]byte(main.Type))
		var frames []sentry.Frame
		if main.Stacktrace != nil {
			frames = main.Stacktrace.Frames
		}
		inApp := false
		for i := len(frames) - 1; i >= 0; i-- { // innermost first
			f := frames[i]
			if len(e.Stack) < MaxFrames {
				file := f.AbsPath
				if file == "" {
					file = f.Filename
				}
				e.Stack = append(e.Stack, frame{Function: clip(f.Function), Module: clip(f.Module), File: clip(file), Line: f.Lineno, InApp: f.InApp})
			}
			if f.InApp {
				inApp = true
				fmt.Fprintf(h, "\x00%s.%s", f.Module, f.Function)
			}
		}
		if !inApp {
			if len(frames) > 0 {
				f := frames[len(frames)-1]
				fmt.Fprintf(h, "\x00%s.%s", f.Module, f.Function)
			} else {
				fmt.Fprintf(h, "\x00%s", main.Value)
			}
		}
	} else {
		h.Write([]byte("message\x00" + ev.Message))
	}
	typ = e.Type
	switch {
	case e.Type != "" && e.Value != "":
		title = e.Type + ": " + e.Value
	case e.Value != "":
		title = e.Value
	case e.Message != "":
		title = e.Message
	default:
		title = e.Type
	}
	title = limits.Truncate(title, 512)
	if ev.Request != nil {
		r := &request{Method: clip(ev.Request.Method), URL: clip(ev.Request.URL), Query: clip(ev.Request.QueryString)}
		for k, v := range ev.Request.Headers {
			if len(r.Headers) >= maxHeaders {
				break
			}
			if r.Headers == nil {
				r.Headers = map[string]string{}
			}
			r.Headers[clip(k)] = clip(v)
		}
		e.Request = r
	}
	if attrs := ev.Contexts["attributes"]; attrs != nil {
		e.Attributes = map[string]json.RawMessage{}
		for k, v := range attrs {
			if len(e.Attributes) >= maxAttrs {
				break
			}
			e.Attributes[clip(k)] = rawValue(v)
			if k == "request_id" {
				if s, ok := v.(string); ok {
					e.RequestID = clip(s)
				}
			}
		}
	}
	crumbs := ev.Breadcrumbs
	if len(crumbs) > maxBreadcrumbs {
		crumbs = crumbs[len(crumbs)-maxBreadcrumbs:]
	}
	for _, b := range crumbs {
		if b == nil {
			continue
		}
		e.Breadcrumbs = append(e.Breadcrumbs, breadcrumb{Time: stamp(b.Timestamp), Category: clip(b.Category), Level: string(b.Level), Message: clip(b.Message)})
	}
	e.bytes = e.size()
	return e, fmt.Sprintf("%016x", h.Sum64()), title, typ
}

// rawValue renders an attribute value as JSON, bounded; a value JSON cannot encode is
// shown as a string.
func rawValue(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil || len(b) > MaxText {
		s := fmt.Sprint(v)
		if err == nil {
			s = string(b)
		}
		b, _ = json.Marshal(limits.Truncate(s, MaxText))
	}
	return b
}

func (e *errorEvent) size() int {
	n := eventOverhead + len(e.EventID) + len(e.Time) + len(e.Message) + len(e.Type) + len(e.Value) +
		len(e.Route) + len(e.TraceID) + len(e.SpanID) + len(e.RequestID)
	for _, f := range e.Stack {
		n += 48 + len(f.Function) + len(f.Module) + len(f.File)
	}
	if r := e.Request; r != nil {
		n += 64 + len(r.Method) + len(r.URL) + len(r.Query)
		for k, v := range r.Headers {
			n += 32 + len(k) + len(v)
		}
	}
	for k, v := range e.Attributes {
		n += 32 + len(k) + len(v)
	}
	for _, b := range e.Breadcrumbs {
		n += 64 + len(b.Time) + len(b.Category) + len(b.Level) + len(b.Message)
	}
	return n
}

// clip bounds a string kept by the console.
func clip(s string) string { return limits.Truncate(strings.ToValidUTF8(s, "\uFFFD"), MaxText) }

// stamp formats t for the API; "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
