package logging

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Lines writes records whose keys are known in advance (vigil's access lines) straight
// into this package's JSON encoding, without a slog.Record: the caller appends typed
// values by key index. Everything that depends only on the keys is decided once, in
// NewLines: their rendered bytes, whether the secret policy redacts them, and whether
// they meet the key rule against the handler's own keys. The line is otherwise the
// record the handler would write for the same attributes: the same header, trace ids,
// context attributes, redaction and key rule, one Write.
//
// A Lines is safe for concurrent use; a Line belongs to one goroutine from Begin to End.
type Lines struct {
	h      *jsonHandler
	keys   []string
	open   [][]byte // `,"key":` for each key
	redact []bool   // the policy redacts the key's values
	bloom  uint64   // keyBit of every key
}

// NewLines returns a Lines for records with the given keys (each a non-empty, distinct
// top-level key), written through h. It returns nil when h is not this package's JSON
// handler or one derived from it with Logger.With alone (a text handler, a fan-out to
// other handlers, a group), or when a key is one the handler writes itself: the caller
// then logs through slog as usual, with the same result.
func NewLines(h slog.Handler, keys ...string) *Lines {
	jh, ok := h.(*jsonHandler)
	if !ok || jh.dirty || jh.open > 0 {
		return nil
	}
	ls := &Lines{h: jh, keys: keys, open: make([][]byte, len(keys)), redact: make([]bool, len(keys))}
	for i, k := range keys {
		if k == "" || jh.shared.names.isReserved(k) || hasString(jh.topKeys, k) || hasString(keys[:i], k) {
			return nil
		}
		// The comma is always needed: the header comes first.
		ls.open[i] = append(appendString([]byte{','}, k), ':')
		ls.redact[i] = jh.shared.matcher.Sensitive(k)
		ls.bloom |= keyBit(k)
	}
	return ls
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Enabled reports whether records at level are written.
func (ls *Lines) Enabled(level slog.Level) bool { return level >= ls.h.shared.level.Level() }

// Line is one record being written (Lines.Begin). It is a value, so that a line costs
// no allocation: keep it in a variable and call its methods on that.
type Line struct {
	ls  *Lines
	bp  *[]byte
	buf []byte
}

// Begin starts a record at level with msg, at the current time: the header, the trace ids
// of ctx's span and ctx's attributes (logging.WithAttrs), then the Logger.With
// attributes of the handler. It reports false, and the line must not be used, when
// level is not enabled, or when ctx's attributes break the key rule against the
// handler's or the Lines' keys (the caller then logs through slog, which applies the
// rule).
func (ls *Lines) Begin(ctx context.Context, level slog.Level, msg string) (Line, bool) {
	if !ls.Enabled(level) {
		return Line{}, false
	}
	if ctx == nil {
		ctx = context.Background()
	}
	h := ls.h
	s := h.shared
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	r := slog.Record{Time: time.Now(), Level: level, Message: msg}
	if s.names.preset == presetVigil {
		buf = append(buf, `{"time":"`...)
		buf = appendTime(buf, r.Time)
		buf = append(buf, `","level":`...)
		buf = appendString(buf, level.String())
		buf = append(buf, `,"msg":`...)
		buf = appendString(buf, s.matcher.Value(msg))
		buf = append(buf, s.base...)
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			buf = append(buf, `,"trace_id":"`...)
			buf = appendTraceID(buf, sc.TraceID())
			buf = append(buf, `","span_id":"`...)
			buf = appendSpanID(buf, sc.SpanID())
			buf = append(buf, '"')
		}
	} else {
		buf = s.appendHeader(buf, ctx, &r)
	}
	cattrs := ctxattrs.From(ctx)
	var seen uint64
	ok := true
	n := s.names
	for i, a := range cattrs {
		if n.requestID != "" && a.Key == "request_id" {
			a.Key = n.requestID
		}
		bit := keyBit(a.Key)
		if a.Key == "" || (seen|n.resBloom|ls.bloom)&bit != 0 &&
			(n.isReserved(a.Key) || ctxHas(n, cattrs[:i], a.Key) || hasString(ls.keys, a.Key)) {
			ok = false
			break
		}
		seen |= bit
		if buf, ok = s.appendAttr(buf, a); !ok {
			break
		}
	}
	if ok && seen&h.topBloom != 0 {
		for _, k := range h.topKeys {
			if ctxHas(n, cattrs, k) {
				ok = false
				break
			}
		}
	}
	if !ok {
		*bp = buf
		bufPool.Put(bp)
		return Line{}, false
	}
	buf = append(buf, h.pre...)
	return Line{ls: ls, bp: bp, buf: buf}, true
}

// String adds the key's value, with the secrets a value can carry by its shape redacted
// (scrub's Value rule: URL passwords and secret parameters, JWTs), or [REDACTED] when the
// key is a secret's name. Use it for whatever a client or a user chose.
func (l *Line) String(key int, v string) {
	l.buf = append(l.buf, l.ls.open[key]...)
	if l.ls.redact[key] {
		l.buf = appendString(l.buf, scrub.Redacted)
		return
	}
	l.buf = appendString(l.buf, l.ls.h.shared.matcher.Value(v))
}

// Known adds a value the caller made from a fixed set (a method name, a status code's
// text, a protocol version), which cannot carry a secret: only the key is checked.
func (l *Line) Known(key int, v string) {
	l.buf = append(l.buf, l.ls.open[key]...)
	if l.ls.redact[key] {
		l.buf = appendString(l.buf, scrub.Redacted)
		return
	}
	l.buf = appendString(l.buf, v)
}

// Int adds an integer.
func (l *Line) Int(key int, v int64) {
	l.buf = append(l.buf, l.ls.open[key]...)
	if l.ls.redact[key] {
		l.buf = appendString(l.buf, scrub.Redacted)
		return
	}
	l.buf = strconv.AppendInt(l.buf, v, 10)
}

// Float adds a float (NaN and infinities as strings, as the handler writes them).
func (l *Line) Float(key int, v float64) {
	l.buf = append(l.buf, l.ls.open[key]...)
	if l.ls.redact[key] {
		l.buf = appendString(l.buf, scrub.Redacted)
		return
	}
	l.buf = appendFloat(l.buf, v)
}

// Bool adds a boolean.
func (l *Line) Bool(key int, v bool) {
	l.buf = append(l.buf, l.ls.open[key]...)
	if l.ls.redact[key] {
		l.buf = appendString(l.buf, scrub.Redacted)
		return
	}
	l.buf = strconv.AppendBool(l.buf, v)
}

// End writes the line with one Write and releases it; l must not be used afterwards.
func (l *Line) End() error {
	buf := append(l.buf, '}', '\n')
	s := l.ls.h.shared
	err := s.write(buf)
	if cap(buf) <= maxPooled {
		*l.bp = buf
		bufPool.Put(l.bp)
	}
	l.buf, l.bp = nil, nil
	return err
}
