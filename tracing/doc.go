// Package tracing sets up OpenTelemetry tracing the standard way, configured as the
// OTEL_* environment variables define it, with the official SDK and exporters (OTLP over gRPC or HTTP, and stdout). It adds what the SDK leaves to each
// program: validation, an exact count of dropped spans, a Shutdown that really stops by
// its deadline, and span helpers.
//
// # Configuration
//
// [Config] holds plain values: the package reads no environment variable. Package
// observe maps the OTEL_* variables onto the fields with this package's parsers
// ([ParseExporters], [ParseHeaders], [ParseSampler], ...), so both agree on their syntax.
// [New] applies the defaults and returns one error naming each invalid field with its
// value. The exporter defaults to otlp when an endpoint is set (Endpoint or
// BaseEndpoint) and to none otherwise. The protocol defaults to http/protobuf, as the
// specification says. The resource is service.name, service.version,
// deployment.environment.name and ResourceAttributes, built without a schema URL so it
// cannot conflict with the SDK's.
//
// # Ids without export
//
// Spans always get trace and span ids, so log lines and error events correlate even
// when nothing is exported:
//
//   - exporter none: spans are sampled and recorded as usual (so the sampled flag
//     propagated downstream is honest) and then discarded;
//   - disabled (Config.Disabled, which OTEL_SDK_DISABLED=true sets): nothing is recorded
//     or exported, the cheapest setting; new ids are still generated, and outgoing
//     traceparent headers carry sampled=0. No other field is validated, so
//     Config{Disabled: true} is a fallback that cannot fail.
//
// # Never blocking the program
//
// Each exporter sits behind vigil's own batch span processor. Ending a span appends it
// to a queue under a short lock; the export goroutine is woken once per full batch
// (MaxExportBatchSize spans), or when BatchDelay has passed, ForceFlush asks or Shutdown
// drains the queue, not once per span as by the SDK's batch processor, and span.End
// never waits for it. At most MaxQueueSize ended spans wait for export; beyond that a
// span is dropped and counted, as are spans whose export fails after the exporter's
// retries and spans still queued when Shutdown's deadline comes. [Provider.Dropped]
// returns the count (observe exports it as vigil_tracing_spans_dropped_total). Each
// export, retries included, is bounded by ExportTimeout; export failures are logged
// once per outage.
//
// [Provider.Shutdown] flushes within its context's deadline. Unlike the SDK's, it does
// not leave the export running in the background: shortly before the deadline it
// cancels what is in flight, counts it as dropped, and waits for the exporters to close.
//
// # Size bounds
//
// Span data is bounded so that one request cannot sink anyone else's spans (vigil's
// internal/limits documents every bound). The SDK's span limits are set, not read from
// OTEL_SPAN_*_LIMIT: attribute values of at most 16 Ki characters, at most 128
// attributes, events and links per span and 128 attributes per event and link. Event and
// link attribute values, which the SDK leaves alone, are cut to 16 KiB before export.
// Each batch the processor hands over is then exported in parts whose estimated OTLP
// size stays under 3 MiB, below the 4 MiB a Collector's (and grpc-go's) receiver
// accepts by default: a batch holding a few oversized spans is sent in several requests
// rather than refused whole, and a span too large on its own is sent, and lost, alone.
// Only the spans of a failed part are counted as dropped.
//
// # Helpers
//
// [Provider.Start] and the package-level [Start] (OpenTelemetry's global provider)
// start spans; [RecordError] marks a span failed; [TraceID] and [SpanID] read the ids
// for logs; [Propagator] is the W3C tracecontext and baggage propagator, which ignores
// malformed headers and bounds oversized ones.
//
// # Propagation and resource
//
// [ParsePropagators] builds the propagator an OTEL_PROPAGATORS list names (tracecontext,
// baggage, b3, b3multi, jaeger, xray, ottrace, none), through the contrib propagators;
// [Provider.Propagator] is the one Config.Propagators names, which observe hands to the
// HTTP middleware, the client transport, gRPC and OpenTelemetry's global, so a service
// behind a B3 proxy continues its callers' traces. The resource carries, under
// Config.ResourceAttributes and the Config fields, what the SDK's detectors find:
// host.name, process.pid, process.executable.name, process.runtime.* and container.id
// (from /proc/self/cgroup, or the container's mounts under cgroup v2).
package tracing
