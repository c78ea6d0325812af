// Package tracing sets up OpenTelemetry tracing from the standard OTEL_* variables.
package tracing
