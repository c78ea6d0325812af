// Package ctxattrs carries request-scoped log attributes in a context.Context.
// logging.WithAttrs is the public door; the errors and middleware packages read
// and write the same list here without importing logging.
package ctxattrs

import (
	"context"
	"log/slog"
)

type key struct{}

// IsKey reports whether k is the key attribute lists are stored under. A context type
// of its own (the middleware's per-request state, which is the request's one context
// value) answers Value(k) with its *List for such a k, instead of costing a
// context.WithValue and a list of its own.
func IsKey(k any) bool {
	_, ok := k.(key)
	return ok
}

// List is the attribute list of a context. It is immutable once stored, so contexts
// derived on other goroutines never race. Short lists (a request's id and route) live in
// inline, so building one allocates nothing beyond the List.
type List struct {
	attrs  []slog.Attr
	inline [4]slog.Attr
}

// Init sets l to prev followed by attrs; l must not be stored yet.
func (l *List) Init(prev []slog.Attr, attrs ...slog.Attr) {
	if n := len(prev) + len(attrs); n <= len(l.inline) {
		l.attrs = l.inline[:0:n]
	} else {
		l.attrs = make([]slog.Attr, 0, n)
	}
	l.attrs = append(l.attrs, prev...)
	l.attrs = append(l.attrs, attrs...)
}

// With returns a context whose attribute list is the parent's followed by attrs.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	if len(attrs) == 0 {
		return ctx
	}
	l := &List{}
	l.Init(From(ctx), attrs...)
	return context.WithValue(ctx, key{}, l)
}

// From returns the attributes stored in ctx. The caller must not modify the slice.
func From(ctx context.Context) []slog.Attr {
	if ctx == nil {
		return nil
	}
	if l, ok := ctx.Value(key{}).(*List); ok {
		return l.attrs
	}
	return nil
}

// Lookup returns the string value of the last attribute named key, if any.
func Lookup(ctx context.Context, key string) (string, bool) {
	attrs := From(ctx)
	for i := len(attrs) - 1; i >= 0; i-- {
		if attrs[i].Key == key {
			return attrs[i].Value.String(), true
		}
	}
	return "", false
}
