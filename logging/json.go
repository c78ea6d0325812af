package logging

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// jsonHandler writes one JSON object per record with a single Write call.
// It is written for this package rather than wrapping slog.JSONHandler because adding
// trace ids and context attributes to a slog.Record costs an allocation once a record
// has more than five attributes, and the hot path here must not allocate.
type jsonHandler struct {
	shared *sharedState
	// pre holds the rendered WithAttrs/WithGroup content, each field preceded by a comma
	// and each group opened ("g":{) but not closed.
	pre []byte
	// open is the number of groups opened in pre; trailing is how many of them, at the
	// end of pre, hold nothing yet and start at trailingAt. They are left out of records
	// without attributes, as slog requires.
	open, trailing, trailingAt int

	// frames is what pre renders, kept for records that break the key rule (keys.go).
	frames []frame
	// topKeys are pre's top-level keys and lastKeys those of its innermost group, where
	// the record's attributes go; dirty says pre breaks the key rule by itself.
	topKeys, lastKeys   []string
	topBloom, lastBloom uint64 // keyBit of each of topKeys, lastKeys
	dirty               bool
}

// sharedState is common to a handler and every handler derived from it.
type sharedState struct {
	mu        sync.Mutex
	out       io.Writer
	level     slog.Leveler
	addSource bool
	matcher   *scrub.Matcher
	names     *naming
	base      []byte // ,"service":"..." and friends, under the preset's names
}

func newJSONHandler(r resolved) *jsonHandler {
	n := newNaming(r.fields, r.addSource)
	s := &sharedState{out: r.out, level: r.level, addSource: r.addSource, matcher: r.matcher, names: n}
	for _, a := range n.serviceAttrs(r.service, r.version, r.environment) {
		s.base, _ = s.appendAttr(s.base, a)
	}
	return &jsonHandler{shared: s}
}

func (h *jsonHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.shared.level.Level()
}

func (h *jsonHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.pre = append([]byte(nil), h.pre...)
	n := len(h2.pre)
	resolved := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		// Resolved once, as the rendering in pre is.
		a.Value = a.Value.Resolve()
		resolved[i] = a
		h2.pre, _ = h2.shared.appendAttr(h2.pre, a)
	}
	if len(h2.pre) != n {
		h2.trailing, h2.trailingAt = 0, len(h2.pre)
	}
	h2.frames = withAttrs(h.frames, resolved)
	h2.index()
	return &h2
}

func (h *jsonHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.pre = append([]byte(nil), h.pre...)
	if h2.trailing == 0 {
		h2.trailingAt = len(h2.pre)
	}
	h2.pre = appendKey(h2.pre, name)
	h2.pre = append(h2.pre, '{')
	h2.open++
	h2.trailing++
	h2.frames = withGroup(h.frames, name)
	h2.index()
	return &h2
}

