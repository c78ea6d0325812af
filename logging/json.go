package logging

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
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
}

// sharedState is common to a handler and every handler derived from it.
type sharedState struct {
	mu        sync.Mutex
	out       io.Writer
	level     slog.Leveler
	addSource bool
	matcher   *scrub.Matcher
	base      []byte // ,"service":"..." and friends
}

func newJSONHandler(r resolved) *jsonHandler {
	s := &sharedState{out: r.out, level: r.level, addSource: r.addSource, matcher: r.matcher}
	for _, kv := range [][2]string{{"service", r.service}, {"service_version", r.version}, {"environment", r.environment}} {
		if kv[1] != "" {
			s.base = appendKey(s.base, kv[0])
			s.base = appendString(s.base, kv[1])
		}
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
	for _, a := range attrs {
		h2.pre = h2.appendAttr(h2.pre, a)
	}
	if len(h2.pre) != n {
		h2.trailing, h2.trailingAt = 0, len(h2.pre)
	}
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
	return &h2
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooled keeps one huge record from pinning its buffer forever.
const maxPooled = 64 << 10

func (h *jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]

	buf = append(buf, '{')
	if !r.Time.IsZero() {
		buf = append(buf, `"time":"`...)
		buf = appendTime(buf, r.Time)
		buf = append(buf, '"', ',')
	}
	buf = append(buf, `"level":`...)
	buf = appendString(buf, r.Level.String())
	buf = append(buf, `,"msg":`...)
	buf = appendString(buf, r.Message)
	buf = append(buf, h.shared.base...)

	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			buf = append(buf, `,"trace_id":"`...)
			buf = appendTraceID(buf, sc.TraceID())
			buf = append(buf, `","span_id":"`...)
			buf = appendSpanID(buf, sc.SpanID())
			buf = append(buf, '"')
		}
		for _, a := range ctxattrs.From(ctx) {
			buf = h.appendAttr(buf, a)
		}
	}
	if h.shared.addSource && r.PC != 0 {
		buf = appendSource(buf, r.PC)
	}

	if r.NumAttrs() == 0 {
		buf = append(buf, h.pre[:h.trailingAt]...)
		buf = closeGroups(buf, h.open-h.trailing)
	} else {
		buf = append(buf, h.pre...)
		mark := len(buf)
		r.Attrs(func(a slog.Attr) bool {
			buf = h.appendAttr(buf, a)
			return true
		})
		if len(buf) == mark && h.trailing > 0 {
			// Every attribute was empty: drop the groups that would stay empty.
			buf = buf[:mark-(len(h.pre)-h.trailingAt)]
			buf = closeGroups(buf, h.open-h.trailing)
		} else {
			buf = closeGroups(buf, h.open)
		}
	}
	buf = append(buf, '}', '\n')

	h.shared.mu.Lock()
	_, err := h.shared.out.Write(buf)
	h.shared.mu.Unlock()

	if cap(buf) <= maxPooled {
		*bp = buf
		bufPool.Put(bp)
	}
	return err
}

func closeGroups(buf []byte, n int) []byte {
	for range n {
		buf = append(buf, '}')
	}
	return buf
}

// appendAttr appends ,"key":value (or nothing for an empty attribute), redacting
// sensitive keys at any depth.
func (h *jsonHandler) appendAttr(buf []byte, a slog.Attr) []byte {
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = a.Value.Resolve()
	}
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if len(attrs) == 0 {
			return buf
		}
		if a.Key == "" { // inline group
			for _, ga := range attrs {
				buf = h.appendAttr(buf, ga)
			}
			return buf
		}
		if h.shared.matcher.Sensitive(a.Key) {
			buf = appendKey(buf, a.Key)
			return appendString(buf, scrub.Redacted)
		}
		start := len(buf)
		buf = appendKey(buf, a.Key)
		buf = append(buf, '{')
		mark := len(buf)
		for _, ga := range attrs {
			buf = h.appendAttr(buf, ga)
		}
		if len(buf) == mark { // all members empty: drop the group
			return buf[:start]
		}
		return append(buf, '}')
	}
	buf = appendKey(buf, a.Key)
	if h.shared.matcher.Sensitive(a.Key) {
		return appendString(buf, scrub.Redacted)
	}
	return appendValue(buf, a.Value, h.shared.matcher)
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
		return appendString(buf, v.String())
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

func appendSource(buf []byte, pc uintptr) []byte {
	fs := runtime.CallersFrames([]uintptr{pc})
	f, _ := fs.Next()
	buf = appendKey(buf, slog.SourceKey)
	buf = append(buf, `{"function":`...)
	buf = appendString(buf, f.Function)
	buf = append(buf, `,"file":`...)
	buf = appendString(buf, f.File)
	buf = append(buf, `,"line":`...)
	buf = strconv.AppendInt(buf, int64(f.Line), 10)
	return append(buf, '}')
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
// time.Format's generality.
func appendTime(buf []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(buf, time.RFC3339Nano)
	}
	hour, min, sec := t.Clock()
	buf = appendPad(buf, year, 4)
	buf = append(buf, '-')
	buf = appendPad(buf, int(month), 2)
	buf = append(buf, '-')
	buf = appendPad(buf, day, 2)
	buf = append(buf, 'T')
	buf = appendPad(buf, hour, 2)
	buf = append(buf, ':')
	buf = appendPad(buf, min, 2)
	buf = append(buf, ':')
	buf = appendPad(buf, sec, 2)
	buf = append(buf, '.')
	buf = appendPad(buf, t.Nanosecond()/1e6, 3)
	_, off := t.Zone()
	if off == 0 {
		return append(buf, 'Z')
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	buf = append(buf, sign)
	buf = appendPad(buf, off/3600, 2)
	buf = append(buf, ':')
	return appendPad(buf, off%3600/60, 2)
}

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
