package logging

import (
	"context"
	"log/slog"

	"github.com/vigil-go/vigil/internal/ctxattrs"
)

// WithAttrs returns a context whose attributes every record logged with it carries, at
// the top level of the record. The middleware puts request_id and route there; an
// application can add its own (the user, a tenant).
func WithAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	return ctxattrs.With(ctx, attrs...)
}

// Attrs returns the attributes WithAttrs stored in ctx.
func Attrs(ctx context.Context) []slog.Attr {
	return append([]slog.Attr(nil), ctxattrs.From(ctx)...)
}
