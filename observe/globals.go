package observe

import (
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// setGlobals installs o as slog's default and OpenTelemetry's global tracer provider and
// W3C propagator, and returns a func that puts back what was there before.
func (o *Observer) setGlobals() (restore func()) {
	prevLogger := slog.Default()
	prevTP := otel.GetTracerProvider()
	prevProp := otel.GetTextMapPropagator()

	slog.SetDefault(o.logger)
	otel.SetTracerProvider(o.tracer.TracerProvider())
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	return func() {
		// Only undo what is still ours: another Init may have replaced it since.
		if slog.Default() == o.logger {
			slog.SetDefault(prevLogger)
		}
		if otel.GetTracerProvider() == o.tracer.TracerProvider() {
			otel.SetTracerProvider(prevTP)
		}
		otel.SetTextMapPropagator(prevProp)
	}
}
