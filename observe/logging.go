package observe

import (
	"context"
	"log/slog"

	"github.com/vigil-go/vigil/logging"
)

// initLogging builds the parts' own logger; finishLogging builds the application's
// logger once the other parts have added their bridges.
func (o *Observer) initLogging(context.Context) error {
	l, err := logging.New(o.cfg.Logging)
	if err != nil {
		// Keep a working logger for the other parts' validation; New fails anyway.
		l, _ = logging.New(logging.Config{Level: slog.LevelInfo, Format: "json", Output: o.cfg.Logging.Output})
	}
	o.base = l
	return err
}

func (o *Observer) finishLogging() error {
	cfg := o.cfg.Logging
	// The bridges (Sentry) get records unredacted: they apply the secret policy
	// themselves and need the error values as logged. The application's own handlers in
	// cfg.Handlers get them redacted and correlated.
	cfg.Bridges = append(append([]slog.Handler{}, cfg.Bridges...), o.bridges...)
	l, err := logging.New(cfg)
	if err != nil {
		o.logger = o.base
		return nil // already reported by initLogging
	}
	o.logger = l
	return nil
}
