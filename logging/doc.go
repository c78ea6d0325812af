// Package logging provides the slog handler every vigil service logs through.
//
// Each record is one JSON object on one line, written to the output with a single Write
// call, so concurrent records never interleave and a line is never split:
//
//	{"time":"2026-11-21T10:00:00.000Z","level":"INFO","msg":"order shipped","service":"checkout",
//	 "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","request_id":"r-1","order":42}
//
// (shown on two lines here). The handler adds:
//
//   - service, service_version and environment, when configured;
//   - trace_id and span_id whenever the record's context holds a valid OpenTelemetry span
//     context, so a log line leads to its trace;
//   - source (function, file, line) with Config.AddSource;
//   - the attributes stored with WithAttrs in the context (the middleware stores
//     request_id and route there), at the top level of the record.
//
// # Each key once
//
// Every object of a line has each key once, since shippers keep only one of two equal
// keys (often the user's, replacing the real level or trace id) and some stores drop
// the line. The rule:
//
//   - The keys the handler writes itself (above, under the preset's names) win. A user
//     attribute at the top level with one of them, whether from the record, Logger.With
//     or WithAttrs, is kept under RenamePrefix + key: "level" becomes "attr.level".
//   - The context's attributes come next: a record or Logger.With attribute named like
//     one of them ("request_id") is renamed the same way.
//   - Otherwise, a key given twice in one object (two context attributes, Logger.With
//     and the record, two members of a group, "attr.level" and a renamed "level") keeps
//     the last value given, as readers of JSON and ctxattrs lookups already do.
//
// Checking is cheap and allocates nothing: the handler keeps a 64-bit bloom of the keys
// of the level it writes and compares keys only when a bit is taken. A record that does
// break the rule (a key renamed or given twice) is written a second time, by the rule,
// with a few allocations.
//
// # Field names for the log store
//
// Config.Fields (VIGIL_LOG_FIELDS) picks the names of the fields vigil writes, for the
// store that reads them; a user's own attributes keep theirs. The key bytes are
// rendered once, when the handler is built, so every preset costs the same:
//
//	field        vigil            otel                         ecs                    gcp                                    datadog
//	time         time             timestamp                    @timestamp             time                                   timestamp
//	level        level: INFO      severity_text: INFO,         log.level: info        severity: INFO                         status: info
//	                              severity_number: 9
//	message      msg              body                         message                message                                message
//	service      service          service.name                 service.name           serviceContext.service                 service
//	version      service_version  service.version              service.version        serviceContext.version                 version
//	environment  environment      deployment.environment.name  service.environment    environment                            env
//	trace id     trace_id (hex)   trace_id (hex)               trace.id (hex)         logging.googleapis.com/trace           dd.trace_id (decimal)
//	span id      span_id (hex)    span_id (hex)                span.id (hex)          logging.googleapis.com/spanId          dd.span_id (decimal)
//	sampled      -                trace_flags: 1               -                      logging.googleapis.com/trace_sampled   -
//	request id   request_id       request_id                   http.request.id        request_id                             request_id
//	source       source{function, code.function.name,          log.origin.function,   logging.googleapis.com/sourceLocation  logger.method_name,
//	             file, line}      code.file.path,              log.origin.file.name,  {function, file, line}                 logger.file_name,
//	                              code.line.number             log.origin.file.line                                          logger.line
//	other        -                -                            ecs.version: 8.11.0    -                                      -
//
// Levels: "otel" keeps slog's names as severity_text and adds the OpenTelemetry
// severity number (slog's levels are spaced like it: DEBUG 5, INFO 9, WARN 13, ERROR 17);
// "ecs" writes slog's names in lower case; "gcp" writes Cloud Logging severities (DEBUG,
// INFO, WARNING, ERROR, and CRITICAL from ERROR+4) and "datadog" the statuses its
// remapper knows (debug, info, warn, error, critical). "gcp:PROJECT_ID" writes the trace
// as the resource name Cloud Logging links to Cloud Trace,
// projects/PROJECT_ID/traces/TRACE_ID; plain "gcp" writes the bare id. Datadog
// correlates logs with traces by the low 64 bits of the trace id, in decimal, written as
// a string since they exceed JSON's exact integers. The "text" format, meant for people,
// keeps vigil's names.
//
// # Redaction
//
// Values of keys that name secrets (password, token, authorization, cookie, api_key, ...:
// see the README) are replaced by "[REDACTED]" at any depth of groups; matching ignores
// case and the separators '-', '_' and '.', so "X-Auth-Token" and "db.password" match.
// A group whose key is sensitive is redacted whole. Errors and other values are rendered
// by one safe formatter that also redacts secrets inside their text (a password in a
// URL, "token=...").
//
// Values never crash the program: a LogValuer that panics, a MarshalJSON that panics, a
// typed-nil error and a cyclic value are all rendered as an error marker in place of the
// value. Control characters, including newlines, are escaped, so a hostile string cannot
// forge a second log line.
//
// # Lines with known keys
//
// NewLines serves callers that write many records with the same keys, as vigil's
// middleware does with its access lines: the keys are rendered, checked against the key
// rule and classified by the secret policy once, and each record is appended field by
// field (Line.String, Known, Int, Float, Bool) into the same JSON this handler writes,
// with the same header, trace ids, context attributes and one Write, without building a
// slog.Record. It works with this package's JSON handler (and Logger.With of it); for any
// other handler NewLines returns nil and the caller logs through slog.
//
// # Fan-out
//
// Config.Handlers fans every record out to the application's own slog.Handlers (a file,
// a vendor's handler) through one handler that prepares each record once for all of
// them: redacted by the same policy (sensitive keys at any depth; an error becomes an
// error whose text is the safe formatter's, with nothing of the original reachable; any
// other value its safe JSON), carrying the trace ids (under the preset's names), the
// context's attributes, and the handler's WithAttrs and WithGroup as attributes and
// groups, under the key rule. Such a handler never sees a raw secret. Config.Bridges
// receive records as logged: they are for vigil's own bridges, which apply the policy
// themselves; the errors package's Sentry bridge needs the error as logged for its type,
// chain and stack trace.
//
// The JSON encoder is this package's own rather than slog.JSONHandler: adding trace ids
// and context attributes to a slog.Record allocates once a record has more than five
// attributes, and the encoder here pre-renders WithAttrs and group prefixes and pools its
// buffers, so logging costs no more than slog.JSONHandler while doing more. Its output
// follows slog's JSON conventions (durations in nanoseconds, RFC 3339 times with
// milliseconds) and it passes testing/slogtest. The "text" format wraps slog.TextHandler
// with the same fields, key rule and redaction, for people reading a terminal.
package logging
