package errors

import (
	"context"
	"log/slog"

	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// bridge is the slog.Handler returned by Reporter.Handler. Its state is immutable, so
// breadcrumbs can point at it instead of copying attributes.
type bridge struct {
	r      *Reporter
	parent *bridge
	attrs  []slog.Attr // added by WithAttrs at this level, inside groups
	groups []string    // the open groups at this level (WithGroup)
}

func (b *bridge) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || scopeFrom(ctx) != nil && b.crumbLevel(l)
}

// crumbLevel reports whether a record at l may become a breadcrumb (Config.BreadcrumbLevel).
func (b *bridge) crumbLevel(l slog.Level) bool {
	min := b.r.cfg.BreadcrumbLevel
	return min == nil || l >= min.Level()
}

func (b *bridge) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level < slog.LevelError {
		if s := scopeFrom(ctx); s != nil && b.crumbLevel(rec.Level) {
			s.addCrumb(rec, b)
		}
		return nil
	}
	var v any
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" || a.Key == "err" {
			v = a.Value.Resolve().Any()
			if _, isErr := v.(error); !isErr {
				// Not Value.String: that is fmt, which a self-containing map overflows.
				v = safefmt.Text(v, b.r.matcher)
			}
			return false
		}
		return true
	})
	if v == nil {
		v = b.handlerError()
	}
	if v == nil || v == "" {
		v = rec.Message
	}
	c := rec.Clone()
	// The record was logged by the application logger already: no capture log line.
	b.r.capture(ctx, v, nil, captureOpts{message: safefmt.Text(rec.Message, b.r.matcher), rec: &c, h: b})
	return nil
}

// handlerError finds an error bound with logger.With("error", err).
func (b *bridge) handlerError() any {
	for h := b; h != nil; h = h.parent {
		for _, a := range h.attrs {
			if a.Key == "error" || a.Key == "err" {
				v := a.Value.Resolve().Any()
				if e, ok := v.(error); ok {
					return e
				}
				return safefmt.Text(v, b.r.matcher)
			}
		}
	}
	return nil
}

func (b *bridge) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return b
	}
	return &bridge{r: b.r, parent: b, attrs: append([]slog.Attr(nil), attrs...), groups: b.groups}
}

func (b *bridge) WithGroup(name string) slog.Handler {
	if name == "" {
		return b
	}
	g := append(append([]string(nil), b.groups...), name)
	return &bridge{r: b.r, parent: b, groups: g}
}

// collect adds the handler's and the record's attributes to dst as plain data, nested by
// group, with sensitive keys redacted. The error attribute is the exception, not context.
func (b *bridge) collect(rec slog.Record, m *scrub.Matcher, dst map[string]any) {
	var chain []*bridge
	for h := b; h != nil; h = h.parent {
		chain = append(chain, h)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		h := chain[i]
		target := groupMap(dst, h.groups)
		for _, a := range h.attrs {
			if a.Key != "error" && a.Key != "err" {
				addAttr(target, a, m)
			}
		}
	}
	target := groupMap(dst, b.groups)
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key != "error" && a.Key != "err" {
			addAttr(target, a, m)
		}
		return true
	})
}

func groupMap(m map[string]any, groups []string) map[string]any {
	for _, g := range groups {
		sub, ok := m[g].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[g] = sub
		}
		m = sub
	}
	return m
}
