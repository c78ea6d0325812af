// Package console is the dev console behind observe's /debug/vigil/: an in-process page
// that shows the service's recent errors, traces, routes and log lines together, and
// the JSON API the page reads.
//
// A Console is fed by hooks observe installs when the console is on, each after the
// secret policy has run, so it never holds more than the exporters would send:
//
//	errors.Config.OnEvent      error events as they leave for Sentry, after scrubbing
//	errors.Config.OnDuplicate  captures dedup suppressed, counted in their event's group
//	tracing.Config.OnEnd       sampled spans as they end, redacted as on export
//	LogWriter                  a tee of the log writer: lines as written, already redacted
//
// Spans are held in a ring as they ended and grouped into traces when a view asks, so
// the request path pays one pass over a span's attributes and a slot write. Routes are
// read from the metrics gatherer when asked (RED from the HTTP server
// duration histogram), not collected. Nothing runs in the background.
//
// # Bounds
//
// Every store is a ring that drops its oldest items when either bound is reached:
//
//	store        entries                                       bytes (estimated)
//	errors       200 groups, the newest 10 events each           4 MiB  (MaxErrorGroups, MaxGroupEvents, MaxErrorBytes)
//	spans        10000 spans; views list the newest 500 traces  8 MiB  (MaxSpans, MaxTraces, MaxTraceBytes)
//	logs         2000 lines, each cut at 32 KiB                  4 MiB  (MaxLogLines, MaxLogLine, MaxLogBytes)
//
// Strings of error events are cut at 4 KiB (MaxText) and stacks at 100 frames
// (MaxFrames); span attributes are bounded already by the tracing part's span limits.
// The byte figures estimate what an item holds (its strings plus a fixed overhead), so
// the console's heap stays within a small multiple of their sum, 16 MiB, however long
// the traffic lasts.
//
// # Access
//
// Handler serves the embedded page (assets/) and the API under api/. Without a token
// it answers only clients connected from a loopback address (r.RemoteAddr; forwarded
// headers are never trusted) that name a loopback host, which keeps out pages of other
// sites reached by DNS rebinding. With a token every client must present it. Every
// response carries a Content-Security-Policy that forbids inline script and style, and
// every string in the API is JSON data, which the page inserts as text.
package console
