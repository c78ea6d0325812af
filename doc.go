// Package vigil gives a Go service its whole observability story in one call: structured
// JSON logs on stdout carrying trace and request ids, errors and panics sent to Sentry with
// the request that caused them, Prometheus metrics (and StatsD where that is the house
// standard), and OpenTelemetry spans, with HTTP and gRPC traffic measured per route.
//
// Everything a service needs is in package observe; the other packages are the parts it
// assembles, usable on their own:
//
//   - observe: Config, Init, Shutdown, Capture, Middleware, MetricsHandler, Logger, Start
//     and metric shortcuts. The only package most programs import.
//   - logging: slog handlers: one JSON object per line, trace correlation, context
//     attributes (logging.WithAttrs), redaction of secrets, fan-out.
//   - errors: a Sentry Reporter with request scopes, scrubbing, deduplication and a slog
//     bridge; every capture is also logged, so nothing is lost when Sentry is down.
//   - metrics: a Registry of counters, gauges, histograms and timers exposed to
//     Prometheus and pushed to StatsD or a Pushgateway, with series caps.
//   - tracing: OpenTelemetry provider setup from the standard OTEL_* variables, exporters,
//     sampling, propagation and span helpers.
//   - middleware: net/http server middleware, an http.RoundTripper, and gRPC stats handlers
//     and interceptors that record all of the above per request or call.
//
// logging, errors, metrics and tracing do not import each other; what one needs from
// another is passed in. Request-scoped data travels in the context.Context.
//
// # Quick start
//
//	func main() {
//		ctx := context.Background()
//		o, err := observe.Init(ctx, observe.Config{Service: "checkout"})
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer func() {
//			// Shutdown returns by the deadline and says what it could not deliver.
//			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//			defer cancel()
//			if err := o.Shutdown(ctx); err != nil {
//				log.Print(err)
//			}
//		}()
//
//		mux := http.NewServeMux()
//		mux.HandleFunc("GET /orders/{id}", getOrder)
//		mux.Handle("GET /metrics", observe.MetricsHandler())
//		log.Fatal(http.ListenAndServe(":8080", observe.Middleware(mux)))
//	}
//
//	func work(ctx context.Context) {
//		defer func() {
//			if r := recover(); r != nil {
//				observe.Capture(ctx, r) // to Sentry with the stack, and logged
//			}
//		}()
//		// ...
//	}
//
// Configuration comes from observe.Config fields, then environment variables (the
// standard OTEL_* and SENTRY_* ones, and VIGIL_* for vigil's own), then defaults; the
// zero Config works. The README lists every variable.
package vigil