// index computes topKeys, lastKeys, their blooms and dirty from frames. A handler
// whose own attributes break the key rule, or hold an inline group, renders every
// record with lineAttrs.
func (h *jsonHandler) index() {
	h.dirty, h.topKeys, h.lastKeys, h.topBloom, h.lastBloom = false, nil, nil, 0, 0
	var scratch []byte
	for i, f := range h.frames {
		var keys []string
		if i+1 < len(h.frames) {
			f.attrs = append(f.attrs[:len(f.attrs):len(f.attrs)], slog.Bool(h.frames[i+1].group, true))
		}
		ok := true
		for _, a := range f.attrs {
			if a.Key == "" || slices.Contains(keys, a.Key) || i == 0 && h.shared.names.isReserved(a.Key) {
				h.dirty = true
				return
			}
			if scratch, ok = h.shared.appendAttr(scratch[:0], a); !ok {
				h.dirty = true
				return
			}
			keys = append(keys, a.Key)
		}
		if i == 0 {
			h.topKeys, h.topBloom = keys, bloomOf(keys)
		}
		if i == len(h.frames)-1 {
			h.lastKeys, h.lastBloom = keys, bloomOf(keys)
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooled keeps one huge record from pinning its buffer forever.
const maxPooled = 64 << 10

func (h *jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	s := h.shared
	if s.names.preset == presetVigil {
		// vigil's own names, as constants: the default costs nothing for the presets.
		buf = append(buf, '{')
		if !r.Time.IsZero() {
			buf = append(buf, `"time":"`...)
			buf = appendTime(buf, r.Time)
			buf = append(buf, '"', ',')
		}
		buf = append(buf, `"level":`...)
		buf = appendString(buf, r.Level.String())
		buf = append(buf, `,"msg":`...)
		buf = appendString(buf, s.matcher.Value(r.Message))
		buf = append(buf, s.base...)
		if ctx != nil {
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				buf = append(buf, `,"trace_id":"`...)
				buf = appendTraceID(buf, sc.TraceID())
				buf = append(buf, `","span_id":"`...)
				buf = appendSpanID(buf, sc.SpanID())
				buf = append(buf, '"')
			}
		}
		if s.addSource && r.PC != 0 {
			buf = s.names.appendSource(buf, r.PC)
		}
	} else {
		buf = s.appendHeader(buf, ctx, &r)
	}
	header := len(buf)
	ok := false
	if !h.dirty {
		buf, ok = h.appendAttrs(buf, ctx, &r)
	}
	if !ok {
		// A key repeats: write the attributes again under the key rule.
		buf = buf[:header]
		for _, a := range lineAttrs(s.names, ctx, h.frames, r) {
			buf, _ = s.appendAttr(buf, a)
		}
	}
	buf = append(buf, '}', '\n')

	err := s.write(buf)

	if cap(buf) <= maxPooled {
		*bp = buf
		bufPool.Put(bp)
	}
	return err
}

// write writes one line under the lock. The unlock is deferred: an Output that panics
// (the panic reaches the caller, the middleware's containment) must not leave every later
// record waiting on the lock.
func (s *sharedState) write(buf []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.out.Write(buf)
	return err
}

// appendHeader opens the line with the fields the handler writes itself, under a
// preset's names as newNaming rendered them (Handle writes vigil's own inline). r is a
// pointer: a slog.Record is large.
func (s *sharedState) appendHeader(buf []byte, ctx context.Context, r *slog.Record) []byte {
	n := s.names
	buf = append(buf, '{')
	if !r.Time.IsZero() {
		buf = append(buf, n.timeOpen...)
		buf = appendTime(buf, r.Time)
		buf = append(buf, '"', ',')
	}
	buf = n.appendLevel(buf, r.Level)
	buf = append(buf, n.msgOpen...)
	buf = appendString(buf, s.matcher.Value(r.Message))
	buf = append(buf, s.base...)
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			buf = n.appendTrace(buf, sc)
		}
	}
	if s.addSource && r.PC != 0 {
		buf = n.appendSource(buf, r.PC)
	}
	return buf
}

// appendAttrs writes the context's, the handler's and the record's attributes without
// allocating, and reports false as soon as a key repeats in an object (the caller
// starts over with lineAttrs).
func (h *jsonHandler) appendAttrs(buf []byte, ctx context.Context, r *slog.Record) ([]byte, bool) {
	s := h.shared
	n := s.names

	// seen has keyBit(k) set for each key k of the level being written, so that a new
	// key costs no comparison unless its bit is taken; the checks then look at the
	// attributes themselves. An empty key may be an inline group, whose keys are known
	// once resolved: such records take the slow path.
	var cattrs []slog.Attr
	if ctx != nil {
		cattrs = ctxattrs.From(ctx)
	}
	var seen uint64
	ok := true
	for i, a := range cattrs {
		if n.requestID != "" && a.Key == "request_id" {
			a.Key = n.requestID
		}
		bit := keyBit(a.Key)
		if a.Key == "" || (seen|n.resBloom)&bit != 0 && (n.isReserved(a.Key) || ctxHas(n, cattrs[:i], a.Key)) {
			return buf, false
		}
		seen |= bit
		if buf, ok = s.appendAttr(buf, a); !ok {
			return buf, false
		}
	}
	// The handler's own keys (checked by index) must not repeat the context's.
	if seen&h.topBloom != 0 {
		for _, k := range h.topKeys {
			if ctxHas(n, cattrs, k) {
				return buf, false
			}
		}
	}
	res := n.resBloom
	if h.open == 0 {
		seen |= h.topBloom
	} else {
		// The record's attributes go in the innermost group, beside its own keys.
		seen, res = h.lastBloom, 0
	}

	if r.NumAttrs() == 0 {
		buf = append(buf, h.pre[:h.trailingAt]...)
		return closeGroups(buf, h.open-h.trailing), true
	}
	buf = append(buf, h.pre...)
	mark := len(buf)
	st := recordKeys{h: h, r: r, seen: seen | res}
	if len(cattrs) > 0 {
		st.cattrs = cattrs
	}
	r.Attrs(func(a slog.Attr) bool {
		buf, ok = s.appendAttrChecked(buf, a, &st)
		return ok
	})
	if !ok {
		return buf, false
	}
	if len(buf) == mark && h.trailing > 0 {
		// Every attribute was empty: drop the groups that would stay empty.
		buf = buf[:mark-(len(h.pre)-h.trailingAt)]
		return closeGroups(buf, h.open-h.trailing), true
	}
	return closeGroups(buf, h.open), true
}

