// Package errors reports errors and panics to Sentry with the request that caused them,
// and always logs them.
//
// A Reporter is built from a Config of plain values; package observe fills it from
// SENTRY_DSN, SENTRY_ENVIRONMENT, SENTRY_RELEASE and the VIGIL_SENTRY_* variables.
// Applications normally get one from observe.Init and call observe.Capture in their
// recover blocks:
//
//	defer func() {
//		if r := recover(); r != nil {
//			observe.Capture(ctx, r)
//		}
//	}()
//
// # What a capture does
//
// Capture(ctx, v, attrs...) takes an error, a recovered panic value or a string. On the
// calling goroutine it only does what cannot wait: it takes the program counters of the
// stack, decides whether to send (dedup, sampling, rate cap), copies what the context
// holds (request_id and route attributes, the OpenTelemetry span context, the request
// scope), writes the log line and enqueues. Symbolizing the stack happens once per
// distinct stack and is cached; building the Sentry event, walking the error chain and
// scrubbing happen on the Reporter's sending goroutine.
//
// The log line is written for every capture, with or without a DSN: error, error_type,
// stack, event_id (when sent), panic, and "sentry" saying what happened to the event
// (queued, duplicate, rate_capped, ...). Logged through vigil's logging handler, it also
// carries trace_id, span_id and request_id from the context.
//
// # Stack traces
//
// An error that recorded its own stack (pkg/errors' StackTrace(), or Callers() []uintptr)
// keeps it, on its own exception in the chain. Otherwise the main exception gets the
// capture site's stack; and when Capture runs in a deferred function during a panic, the
// stack runs through runtime.gopanic and only the frames that panicked are kept. A frame
// is in-app when its package belongs to the main module named in the binary's build info
// ("orderservice" as well as "github.com/acme/shop"); the standard library, vigil and
// every dependency are not. Package paths do not change with -trimpath, so neither do the
// flags; events sentry-go builds (see below) get the same rule.
//
// # sentry-go's client and hub
//
// Every event goes through a real sentry.Client (Client): its integrations (modules,
// IgnoreErrors, global tags), event processors, the hub's scope and BeforeSend run as a
// Sentry user expects. Integrations with nothing to do are left out (IgnoreErrors and
// IgnoreTransactions without patterns), and the environment integration's device, os
// and runtime contexts are written by vigil, for the hub's events too. observe.Init binds it to sentry.CurrentHub() (not with NoGlobals)
// and Shutdown restores the previous client, so a program's sentry.CaptureException,
// sentryhttp and libraries reporting through the hub reach the same project through the
// same pipeline: the client's Transport is the Reporter's dedup, sampling, rate cap and
// bounded queue, and its BeforeSend ends with vigil's scrubbing. A panic recovered by
// both sentry-go's middleware and vigil's in one request is sent once.
//
// Config.ClientOptions reaches every other sentry-go option; it runs last, and vigil
// still wraps the BeforeSend and Transport it sets. This package reads no environment:
// sentry-go's own fallbacks (SENTRY_DSN and SENTRY_ENVIRONMENT when empty, running git
// for a release) are kept out, observe maps the SENTRY_* variables, and an unset
// release is the build's VCS revision.
//
// # The trace link
//
// contexts.trace carries the OpenTelemetry trace_id, span_id, parent_span_id and op
// (http.server, grpc.server); the transaction is "METHOD route" ("GET /orders/{id}");
// server_name is the host. Tags stay low-cardinality (service, route, panic): request_id
// is in the "attributes" context with the context's other attributes. A capture in a
// recording span adds an "exception" event to it and sets its status to Error (panics
// are left to the middleware, which records them on its span). Exceptions are sent in
// the protocol's {"values": [...]} form.
//
// # Spotlight
//
// With Config.Spotlight (SENTRY_SPOTLIGHT: true for http://localhost:8969/stream, or a
// URL) every envelope is also posted to a Spotlight sidecar, with or without a DSN, from
// its own goroutine and small queue: a slow or absent sidecar never delays Sentry, and
// the copies it misses are counted (Stats.SpotlightDropped).
//
// # Requests
//
// WithRequest(ctx, r) gives ctx a request scope for one small allocation; the HTTP
// middleware embeds a RequestScope in its per-request state instead, for none. Neither
// reads anything: headers, URL and breadcrumbs are turned into event data only when
// something is captured. Headers, query values, URL userinfo and attributes
// whose names look like secrets (the rules of internal/scrub, shared with logging) are
// redacted; cookies and client IP headers are never sent unless SendDefaultPII is set
// (and even then, names like Cookie stay redacted). SetUser attaches the affected user.
//
// # The slog bridge
//
// Handler returns a slog.Handler that observe fans out in the application's logger.
// Records at Error and above become events (the "error" or "err" attribute is the
// exception, the message the event message, the other attributes its context); lower
// records inside a request become breadcrumbs of that request's next event. The
// Reporter's own log line goes to Config.Logger, which must not contain the bridge.
//
// # Storms and a dead Sentry
//
// Identical errors (same type, message and stack) inside DedupWindow are sent once, and
// Capture returns that event's id for each copy; the next event after the window reports
// how many copies were suppressed. MaxEventsPerSecond caps everything else. Events wait
// in a bounded queue for a single sending goroutine, which uses sentry-go's synchronous
// HTTP transport, so Sentry's 429 Retry-After and X-Sentry-Rate-Limits answers are
// honoured, over an HTTP client with a timeout. A full queue drops the new event; no
// caller ever waits on the network. Shutdown(ctx) sends what is queued and returns by
// ctx's deadline, aborting the request in flight. Every drop is counted in Stats, which
// observe exports as vigil_errors_events_total{outcome=...}.
package errors
