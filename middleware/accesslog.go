package middleware

import (
	"context"
	"log/slog"
	"time"
)

// maxLineAttrs is the most attributes an access-log line carries; they live in an array
// on the stack, so building a line allocates nothing beyond what slog.Record needs.
const maxLineAttrs = 12

// accessLine builds one access-log record. Transports share it: the HTTP middleware and
// the gRPC interceptors add their own fields.
type accessLine struct {
	attrs [maxLineAttrs]slog.Attr
	n     int
}

func (l *accessLine) add(a slog.Attr) {
	if l.n < len(l.attrs) {
		l.attrs[l.n] = a
		l.n++
	}
}

// emit writes the line. request_id, route, trace_id and span_id are not added here: the
// vigil log handler takes them from ctx. It hands the record to the handler directly:
// slog.Logger would walk the stack for a source position that, for an access line,
// names this package rather than anything of the user's.
func (l *accessLine) emit(ctx context.Context, logger *slog.Logger, level slog.Level, msg string) {
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(l.attrs[:l.n]...)
	_ = logger.Handler().Handle(ctx, r)
}

// httpLevel is the access-log level of a status: Info for 1xx-3xx, Warn for 4xx, Error
// for 5xx.
func httpLevel(code int) slog.Level {
	switch {
	case code >= 500:
		return slog.LevelError
	case code >= 400:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
