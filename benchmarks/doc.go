// Package benchmarks measures vigil against the libraries it replaces, in one run.
//
// It is a nested module so that the peers (otelhttp, otelgrpc, promhttp, sentryhttp,
// datadog-go, zap, go-grpc-middleware) never become dependencies of vigil itself.
//
// Every benchmark is a family of sub-benchmarks that do the same work through different
// implementations, named impl=NAME, so that one run compares them:
//
//	go test -run '^$' -bench . -count 8 | tee raw.txt
//	benchstat -col /impl raw.txt
//
// The rules that keep the comparisons fair:
//
//   - Both sides get the same handler, request, error or attributes, and the same kind of
//     sink: io.Discard for logs, a span exporter that drops batches behind the SDK's batch
//     processor, a Sentry transport that drops events, a bound UDP socket that is never
//     read (the kernel discards the datagrams) for StatsD.
//   - HTTP goes through httptest.ResponseRecorder and gRPC through bufconn; each has an
//     impl=bare floor, so targets are stated on the overhead above it.
//   - Where contention matters (counters, histograms, spans, the HTTP stack) a Parallel
//     variant runs the same body under b.RunParallel.
//
// The tests beside the benchmarks check that each stack really does its work (the metric
// series, the log line, the span, the event), so a fast result cannot come from a stack
// that silently does nothing.
//
// run.sh runs everything with enough repetitions for benchstat and writes RESULTS.md:
// the machine, the versions, and the ratio of our cost to the peer's for every target,
// with its spread (see internal/report).
package benchmarks