// recordKeys is what checking the keys of a record's attributes as they are written
// needs (appendAttrChecked).
type recordKeys struct {
	h      *jsonHandler
	r      *slog.Record
	cattrs []slog.Attr
	seen   uint64 // keyBit of the keys so far, and of the reserved ones
	i      int    // the index of the record's attribute being written
}

// repeats reports whether k, the key of the record's attribute i, is already on its
// level of the line, at the top level is one the handler writes itself, or is the key
// of an earlier attribute of the record. A later attribute with the same key is found
// when its own turn comes, as its bit is then taken.
func (h *jsonHandler) repeats(k string, i int, cattrs []slog.Attr, r *slog.Record) bool {
	if h.open == 0 {
		if h.shared.names.isReserved(k) || ctxHas(h.shared.names, cattrs, k) || slices.Contains(h.topKeys, k) {
			return true
		}
	} else if slices.Contains(h.lastKeys, k) {
		return true
	}
	found, j := false, 0
	r.Attrs(func(a slog.Attr) bool {
		if j == i {
			return false
		}
		j++
		found = a.Key == k
		return !found
	})
	return found
}

// ctxHas reports whether a context attribute has key k on the line.
func ctxHas(n *naming, cattrs []slog.Attr, k string) bool {
	for _, a := range cattrs {
		if a.Key == k || n.requestID != "" && a.Key == "request_id" && k == n.requestID {
			return true
		}
	}
	return false
}

func closeGroups(buf []byte, n int) []byte {
	for range n {
		buf = append(buf, '}')
	}
	return buf
}

// appendAttr appends ,"key":value (or nothing for an empty attribute), redacting
// sensitive keys at any depth. It reports false, having written part of the attribute,
// when a group in it has a key twice or an inline group (the caller starts over with
// lineAttrs); the caller checks the attribute's own key.
func (s *sharedState) appendAttr(buf []byte, a slog.Attr) ([]byte, bool) {
	return s.appendAttrChecked(buf, a, nil)
}

// appendAttrChecked is appendAttr that, with st, first checks the attribute's key as
// one of the record's (see recordKeys).
func (s *sharedState) appendAttrChecked(buf []byte, a slog.Attr, st *recordKeys) ([]byte, bool) {
	if st != nil {
		k := a.Key
		if len(k) == 0 {
			return buf, false
		}
		// keyBit, for a key known not to be empty.
		bit := uint64(1) << ((uint64(k[0]) | uint64(k[len(k)-1])<<8 | uint64(len(k))<<16) * 0x9e3779b97f4a7c15 >> 58)
		if st.seen&bit != 0 && st.h.repeats(k, st.i, st.cattrs, st.r) {
			return buf, false
		}
		st.seen |= bit
		st.i++
	}
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = a.Value.Resolve()
	}
	if a.Value.Kind() == slog.KindGroup {
		return s.appendGroup(buf, a)
	}
	if a.Equal(slog.Attr{}) {
		return buf, true
	}
	buf = appendKey(buf, a.Key)
	if s.matcher.Sensitive(a.Key) {
		return appendString(buf, scrub.Redacted), true
	}
	return appendValue(buf, a.Value, s.matcher), true
}

func (s *sharedState) appendGroup(buf []byte, a slog.Attr) ([]byte, bool) {
	attrs := a.Value.Group()
	if len(attrs) == 0 {
		return buf, true
	}
	ok := true
	if a.Key == "" { // inline group: its caller checks the keys
		for _, ga := range attrs {
			if buf, ok = s.appendAttr(buf, ga); !ok {
				return buf, false
			}
		}
		return buf, true
	}
	if s.matcher.Sensitive(a.Key) {
		buf = appendKey(buf, a.Key)
		return appendString(buf, scrub.Redacted), true
	}
	start := len(buf)
	buf = appendKey(buf, a.Key)
	buf = append(buf, '{')
	mark := len(buf)
	var seen uint64
	for i, ga := range attrs {
		k := ga.Key
		if k == "" && (ga.Value.Kind() == slog.KindGroup || ga.Value.Kind() == slog.KindLogValuer) {
			return buf, false // may be an inline group
		}
		bit := keyBit(k)
		if seen&bit != 0 && hasKey(attrs[:i], k) {
			return buf, false
		}
		seen |= bit
		if buf, ok = s.appendAttr(buf, ga); !ok {
			return buf, false
		}
	}
	if len(buf) == mark { // all members empty: drop the group
		return buf[:start], true
	}
	return append(buf, '}'), true
}

