package middleware

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigil-go/vigil/logging"
)

// maxLineAttrs is the most attributes an access-log line carries; they live in an array
// on the stack, so building a line allocates nothing beyond what slog.Record needs.
const maxLineAttrs = 16

// Access-line fields of vigil's own, for facts no span attribute records. Every other
// field of an access line is named after the span attribute that records the same fact
// (http_attrs.go, grpc_attrs.go).
const (
	// nameDuration is the time the request or call took, in milliseconds with
	// fractions (a float): the unit is in the name, and one name serves HTTP and gRPC,
	// servers and clients.
	nameDuration = "duration_ms"
	// nameErrorMessage is the error's text: a client's transport error, a gRPC status
	// message.
	nameErrorMessage = "error.message"
	namePanic        = "panic"   // true after a recovered panic
	nameAborted      = "aborted" // true when the connection was aborted
)

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

// lineWriter writes one access line in one pass over its fields. With vigil's JSON
// handler (lines is set) the fields go straight into the line's encoding, their keys
// rendered and checked against the secret policy once, in NewHTTP; with any other
// handler, or when the context's attributes need the key rule applied, they become a
// slog.Record for it. One list of fields (the caller's) serves both, so they cannot drift.
type lineWriter struct {
	keys []string // the field names, by field index
	fast bool
	enc  logging.Line
	slow *accessLine // the fallback's attributes (768 bytes: not zeroed on the fast path)
}

// begin starts the line; it reports false when level is not logged.
func (w *lineWriter) begin(ctx context.Context, lines *logging.Lines, logger *slog.Logger, level slog.Level, msg string) bool {
	if lines != nil {
		if !lines.Enabled(level) {
			return false
		}
		if w.enc, w.fast = lines.Begin(ctx, level, msg); w.fast {
			return true
		}
	}
	if !logger.Enabled(ctx, level) {
		return false
	}
	w.slow = new(accessLine)
	return true
}

// str adds text a client or user chose: scrubbed by the secret policy's value rule.
func (w *lineWriter) str(k int, v string) {
	if w.fast {
		w.enc.String(k, v)
	} else {
		w.slow.add(slog.String(w.keys[k], v))
	}
}

// known adds a value from a fixed set, which needs no scrubbing.
func (w *lineWriter) known(k int, v string) {
	if w.fast {
		w.enc.Known(k, v)
	} else {
		w.slow.add(slog.String(w.keys[k], v))
	}
}

func (w *lineWriter) int(k int, v int64) {
	if w.fast {
		w.enc.Int(k, v)
	} else {
		w.slow.add(slog.Int64(w.keys[k], v))
	}
}

func (w *lineWriter) bool(k int, v bool) {
	if w.fast {
		w.enc.Bool(k, v)
	} else {
		w.slow.add(slog.Bool(w.keys[k], v))
	}
}

// duration adds d in milliseconds with fractions (see nameDuration).
func (w *lineWriter) duration(k int, d time.Duration) {
	ms := float64(d) / float64(time.Millisecond)
	if w.fast {
		w.enc.Float(k, ms)
	} else {
		w.slow.add(slog.Float64(w.keys[k], ms))
	}
}

// end writes the line.
func (w *lineWriter) end(ctx context.Context, logger *slog.Logger, level slog.Level, msg string) {
	if w.fast {
		_ = w.enc.End()
		return
	}
	w.slow.emit(ctx, logger, level, msg)
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
