package observe

import (
	"io"
	"log"
	"log/slog"

	"go.opentelemetry.io/otel"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// globals is the process-wide state Init takes over unless Config.NoGlobals: slog's
// default logger (and with it the log package's output, which slog.SetDefault
// redirects) and OpenTelemetry's tracer provider and propagator.
type globals struct {
	logger   *slog.Logger
	logOut   io.Writer
	logFlags int
	tp       trace.TracerProvider
	prop     propagation.TextMapPropagator
	mp       metric.MeterProvider   // otel_signals.go
	lp       otellog.LoggerProvider // otel_signals.go
}

func currentGlobals() globals {
	return globals{
		logger: slog.Default(), logOut: log.Writer(), logFlags: log.Flags(),
		tp: otel.GetTracerProvider(), prop: otel.GetTextMapPropagator(),
		mp: otel.GetMeterProvider(), lp: otel.GetLoggerProvider(),
	}
}

// ownPropagator is an Observer's propagator as installed globally. A pointer, so that
// "is the global still ours" is a comparison that cannot panic whatever the program
// installed (a composite propagator is a slice).
type ownPropagator struct{ propagation.TextMapPropagator }

// switchGlobals hands the globals from one Observer to another, either nil for the
// state before the first Init. A global the program replaced after vigil set it is the
// program's: it is left alone, now and later.
func switchGlobals(from, to *Observer) {
	fresh := from == nil
	if fresh {
		live.prev = currentGlobals()
		live.installed = live.prev
	}
	want := live.prev
	if to != nil {
		want = globals{logger: to.logger, tp: to.tracer.TracerProvider(), prop: to.propagator}
		want.mp, want.lp = to.meter.MeterProvider(), to.logs.LoggerProvider()
	}
	// When fresh, nothing is compared: the program's own values may not be comparable.
	in := &live.installed
	if fresh || slog.Default() == in.logger {
		ours := log.Writer() == in.logOut
		slog.SetDefault(want.logger)
		in.logger = want.logger
		if to == nil && ours && log.Writer() == in.logOut {
			// slog.SetDefault of the original logger leaves the log package writing to
			// the handler vigil installed.
			log.SetOutput(want.logOut)
			log.SetFlags(want.logFlags)
		}
		in.logOut, in.logFlags = log.Writer(), log.Flags()
	}
	if fresh || otel.GetTracerProvider() == in.tp {
		otel.SetTracerProvider(want.tp)
		in.tp = want.tp
	}
	if fresh || otel.GetTextMapPropagator() == in.prop {
		otel.SetTextMapPropagator(want.prop)
		in.prop = want.prop
	}
	switchSignals(fresh, want, in) // otel_signals.go
	switchSentry(fresh, to)        // errors.go
}
