// Package benchmarks measures vigil against the libraries it replaces and against a
// floor that does only the work vigil's contract requires.
//
// It is a nested module so that the peers (otelhttp, otelgrpc, promhttp, sentryhttp,
// datadog-go, zap, go-grpc-middleware) never become dependencies of vigil itself.
//
// Every benchmark is a family of sub-benchmarks that do the same work through different
// implementations, named impl=NAME:
//
//	go test -run '^$' -bench 'HTTP$/stack=full/sink=discard' -benchtime 1x   # quick look
//	benchmarks/run.sh                                                       # RESULTS.md
//
// The rules that keep the comparisons fair:
//
//   - Both sides get the same handler, request, error or attributes, and the same kind of
//     sink: io.Discard for logs (and, for the HTTP stacks, also a pipe another process
//     drains, as a container runtime drains stdout: sink=pipe), a span exporter that drops batches behind the SDK's batch
//     processor, a Sentry transport that drops events, a bound UDP socket that is never
//     read (the kernel discards the datagrams) for StatsD.
//   - HTTP goes through httptest.ResponseRecorder and gRPC through bufconn; each has an
//     impl=bare floor, so targets are stated on the overhead above it.
//   - HTTP and gRPC also have impl=floor (floor_test.go): a plain middleware and a plain
//     interceptor that do exactly what vigil's contract requires of a request (one
//     sampled SDK span with the semconv attributes, two clock reads, the duration
//     histogram and in-flight gauge, a request id, one context value, the same JSON
//     line in one write) and nothing else, so "vigil ÷ floor" is what vigil spends
//     beyond the work itself. A test keeps the floor's line identical to vigil's.
//   - Each stack is built inside the benchmark that measures it, so a process that runs
//     one benchmark carries no other stack's goroutines or heap.
//   - Where contention matters (counters, histograms, spans, the HTTP stack) a Parallel
//     variant runs the same body under b.RunParallel.
//   - Scale: BenchmarkRoutes warms 10,000 routes (time, bytes, retained heap) and
//     measures the first request on a new route after them; BenchmarkScrape scrapes the
//     HTTP histogram families at 10,000 routes, vigil's MetricsHandler against
//     client_golang's promhttp over the same series (same names, labels and buckets).
//
// The tests beside the benchmarks check that each stack really does its work (the metric
// series, the log line, the span, the event), so a fast result cannot come from a stack
// that silently does nothing.
//
// One `go test -bench` process that runs every impl one after another is not a fair
// comparison: an impl's speed depends on the heap and goroutines the ones before it
// left. run.sh therefore compiles the test binary once and runs rounds: in every round
// each impl of each comparison runs once, alone in a fresh process; each target is
// computed within a round (paired: the peer and floor of the same round, moments
// apart) and RESULTS.md gives its median, interquartile range and extremes over the
// rounds (see internal/report; its targets.go lists the comparisons and budgets).
//
// compare.sh holds an earlier commit (default 9ce8a42) against the working tree: it
// builds that commit's test binary from a git worktree (its own benchmarks module and
// vigil) beside the working tree's, runs every comparison both have in the same rounds,
// the old and new process of each impl one right after the other, computes RESULTS.md's
// ratios per round for both, and writes BEFORE-AFTER.md with before, after and the
// paired after ÷ before of each (internal/report/compare.go maps renamed benchmarks).
package benchmarks
