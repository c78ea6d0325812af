package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// CaptureFunc reports an error or a recovered panic value with the request scope in ctx
// and returns the event id ("" when nothing was sent). observe.Capture and
// (*errors.Reporter).Capture have this shape.
type CaptureFunc func(ctx context.Context, v any, attrs ...slog.Attr) string

// reportPanic hands a recovered panic value to capture, or logs it with its stack when no
// capture is configured. It runs inside the deferred recovery, so the panicking frames
// are still on the stack for capture to record. A panic in capture itself is logged,
// never propagated: the host's request must not die of its telemetry.
func reportPanic(ctx context.Context, capture CaptureFunc, logger *slog.Logger, v any, attrs ...slog.Attr) {
	if logger == nil {
		logger = slog.Default() // a recovered panic is never dropped silently
	}
	defer func() {
		if r := recover(); r != nil {
			logger.LogAttrs(ctx, slog.LevelError, "vigil: capture panicked",
				slog.String("panic", fmt.Sprint(r)), slog.String("captured", fmt.Sprint(v)))
		}
	}()
	if capture != nil {
		capture(ctx, v, attrs...)
		return
	}
	logger.LogAttrs(ctx, slog.LevelError, "panic recovered",
		append(attrs, slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))...)
}
