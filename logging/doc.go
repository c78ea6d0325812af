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
//   - the attributes stored with WithAttrs in the context (the middleware stores
//     request_id and route there), at the top level of the record.
//
// Values of keys that name secrets (password, token, authorization, cookie, api_key, ...:
// see the README) are replaced by "[REDACTED]" at any depth of groups; matching ignores
// case and the separators '-', '_' and '.', so "X-Auth-Token" and "db.password" match.
// A group whose key is sensitive is redacted whole.
//
// Values never crash the program: a LogValuer that panics, a MarshalJSON that panics, a
// typed-nil error and a cyclic value are all rendered as an error marker in place of the
// value. Control characters, including newlines, are escaped, so a hostile string cannot
// forge a second log line.
//
// The JSON encoder is this package's own rather than slog.JSONHandler: adding trace ids
// and context attributes to a slog.Record allocates once a record has more than five
// attributes, and the encoder here pre-renders WithAttrs and group prefixes and pools its
// buffers, so logging costs no more than slog.JSONHandler while doing more. Its output
// follows slog's JSON conventions (durations in nanoseconds, RFC 3339 times with
// milliseconds) and it passes testing/slogtest.
//
// Config.Handlers fans every record out to further handlers with slog-multi; vigil's
// errors package plugs its Sentry bridge in there. The "text" format wraps
// slog.TextHandler with the same fields and redaction, for people reading a terminal.
package logging