// appendKey appends ,"key": (without the comma right after an opening brace).
func appendKey(buf []byte, key string) []byte {
	if n := len(buf); n == 0 || buf[n-1] != '{' {
		buf = append(buf, ',')
	}
	buf = appendString(buf, key)
	return append(buf, ':')
}

func appendValue(buf []byte, v slog.Value, m *scrub.Matcher) []byte {
	switch v.Kind() {
	case slog.KindString:
		// A URL with a password, or a JWT, carries its secret in the value, not the key.
		return appendString(buf, m.Value(v.String()))
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindFloat64:
		return appendFloat(buf, v.Float64())
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		// As slog.JSONHandler does: nanoseconds as an integer.
		return strconv.AppendInt(buf, int64(v.Duration()), 10)
	case slog.KindTime:
		buf = append(buf, '"')
		buf = appendTime(buf, v.Time())
		return append(buf, '"')
	default:
		// User values (errors, maps, structs, panic values) may be cyclic, hostile or
		// hold secrets at any depth: the one safe formatter renders them.
		return safefmt.AppendJSON(buf, v.Any(), m)
	}
}

func appendFloat(buf []byte, f float64) []byte {
	if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
		// JSON has no NaN or Inf; keep the line valid.
		return appendString(buf, strconv.FormatFloat(f, 'g', -1, 64))
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

func appendTraceID(buf []byte, id trace.TraceID) []byte {
	for _, b := range id {
		buf = append(buf, hexDigits[b>>4], hexDigits[b&0xf])
	}
	return buf
}

func appendSpanID(buf []byte, id trace.SpanID) []byte {
	for _, b := range id {
		buf = append(buf, hexDigits[b>>4], hexDigits[b&0xf])
	}
	return buf
}

// appendTime writes RFC 3339 with milliseconds, as slog.JSONHandler does, without
// time.Format's generality. Lines come many to a second: the date, the clock to the
// second and the zone are formatted once per second (and location) and kept.
func appendTime(buf []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	if c := lastSecond.Load(); c != nil && c.sec == sec && c.loc == loc {
		buf = append(buf, c.date[:]...)
		buf = append(buf, '.')
		buf = appendPad(buf, t.Nanosecond()/1e6, 3)
		return append(buf, c.zone...)
	}
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(buf, time.RFC3339Nano)
	}
	c := &second{sec: sec, loc: loc}
	hour, min, s := t.Clock()
	d := appendPad(c.date[:0], year, 4)
	d = append(d, '-')
	d = appendPad(d, int(month), 2)
	d = append(d, '-')
	d = appendPad(d, day, 2)
	d = append(d, 'T')
	d = appendPad(d, hour, 2)
	d = append(d, ':')
	d = appendPad(d, min, 2)
	d = append(d, ':')
	_ = appendPad(d, s, 2)
	_, off := t.Zone()
	if off == 0 {
		c.zone = "Z"
	} else {
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		z := append(make([]byte, 0, 6), sign)
		z = appendPad(z, off/3600, 2)
		z = append(z, ':')
		c.zone = string(appendPad(z, off%3600/60, 2))
	}
	lastSecond.Store(c)
	buf = append(buf, c.date[:]...)
	buf = append(buf, '.')
	buf = appendPad(buf, t.Nanosecond()/1e6, 3)
	return append(buf, c.zone...)
}

// second is the part of a time's text that is the same for a whole second in one
// location: "2006-01-02T15:04:05" and the zone ("Z", "+01:00").
type second struct {
	sec  int64
	loc  *time.Location
	date [19]byte
	zone string
}

// lastSecond is the second of the latest line written.
var lastSecond atomic.Pointer[second]

func appendPad(buf []byte, v, width int) []byte {
	var tmp [8]byte
	i := len(tmp)
	for v >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + v)
	return append(buf, tmp[i:]...)
}
