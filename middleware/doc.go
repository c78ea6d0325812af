// Package middleware records HTTP and gRPC traffic: spans, metrics, access logs and
// error scopes, in one pass per request.
//
// # HTTP servers
//
// NewHTTP takes the backends (a metrics Registry, a TracerProvider, a Logger, a Capture
// func: each optional) and Handler wraps a handler once:
//
//	h, err := middleware.NewHTTP(middleware.HTTPConfig{
//		Registry: reg, TracerProvider: tp, Logger: logger, Capture: reporter.Capture,
//	})
//	http.ListenAndServe(":8080", h.Handler(mux))
//
// For every request, with one allocation of its own (the request's state, which is also
// the request's one context value: it carries the log attributes and the error scope) plus
// the span's context, the handler:
//
//   - gives the request an id: an inbound X-Request-ID is kept when it is at most 64
//     characters of [A-Za-z0-9._:-], else 128 random bits in hex are generated (from the
//     runtime's per-thread generator: no syscall, no lock). The id is echoed in the
//     response, stored in the logging context (request_id), and set on the span;
//   - starts a server span continuing the caller's W3C trace context, named
//     "METHOD route" once routing is done, with the OpenTelemetry HTTP attributes
//     (http.request.method, http.route, http.response.status_code, url.path, url.query
//     with secrets redacted, url.scheme, server.address, server.port, client.address,
//     user_agent.original, network.protocol.version) and status Error for 5xx;
//   - records http_server_request_duration_seconds (with the span's trace id as
//     exemplar), http_server_request_body_size_bytes and
//     http_server_response_body_size_bytes, labelled http_request_method, http_route,
//     http_response_status_code and http_response_status_class ("2xx" ... "5xx"; it adds
//     no series, since the class follows from the code, and lets StatsD dashboards chart
//     4xx and 5xx without enumerating codes), and the http_server_active_requests gauge
//     by method;
//   - writes one access-log line, "http request", at Info for 1xx-3xx, Warn for 4xx and
//     Error for 5xx, with the fields named as in "Access-line fields" below;
//     request_id, route, trace_id and span_id come from the context, which vigil's log
//     handler renders. With vigil's JSON handler the line is encoded in one pass
//     (logging.Lines): the field keys are rendered, and checked against the secret
//     policy, once in NewHTTP; only the values a client chose (path, query, user agent,
//     an unknown method) go through the value rule. Any other handler receives the line
//     as a slog.Record with the same fields;
//   - puts the request in the error scope (an errors.RequestScope inside the request's
//     state), so a Capture in the handler carries the request's method, URL, headers, id
//     and route;
//   - recovers panics: the value is reported through Capture with the request; if
//     nothing was written the client gets a 500, and if the response had started the
//     connection is aborted (panic(http.ErrAbortHandler)) so a truncated body never
//     looks complete; http.ErrAbortHandler itself is re-raised without a report. The
//     span, the metrics and the log line record the failure as a 500.
//
// Paths on HTTPConfig.Skip (default /healthz, /readyz, /livez, /metrics) get no span and
// no log line, but are counted.
//
// # Access-line fields
//
// An access line names each fact as the span that records it does: the OpenTelemetry
// semantic-convention attribute name, dots included, so one query serves traces and logs.
// The names are defined once per protocol (http_attrs.go, grpc_attrs.go), for the span
// and the line, the server and the client. The fields no span attribute records are
// vigil's own: duration_ms (the time taken, in milliseconds, a float with fractions),
// error.message (a transport error's text, a gRPC status message), panic and aborted.
//
//	"http request" (server)      http.request.method, http.request.method_original (for
//	                             _OTHER), url.path, url.query (secrets redacted),
//	                             http.response.status_code, duration_ms,
//	                             http.request.body.size, http.response.body.size (bytes),
//	                             client.address, user_agent.original,
//	                             network.protocol.version, error.type (5xx), panic, aborted
//	"http client request"        http.request.method, http.request.method_original,
//	                             server.address, server.port, url.full (secrets redacted),
//	                             http.response.status_code, duration_ms, error.type (4xx,
//	                             5xx, or the transport error's kind), error.message
//	"grpc server call",          rpc.system.name, rpc.method, rpc.method_original (for
//	"grpc client call"           _OTHER), rpc.response.status_code, duration_ms,
//	                             error.type (when the call failed for its side),
//	                             server.address and server.port (client), network.peer.address,
//	                             network.peer.port, rpc.grpc.messages_sent and
//	                             rpc.grpc.messages_received (streams), error.message, panic
//
// http.route and request_id are on the span and, from the request's context, on every
// line of the request (as route and request_id, under the log handler's naming); the
// body sizes, opt-in span attributes in the conventions, are on the line only.
//
// # Size bounds
//
// Everything a client controls is bounded before it is recorded (vigil's internal/limits
// documents each bound): the user agent, path, query (after redaction), method, host and
// remote address on the span and the access line are cut to 1 KiB, at a UTF-8 boundary,
// ending in "…"; the route (label, span name, http.route, the route log attribute) to 256
// bytes, like every metric label value; the inbound request id to 64 characters (else a
// new id). On the client side url.full, server.address and error texts are cut to 1 KiB.
// On gRPC, the client's method name is cut to 256 bytes wherever it appears, and peer,
// authority and status messages to 1 KiB; a panic report lists at most 64 metadata keys,
// each value cut to 1 KiB. So one request with a 100 KiB User-Agent adds about 1 KiB to
// its span, and the tracing package's size-bounded export batches keep it from sinking
// anyone else's spans.
//
// # User callbacks
//
// A panic in a callback the middleware calls for the user (HTTPConfig.Route, the
// configured Propagator's Extract and Inject, the Logger's handler writing the access
// line) never escapes: the request is still answered by the handler and recorded, as if
// the callback had returned nothing (the route becomes "unmatched", no trace context is
// read or written, the access line is lost); http_server_active_requests goes back down;
// the panic is counted in vigil_hook_panics_total{hook="route"|"propagator"|"logger"} and
// the first one of each hook is logged. The gRPC side contains its propagator and logger
// the same way (a panic in a stats handler would otherwise kill the process).
//
// # Bounded labels
//
// Label values come from bounded sets only. The route is the pattern http.ServeMux
// matched (r.Pattern, read after routing, without its method and host), never the path;
// requests no pattern matched share the route "unmatched". Methods outside the standard
// nine become "_OTHER" (the span keeps the original in http.request.method_original).
// Status codes are those net/http accepts. The bound series are cached per (method,
// route, status), so the request path hashes no labels.
//
// Other routers, and muxes mounted in muxes, hand their match to the middleware as
// "Routers" below shows. When a handler between the middleware and an http.ServeMux
// passes on a copy of the request (r.WithContext: http.TimeoutHandler, most auth
// middlewares), the mux's pattern lands on the copy and every request would read
// "unmatched": use Route: MuxRoute(mux) there.
//
// Log lines the handler writes with the request's context carry the route too: the
// context's route attribute resolves when a line is written, so the context built
// before routing needs no second value after it.
//
// # Routers
//
// Wrapped around a router from outside, as the quick start does, the middleware sees
// every request, the router's 404s and 405s included, but most routers keep their match
// out of its sight: on a copy of the request (gorilla/mux, http.StripPrefix) or in a
// context only the handlers below them see (chi, gin, echo). So the router hands its
// match over from inside, one line per router; what it turns away is recorded under
// Unmatched with its status (404, 405):
//
//	// chi
//	r.Use(middleware.RouteFrom(func(r *http.Request) string {
//		return chi.RouteContext(r.Context()).RoutePattern()
//	}))
//	// gorilla/mux
//	r.Use(middleware.RouteFrom(func(r *http.Request) string {
//		t, _ := mux.CurrentRoute(r).GetPathTemplate()
//		return t
//	}))
//	// gin
//	engine.Use(func(c *gin.Context) { middleware.SetRoute(c.Request.Context(), c.FullPath()) })
//	// echo: a 405 keeps the path echo found; the Allow value it sets tells it apart
//	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
//		return func(c echo.Context) error {
//			route := c.Path()
//			if c.Get(echo.ContextKeyHeaderAllow) != nil {
//				route = ""
//			}
//			middleware.SetRoute(c.Request().Context(), route)
//			return next(c)
//		}
//	})
//	// then, for each: http.ListenAndServe(addr, h.Handler(router))
//
// RouteFrom publishes the route of the request the router passes its middlewares and
// reads it when needed (log lines, the end of the request), so chi's match, which chi
// completes below its middlewares, is read complete. SetRoute names the route outright
// and wins over what is published.
//
// The middleware itself may be mounted inside as well: a vigil middleware that runs in a
// request another one already records publishes its route (its HTTPConfig.Route, or the
// ServeMux pattern) to the outer one and records nothing, so a request is counted,
// traced and logged once (another request made with its context, as a batch handler
// dispatches them, is recorded on its own). Wired this way, with HTTPConfig.Route
// reading the router's match, r.Use(h.Handler) serves chi and gorilla/mux like
// RouteFrom. Mounted inside only, it sees what the router passes it: chi runs r.Use
// for its 404s and 405s, gorilla/mux does not, so set its NotFoundHandler and
// MethodNotAllowedHandler to h.Handler(...) too. A not-found handler reached through a
// catch-all route ("/" in a ServeMux) goes in NoRoute, which records what it answers as
// Unmatched. gin and echo answer past a net/http middleware in their chains (their own
// writer, errors written after the chain returns): wrap them from outside.
//
// An http.ServeMux needs nothing: from outside the middleware reads the pattern it
// matched, and a mux mounted in another without http.StripPrefix matches full patterns
// on the same request. Under http.StripPrefix the inner mux matches a copy: wrap it too,
//
//	outer.Handle("/api/", http.StripPrefix("/api", h.Handler(api)))
//	http.ListenAndServe(addr, h.Handler(outer))
//
// and its routes get the outer pattern back in front ("/api/" + "/v1/orders/{id}" is
// "/api/v1/orders/{id}"); alone, the outside reads "/api/" for all of them. The prefix
// comes from the outer pattern, never from the stripped text, which a path-rewriting
// handler could fill with client input. MetricsOnly mode gives the request no context to
// publish into: mount it once, where its Route can read the match.
//
// The module middleware/routers tests each recipe, from outside, inside and both.
//
// # The response writer
//
// The wrapper keeps http.Flusher, http.Hijacker and io.ReaderFrom (sendfile), and
// Unwrap gives http.ResponseController the underlying writer (deadlines, full duplex).
// The status defaults to 200 on the first Write or Flush; informational 1xx headers
// other than 101 are not final; a hijacked connection that set no status is recorded as
// 101 Switching Protocols, which is what WebSocket upgrades send.
//
// # Metrics only
//
// HTTPConfig.MetricsOnly keeps the metrics and drops everything else: no request id,
// context, span, log or recovery (a panic is counted as a 500 and propagates). It does
// promhttp.InstrumentHandlerDuration's job at well under its cost: one allocation per
// request (see BenchmarkServer).
//
// # HTTP clients
//
// Transport wraps an http.RoundTripper: a client span named after the method, the trace
// context injected into a copy of the request's headers,
// http_client_request_duration_seconds by http_request_method, server_address,
// http_response_status_code and http_response_status_class ("error" when no response
// came back), and an "http client request" line at Debug for a success (the server
// logs the request), Warn for a 4xx and Error for a 5xx or no response. Client spans
// fail on 4xx and 5xx and on transport errors, whose kind (timeout, canceled, dns,
// connection) is the error.type attribute.
//
// # gRPC
//
// NewGRPC takes the same backends; ServerOptions go to grpc.NewServer and DialOptions to
// grpc.NewClient:
//
//	g, err := middleware.NewGRPC(middleware.GRPCConfig{
//		Registry: reg, TracerProvider: tp, Logger: logger, Capture: reporter.Capture,
//	})
//	srv := grpc.NewServer(g.ServerOptions()...)
//	conn, err := grpc.NewClient(target, append(g.DialOptions(), creds)...)
//
// The telemetry comes from a stats.Handler on each side, the hook grpc-go recommends
// for observability and the one OpenTelemetry's otelgrpc moved to when it deprecated
// its interceptors. grpc-go calls a stats handler for every RPC, unary or streaming,
// before the request headers are read or written (so the span is in the handler's
// context and its context goes into the outgoing metadata) and always ends the call,
// including calls that fail before any interceptor runs, streams the caller abandons,
// and statuses set by other interceptors. Interceptors cannot see all of that: a client
// stream interceptor never learns when a stream the caller stopped reading ends. A stats
// handler, though, does not run on the handler's stack, so panic recovery needs server
// interceptors; ServerOptions installs both, and the interceptors also echo the request
// id and spot calls routed to a grpc.UnknownServiceHandler.
//
// GRPCConfig.InterceptorsOnly (observe: VIGIL_GRPC_INTERCEPTORS_ONLY=true) trades that
// coverage for speed: ServerOptions then installs the unary and the stream interceptor
// alone, and they record each call themselves, with the same code and the same series,
// span attributes and lines. A server saves grpc-go's dispatch of events to a stats
// handler, 20 allocations and about a tenth of vigil's CPU per call, and no longer
// records the calls grpc-go answers before any interceptor runs: unknown methods (the
// _OTHER series, unless a grpc.UnknownServiceHandler takes them), requests it cannot
// decode or that exceed its size limit, and calls a tap handle or grpc-go itself
// rejects. Durations then start when the interceptor runs, after a unary request was
// decoded. The client side keeps its stats handler.
//
// Spans and metrics follow one generation of OpenTelemetry's RPC semantic conventions,
// v1.43.0, the one otelgrpc records by default since v0.70 (OTEL_SEMCONV_STABILITY_OPT_IN
// unset): span names "package.Service/Method"; the attributes rpc.system.name ("grpc"),
// rpc.method ("package.Service/Method", or _OTHER with rpc.method_original),
// rpc.response.status_code (the code's canonical name: "OK", "CANCELLED",
// "DEADLINE_EXCEEDED", ...) and error.type (the same name, when the call failed for its
// side); the metrics rpc.server.call.duration and rpc.client.call.duration in seconds,
// with the same buckets. In Prometheus these are rpc_server_call_duration_seconds and
// rpc_client_call_duration_seconds, labelled rpc_system_name, rpc_method,
// rpc_response_status_code and error_type ("" for calls that did not fail), and on the
// client server_address and server_port (from the :authority, the dial target), as
// otelgrpc labels them; dashboards built on otelgrpc's metrics read vigil's. The older
// generation's rpc.system, rpc.service, rpc.grpc.status_code (a number) and
// rpc.server.duration (milliseconds) are not recorded.
//
// For every call the server side:
//
//   - continues the caller's W3C trace context from the metadata with a server span
//     named "package.Service/Method", with the attributes above, network.peer.address
//     and .port, request_id, rpc.grpc.messages_sent and rpc.grpc.messages_received for
//     streams (vigil's own), and status Error for the server-fault codes (Unknown,
//     DeadlineExceeded, Unimplemented, Internal, Unavailable, DataLoss);
//   - takes the x-request-id metadata under the HTTP rule (at most 64 characters of
//     [A-Za-z0-9._:-]) or generates one, puts request_id and route (the full method)
//     in the logging context, which is also the scope Capture reads inside handlers,
//     and echoes the id in the response header;
//   - records rpc_server_call_duration_seconds as above, and for streaming calls
//     rpc_server_requests_per_rpc and rpc_server_responses_per_rpc by rpc_system_name
//     and rpc_method (messages received and sent per call, vigil's own: the current
//     conventions dropped them; a unary call is always one of each, so it is not
//     recorded);
//   - writes one "grpc server call" line: Info when OK, Warn for the caller's errors,
//     Error for the server faults, with the fields of "Access-line fields";
//   - recovers a panic in a unary or streaming handler: the value goes to Capture with
//     rpc.method and the incoming metadata under the rules the errors package applies to
//     an HTTP request's headers: secrets redacted by the internal/scrub rules
//     (Authorization, cookies, API keys, tokens, ...), and keys that reveal the client's
//     address (x-forwarded-for, x-real-ip, forwarded, ...: one list, internal/pii, for
//     both) left out unless GRPCConfig.SendDefaultPII; the span gets an exception event;
//     the client gets codes.Internal with the message "internal error" and nothing of
//     the panic. Panics on goroutines the handler starts are beyond any recovery.
//
// Method labels are bounded: a client can send any method string, so only registered
// methods (the ones grpc-go began a handler for) are labelled by name; calls to unknown
// methods, which grpc-go rejects with Unimplemented, and calls routed to an
// unknown-service handler share rpc_method="_OTHER" (the span and the line keep the name
// in rpc.method_original). Each side labels at most 1000 methods. Peer
// addresses are span attributes and log fields, never labels.
//
// The client side starts a client span, injects its context and the caller's request_id
// (when the context has one) into the outgoing metadata, records
// rpc_client_call_duration_seconds (and the per-stream message histograms), and writes a
// "grpc client call" line at Debug when OK (the server logs the call) and Warn or Error
// otherwise. Client spans fail on any non-OK code. grpc-go tags each attempt separately,
// so with retries enabled every attempt is its own span and duration sample.
//
// Services and methods on GRPCConfig.Skip (default the grpc.health.v1 health service)
// get no span and no log line, but are counted.
//
// # Next to otelgrpc
//
// A service that keeps otelgrpc's stats handlers sets GRPCConfig.DisableSpans
// (observe: VIGIL_GRPC_SPANS=false): vigil then starts no spans and neither reads nor
// writes trace context, so each call has otelgrpc's one server span and one client
// span, and the metadata one traceparent. vigil's metrics, access lines and panic
// recovery stay; the lines and the exemplars carry the trace of otelgrpc's spans, which
// the call's context holds by the time vigil records it, whichever handler comes first.
// Without DisableSpans each call has two client and two sibling server spans.
package middleware
