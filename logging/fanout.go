package logging

import (
	"context"
	"errors"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/scrub"
)

// fanout hands records to the application's handlers (Config.Handlers) the way the JSON
// handler writes them: redacted, with the trace ids under the preset's names and the
// context's attributes, under the key rule. It does that once per record for all of
// them. The handlers get flat records (WithAttrs and WithGroup are applied here, the
// groups becoming group attributes), so the key rule holds across both.
type fanout struct {
	handlers []slog.Handler
	names    *naming
	matcher  *scrub.Matcher
	frames   []frame
}

func newFanout(r resolved, handlers []slog.Handler) *fanout {
	n := newNaming(r.fields, false)
	// The handlers write time, level, msg and source themselves, under slog's keys.
	n.reserved, n.resBloom = nil, 0
	n.reserve(slog.TimeKey, slog.LevelKey, slog.MessageKey, slog.SourceKey, n.traceKey, n.spanKey, n.flagsKey)
	return &fanout{handlers: append([]slog.Handler(nil), handlers...), names: n, matcher: r.matcher}
}

func (f *fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f.handlers {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f *fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return f
	}
	f2 := *f
	f2.frames = withAttrs(f.frames, resolveAll(attrs))
	return &f2
}

func (f *fanout) WithGroup(name string) slog.Handler {
	if name == "" {
		return f
	}
	f2 := *f
	f2.frames = withGroup(f.frames, name)
	return &f2
}

func (f *fanout) Handle(ctx context.Context, r slog.Record) error {
	var attrs []slog.Attr
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			attrs = f.names.traceAttrs(sc)
		}
	}
	attrs = append(attrs, redact(lineAttrs(f.names, ctx, f.frames, r), f.matcher)...)
	nr := slog.NewRecord(r.Time, r.Level, f.matcher.Value(r.Message), r.PC)
	nr.AddAttrs(attrs...)
	var errs []error
	for _, h := range f.handlers {
		if !h.Enabled(ctx, r.Level) {
			continue
		}
		// Each handler its own copy: one may keep or extend it.
		if err := h.Handle(ctx, nr.Clone()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
