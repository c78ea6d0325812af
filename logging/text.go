package logging

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// textHandler is the human-oriented format (VIGIL_LOG_FORMAT=text) over slog.TextHandler.
// It has the same fields, correlation, key rule and redaction as the JSON handler, under
// vigil's names whatever the preset (the presets are for log stores, this is for
// people); speed matters less here, so it rewrites records rather than encoding them.
type textHandler struct {
	inner   slog.Handler
	matcher *scrub.Matcher
	names   *naming
	base    []slog.Attr
	frames  []frame
}

func newTextHandler(r resolved) *textHandler {
	n := newNaming("vigil", r.addSource) // with AddSource, slog.TextHandler writes "source"
	return &textHandler{
		inner:   slog.NewTextHandler(r.out, &slog.HandlerOptions{Level: r.level, AddSource: r.addSource}),
		matcher: r.matcher,
		names:   n,
		base:    n.serviceAttrs(r.service, r.version, r.environment),
	}
}

func (h *textHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *textHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.frames = withAttrs(h.frames, resolveAll(attrs))
	return &h2
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.frames = withGroup(h.frames, name)
	return &h2
}

func (h *textHandler) Handle(ctx context.Context, r slog.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("logging: text handler: %s", safefmt.Text(p, h.matcher))
		}
	}()
	nr := slog.NewRecord(r.Time, r.Level, h.matcher.Value(r.Message), r.PC)
	nr.AddAttrs(h.base...)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		nr.AddAttrs(h.names.traceAttrs(sc)...)
	}
	nr.AddAttrs(redact(lineAttrs(h.names, ctx, h.frames, r), h.matcher)...)
	return h.inner.Handle(ctx, nr)
}

// resolveAll returns attrs with their values resolved, as a handler's WithAttrs does.
func resolveAll(attrs []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		a.Value = a.Value.Resolve()
		out[i] = a
	}
	return out
}

// redact applies the secret policy to attributes that leave through a handler other
// than the JSON one: sensitive keys have their value (a group: the whole group)
// replaced at any depth, and user values are rendered by the safe formatter, so that no
// fmt or json call on the original can print a secret. attrs is modified in place.
func redact(attrs []slog.Attr, m *scrub.Matcher) []slog.Attr {
	for i, a := range attrs {
		attrs[i] = redactAttr(a, m)
	}
	return attrs
}

func redactAttr(a slog.Attr, m *scrub.Matcher) slog.Attr {
	a.Value = a.Value.Resolve()
	if m.Sensitive(a.Key) {
		return slog.String(a.Key, scrub.Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if v := a.Value.String(); m.Value(v) != v {
			return slog.String(a.Key, m.Value(v))
		}
		return a
	case slog.KindGroup:
		g := append([]slog.Attr(nil), a.Value.Group()...)
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(redact(g, m)...)}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case nil:
			return a
		case error:
			return slog.Any(a.Key, &safeError{text: safefmt.Text(v, m)})
		case fmt.Stringer:
			return slog.String(a.Key, safefmt.Text(v, m))
		default:
			return slog.Any(a.Key, safeJSON{safefmt.AppendJSON(nil, v, m)})
		}
	}
	return a
}

// safeError stands for an error once redacted: its text through the safe formatter,
// nothing else of the original (fields, chain, stack) reachable.
type safeError struct{ text string }

func (e *safeError) Error() string { return e.text }

// safeJSON stands for a value once redacted: the safe formatter's JSON of it, which
// JSON handlers embed as is and text handlers print as text.
type safeJSON struct{ b []byte }

func (v safeJSON) MarshalJSON() ([]byte, error) { return v.b, nil }
func (v safeJSON) MarshalText() ([]byte, error) { return v.b, nil }
func (v safeJSON) String() string               { return string(v.b) }
