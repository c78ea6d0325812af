package logging

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// textHandler is the human-oriented format (VIGIL_LOG_FORMAT=text) over slog.TextHandler.
// It has the same fields, correlation and redaction as the JSON handler; speed matters
// less here, so it rewrites records rather than encoding them itself.
type textHandler struct {
	inner   slog.Handler
	matcher *scrub.Matcher
}

func newTextHandler(r resolved) *textHandler {
	inner := slog.Handler(slog.NewTextHandler(r.out, &slog.HandlerOptions{Level: r.level, AddSource: r.addSource}))
	var base []slog.Attr
	for _, kv := range [][2]string{{"service", r.service}, {"service_version", r.version}, {"environment", r.environment}} {
		if kv[1] != "" {
			base = append(base, slog.String(kv[0], kv[1]))
		}
	}
	if len(base) > 0 {
		inner = inner.WithAttrs(base)
	}
	return &textHandler{inner: inner, matcher: r.matcher}
}

func (h *textHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *textHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &textHandler{inner: h.inner.WithAttrs(h.clean(attrs)), matcher: h.matcher}
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	return &textHandler{inner: h.inner.WithGroup(name), matcher: h.matcher}
}

func (h *textHandler) Handle(ctx context.Context, r slog.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("logging: text handler: %s", safefmt.Text(p, h.matcher))
		}
	}()
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	// Context attributes go first; with WithGroup in use they land inside the group,
	// which the text format (meant for people, not parsers) accepts.
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		nr.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	nr.AddAttrs(h.clean(ctxattrs.From(ctx))...)
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	nr.AddAttrs(h.clean(attrs)...)
	return h.inner.Handle(ctx, nr)
}

// clean resolves values, redacts sensitive keys and renders arbitrary values safely.
func (h *textHandler) clean(attrs []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, h.cleanAttr(a))
	}
	return out
}

func (h *textHandler) cleanAttr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if h.matcher.Sensitive(a.Key) {
		return slog.String(a.Key, scrub.Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(h.clean(a.Value.Group())...)}
	case slog.KindAny:
		// slog.TextHandler would use fmt, which has no cycle detection and prints
		// secrets inside structs: render user values with the safe formatter instead.
		switch v := a.Value.Any().(type) {
		case nil:
			return a
		case error, fmt.Stringer:
			return slog.String(a.Key, safefmt.Text(v, h.matcher))
		default:
			return slog.String(a.Key, string(safefmt.AppendJSON(nil, v, h.matcher)))
		}
	}
	return a
}
