package errors

// SKELETON: the errors helper replaces this file. The exported API below is frozen
// (other packages compile against it); add to it, do not change it.

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/getsentry/sentry-go"
)

// Config configures the Reporter. Fields win over SENTRY_* variables.
type Config struct {
	DSN, Environment, Release string
	// Service names the program (a tag and the server name).
	Service            string
	SampleRate         float64 // 0 means 1 (send all)
	Debug              bool
	DedupWindow        time.Duration // identical errors inside it are sent once, with a count
	MaxEventsPerSecond float64       // global cap
	BeforeSend         func(*sentry.Event, *sentry.EventHint) *sentry.Event
	Transport          sentry.Transport // override for tests
	SendDefaultPII     bool
	RedactKeys         []string
	// Logger receives the error line every capture writes. Nil means slog.Default().
	Logger *slog.Logger
}

// Reporter sends errors to Sentry and always logs them.
type Reporter struct{ cfg Config }

// New validates cfg and returns a Reporter.
func New(cfg Config) (*Reporter, error) { return &Reporter{cfg: cfg}, nil }

// Capture reports v (an error, a recovered panic value, or a string) and returns the event id.
func (r *Reporter) Capture(ctx context.Context, v any, attrs ...slog.Attr) string {
	if v == nil {
		return ""
	}
	l := r.cfg.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(ctx, slog.LevelError, "captured", append(attrs, slog.Any("error", v))...)
	return ""
}

// Handler is the slog bridge for the logging fan-out.
func (r *Reporter) Handler() slog.Handler { return slog.DiscardHandler }

// Shutdown flushes within ctx's deadline.
func (r *Reporter) Shutdown(ctx context.Context) error { return nil }

// WithRequest returns a context in which captures carry req's data. The middleware calls it.
func WithRequest(ctx context.Context, req *http.Request) context.Context { return ctx }
