// Package observe is vigil's facade: one call in main gives a service structured logs,
// error reporting, metrics and traces, and one wrapper gives its HTTP handlers all of it
// per request.
//
//	o, err := observe.Init(ctx, observe.Config{Service: "checkout"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer func() {
//		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//		defer cancel()
//		if err := o.Shutdown(ctx); err != nil {
//			log.Print(err) // what was lost: events not sent, spans dropped, ...
//		}
//	}()
//	mux.Handle("GET /metrics", observe.MetricsHandler())
//	http.ListenAndServe(":8080", observe.Middleware(mux))
//
// # Observers and the default
//
// An Observer owns one configured set of parts: the logger (package logging), the Sentry
// reporter (errors), the tracer provider (tracing), the metrics registry (metrics) and the
// HTTP and gRPC instrumentation (middleware). Init builds one, makes it the package
// default used by the package-level functions (Logger, Capture, Start, Counter,
// Middleware, MetricsHandler, ...), and unless Config.NoGlobals is set installs it as
// slog's default logger and OpenTelemetry's global tracer, meter and logger providers and
// propagator. New
// builds one without touching any global, for tests and libraries.
//
// Before Init and after Shutdown every function is still safe: logs go to stdout as JSON,
// metrics to a private registry, spans get ids but are not exported, and Capture logs the
// error. Nothing here panics into the host program or blocks a request on a backend.
//
// What is made before Init keeps working after it: metric handles in package-level
// variables (the promauto idiom) record into the Init'd Observer's registry, with what
// they recorded so far, and are exported by its MetricsHandler and StatsD; a Middleware,
// Transport, MetricsHandler or gRPC option made by the package-level functions resolves
// the default at each request. Init twice, and the Observers form a stack: the default and
// the globals belong to the most recent one still live, whatever order they are shut down
// in, and once none is, everything is as before the first Init.
//
// # Other instrumentation
//
// Code written against the SDKs joins in without knowing vigil. One propagator, built
// from OTEL_PROPAGATORS (W3C tracecontext and baggage by default; b3, b3multi, jaeger,
// xray, ottrace), reads and writes trace context in the middleware, the client transport,
// gRPC and OpenTelemetry's global. MetricsHandler serves client_golang's default registry
// beside vigil's, each family once, so prometheus.MustRegister and promauto metrics show
// up; a program that serves promhttp.Handler already serves Gatherer instead. The OTLP
// exporters honour OTEL_EXPORTER_OTLP_CERTIFICATE and the client certificate variables.
//
// # Health checks
//
// AddCheck adds a readiness check (package health has one for a *sql.DB);
// ReadyzHandler answers 200 when every check passes and 503 when one fails, before Init
// completes and once Shutdown has begun, with a JSON report of each check; LivezHandler
// answers 200 and runs nothing. The checks run concurrently, within their timeouts, at
// most once per Config.Health.Interval however many probes arrive. With
// Config.Health.Enabled (VIGIL_HEALTH=true) the Middleware answers /livez and /readyz
// itself, ahead of the telemetry.
//
// # The dev console
//
// With Config.Console.Enabled (VIGIL_CONSOLE=true) the Middleware serves /debug/vigil/:
// a page, with nothing else to run, that shows the service's recent errors grouped as
// Sentry groups them (counting deduplicated captures), its traces as span trees, RED per
// route from the real duration histogram with exemplars, the log lines of any span, and
// vigil's own counters, exporters and effective configuration. It answers loopback
// clients only unless Config.Console.Token is set, shows only what the secret policy lets
// out, and keeps bounded rings; ConsoleHandler mounts it elsewhere. Off, it costs nothing.
//
// # Configuration
//
// Config fields win over environment variables, which win over defaults, and the zero
// Config works. This package is the only one that reads the environment, from one table
// of settings that the README's tables are checked against; the parts receive plain
// values. Init validates everything before it starts anything and returns a
// *ConfigError listing every bad field or variable with its value (secrets masked); when
// it fails nothing is left running. Before Init and after Shutdown the package functions
// use a fallback that reads no backend setting, starts nothing and cannot fail.
//
// # Shutdown
//
// Shutdown flushes and stops the parts in parallel under one deadline and returns by it
// even if a backend hangs: the context's deadline, or Config.ShutdownTimeout (10s) when
// the context has none. Its error names what each part lost (events not sent, spans
// dropped, a final push that failed) and any part still running at the deadline. It is
// idempotent.
package observe
