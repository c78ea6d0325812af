// Package limits is vigil's one set of size bounds for data that a client or a backend
// controls. Every part that copies such data into a span, a log line, a metric label or
// memory applies these constants, so the bounds are documented once, here, and quoted
// by RELIABILITY.md.
//
//	bound             value    applies to
//	AttrValue         1 KiB    each value the middleware copies from a request or a call into a
//	                           span attribute, a span name or an access-log field: user agent,
//	                           path, query, host, method, route, peer and authority, gRPC method
//	                           names and metadata values, error text received from a server
//	LabelValue        256 B    each metric label value and StatsD tag value (longer values are
//	                           truncated before they become a series; the series cap still applies)
//	QueryText         4 KiB    a database statement's sanitized text (db.query.text, the slow
//	                           query line); the statements dbsql keeps read are those up to
//	                           QueryCacheKey (4 KiB) long, at most QueryCacheEntries (512) per
//	                           connector
//	Text              16 KiB   the safe formatter's output (a panic value, an error, an attribute)
//	SpanAttrValue     16 Ki    any span attribute value set by any code, in characters as the
//	                           OpenTelemetry SDK counts them (at most 64 KiB of UTF-8; a formatted
//	                           panic fits whole); event and link attribute values, which the SDK
//	                           leaves alone, are cut to SpanAttrValue bytes before export
//	SpanAttrs         128      attributes per span; SpanEvents and SpanLinks per span, and
//	                           attributes per event and per link, are 128 too (OpenTelemetry's
//	                           defaults); the OTEL_SPAN_*_LIMIT settings override these span
//	                           limits field by field
//	BackendBody       64 KiB   any body vigil reads from a backend: Pushgateway and Sentry
//	                           responses, health checks; the rest is discarded unread
//	ExportBatchBytes  3 MiB    the estimated encoded size of one span export request: larger
//	                           batches are split, so no request reaches an OTLP receiver's
//	                           default 4 MiB limit and a span too large on its own is sent,
//	                           and lost, alone
//
// Truncated text ends in "…" (Ellipsis) and is cut on a UTF-8 boundary, so a reader can
// tell a bound was hit and the result is still valid text.
package limits

const (
	// AttrValue bounds one client-controlled value on a span or an access-log line, in bytes.
	AttrValue = 1 << 10
	// LabelValue bounds one metric label or StatsD tag value, in bytes.
	LabelValue = 256
	// QueryText bounds a sanitized database statement, in bytes.
	QueryText = 4 << 10
	// QueryCacheKey is the longest statement dbsql remembers the reading of, in bytes, and
	// QueryCacheEntries how many it remembers per connector: at most 2 MiB of keys.
	QueryCacheKey     = 4 << 10
	QueryCacheEntries = 512
	// Text bounds the safe formatter's output, in bytes.
	Text = 16 << 10
	// SpanAttrValue is the SDK's attribute value length limit, in characters (the SDK
	// counts runes): Text, so that nothing the safe formatter produced is cut a second time.
	SpanAttrValue = Text
	// SpanAttrs, SpanEvents, SpanLinks and SpanAttrsPerEvent (attributes per event and per
	// link) are the SDK's count limits, OpenTelemetry's defaults.
	SpanAttrs         = 128
	SpanEvents        = 128
	SpanLinks         = 128
	SpanAttrsPerEvent = 128
	// BackendBody bounds a body read from any backend, in bytes.
	BackendBody = 64 << 10
	// ExportBatchBytes bounds the estimated encoded size of one span export request. The
	// OpenTelemetry Collector's gRPC receiver (and grpc-go's default) refuse messages over
	// 4 MiB; the margin covers the estimate's error.
	ExportBatchBytes = 3 << 20
)

// Ellipsis marks truncated text.
const Ellipsis = "…"

// Truncate returns s if it is at most n bytes long. Otherwise it returns a copy of the
// longest prefix that ends on a UTF-8 boundary and, with Ellipsis appended, fits in n
// bytes (without the marker when n is too small for it). The copy matters: a slice of s
// would keep a client's whole value alive for as long as the span or series holds it.
// It allocates only when it truncates.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	mark := Ellipsis
	if n < 2*len(Ellipsis) {
		mark = ""
	}
	cut := n - len(mark)
	// Back off over continuation bytes (10xxxxxx) so a multi-byte rune is never split.
	for i := 0; cut > 0 && i < 3 && s[cut]&0xC0 == 0x80; i++ {
		cut--
	}
	return s[:cut] + mark // one allocation, a copy
}
