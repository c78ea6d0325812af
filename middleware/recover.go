package middleware

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// CaptureFunc reports an error or a recovered panic value with the request scope in ctx
// and returns the event id ("" when nothing was sent). observe.Capture and
// (*errors.Reporter).Capture have this shape.
type CaptureFunc func(ctx context.Context, v any, attrs ...slog.Attr) string

// reportPanic hands a recovered panic value to capture, or logs it with its stack when no
// capture is configured. It runs inside the deferred recovery, so the panicking frames
// are still on the stack for capture to record. A panic in capture itself is logged,
// never propagated: the host's request must not die of its telemetry. Values are
// written with safefmt under m, never fmt: a panic value that contains itself would
// overflow fmt's stack, a fatal error no recover stops.
func reportPanic(ctx context.Context, capture CaptureFunc, logger *slog.Logger, m *scrub.Matcher, v any, attrs ...slog.Attr) {
	if logger == nil {
		logger = slog.Default() // a recovered panic is never dropped silently
	}
	defer func() {
		if r := recover(); r != nil {
			logger.LogAttrs(ctx, slog.LevelError, "vigil: capture panicked",
				slog.String("panic", safefmt.Text(r, m)), slog.String("captured", safefmt.Text(v, m)))
		}
	}()
	if capture != nil {
		capture(ctx, v, attrs...)
		return
	}
	logger.LogAttrs(ctx, slog.LevelError, "panic recovered",
		append(attrs, slog.String("panic", safefmt.Text(v, m)), slog.String("stack", string(debug.Stack())))...)
}

// panicText is a recovered panic value as span text (exception.message): bounded, cycle
// safe, secrets redacted.
func panicText(v any, m *scrub.Matcher) string { return safefmt.Text(v, m) }
