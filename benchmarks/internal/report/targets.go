package main

import "slices"

// A comparison is measured in rounds: in each round every impl of every group runs once,
// each in a fresh process of the compiled test binary, so that no impl's speed depends on
// the heap, goroutines or caches another left behind, and every target is computed per
// round from measurements taken moments apart (paired), then summarized over the rounds.

// group is one comparison: the impls of one benchmark path, each run in its own process
// once per round.
type group struct {
	bench string   // the benchmark path without the impl= element
	impls []string // impl= values, all of which run every round
	// benchtime overrides the runner's -benchtime (e.g. "1x" for a benchmark whose one op
	// is a whole warm-up).
	benchtime string
}

// groups are what run.sh measures, in the order each round runs them. Within a round the
// impls of a group run in an order rotated by the round number, so no impl always runs
// first or last.
var groups = []group{
	{bench: "BenchmarkHTTP/stack=full/sink=discard", impls: []string{"bare", implHTTPPeer, "floor", "vigil", "vigil+otlpmetrics"}},
	{bench: "BenchmarkHTTP/stack=full/sink=pipe", impls: []string{"bare", implHTTPPeer, "floor", "vigil"}},
	{bench: "BenchmarkHTTP/stack=metrics", impls: []string{"bare", "promhttp", "vigil"}},
	{bench: "BenchmarkConsole", impls: []string{"bare", "vigil", "vigil+console"}},
	{bench: "BenchmarkGRPCUnary", impls: []string{"bare", implGRPCPeer, "floor", "vigil", "vigil+interceptors"}},
	{bench: "BenchmarkSQL/op=query", impls: []string{"bare", "otelsql", "vigil"}},
	{bench: "BenchmarkSQL/op=exec", impls: []string{"bare", "otelsql", "vigil"}},
	{bench: "BenchmarkMetrics/op=counter-bound", impls: []string{"client_golang", "vigil"}},
	{bench: "BenchmarkMetrics/op=counter-labelled", impls: []string{"client_golang", "vigil"}},
	{bench: "BenchmarkStatsD/op=incr/keys=1", impls: []string{"datadog-go+aggregation", "vigil"}},
	{bench: "BenchmarkStatsD/op=incr/keys=1000", impls: []string{"datadog-go", "vigil"}},
	{bench: "BenchmarkStatsD/op=timer/keys=1", impls: []string{"datadog-go+aggregation", "vigil"}},
	{bench: "BenchmarkLogging/attrs=5", impls: []string{"slog.JSONHandler", "vigil"}},
	{bench: "BenchmarkLogging/attrs=10", impls: []string{"slog.JSONHandler", "vigil"}},
	{bench: "BenchmarkCapture/case=distinct", impls: []string{"sentry-go", "vigil"}},
	{bench: "BenchmarkCapture/case=storm", impls: []string{"sentry-go", "vigil"}},
	{bench: "BenchmarkSpan/sampled=true", impls: []string{"otel-sdk", "vigil"}},
	{bench: "BenchmarkSpan/sampled=false", impls: []string{"otel-sdk", "vigil"}},
	{bench: "BenchmarkFloorParts", impls: floorPartsAll},
	{bench: "BenchmarkRoutes/op=warm/routes=10000", impls: []string{"floor", "vigil"}, benchtime: "1x"},
	{bench: "BenchmarkRoutes/op=first-touch/routes=10000", impls: []string{"floor", "vigil"}, benchtime: "2000x"},
	{bench: "BenchmarkScrape/routes=10000", impls: []string{"client_golang", "vigil"}, benchtime: "2x"},
}

// The floor's parts (benchmarks/floor_parts_test.go): with the line discarded, and
// written to a pipe.
var (
	floorPartsDiscard = []string{"span", "propagation", "clock", "metrics", "request-id", "context", "line"}
	floorPartsPipe    = append(slices.Clone(floorPartsDiscard), "write-pipe")
	floorPartsAll     = floorPartsPipe
)

const (
	implHTTPPeer = "otelhttp+promhttp+sentryhttp+slog"
	implGRPCPeer = "otelgrpc+grpc-middleware"
)

// target is one budget from the benchmarks issues, computed per round and summarized.
type target struct {
	// What the row is called in RESULTS.md.
	what string
	// bench is the benchmark path without the impl= element, e.g. "BenchmarkHTTP/stack=full".
	bench string
	// ours, peer and floor are impl= values. With a peer the value is a ratio, of
	// overheads when a floor is named: (ours-floor)/(peer-floor). Without a peer it is
	// absolute: ours-floor (or ours alone), in the unit.
	ours, peer, floor string
	unit              string // ns/op, allocs/op, B/op or a unit the benchmark reports
	max               float64
	// info rows have no budget: RESULTS.md shows the value for the record.
	info bool
	// per, when set, divides an absolute value: a warm-up of 10,000 routes per route.
	per float64
	// parts, when set, take the peer's place: the value is (ours-floor) over the sum of
	// these impls of partsBench, measured alone in the same round.
	partsBench string
	parts      []string
	// was is the row's name in an earlier RESULTS.md, when it had another.
	was string
	// limit says what keeps us from the target, once someone has profiled it. RESULTS.md
	// prints it for missed targets; fill it in when you change the design or accept a miss.
	limit string
}

// grpcLimit is what limits the gRPC rows that miss their budget (all four share it).
const grpcLimit = "wall time cannot settle this comparison on this machine: the bare call alone ranged 32-57 µs over the rounds " +
	"of one run, more than vigil's whole overhead (~12 µs), and a round's ratio to the floor ranged from 0.4 to over 4 " +
	"(the medians of the two 2026-12-02 evening runs: vigil 1.39 and 1.45 of the floor, 0.52 and 0.56 of the peers; " +
	"interceptors only 1.27 and 1.16, 0.60 and 0.47). " +
	"By callgrind (instructions per call over bare, 2026-12-02, GC on): vigil +60.7-62.8k, vigil with " +
	"GRPC.InterceptorsOnly +56.5-57.0k, the floor interceptor +58.6k, the peers +107.5-109.0k, a no-op stats handler " +
	"alone +21k. So vigil is 1.04-1.07x the floor (0.96-0.97x interceptors only) and 0.56-0.58x the peers (0.52-0.53x). " +
	"What keeps it above 0.5x: grpc-go's event dispatch for any stats handler (+21k, +18 allocations), which vigil keeps " +
	"by default so that calls grpc-go answers before any interceptor (unknown methods, undecodable or oversized " +
	"requests) are recorded; without it, the span start, trace-context read and request id move from the transport's " +
	"reader goroutine to the call's new goroutine, whose stack growth (copystack) takes back ~9k of the 21k."

// targets are the issues' budgets (19 for HTTP, gRPC and scale; 17 and 18 for the
// console and database/sql; the earlier ones for the rest), and rows for the record.
var targets = []target{
	{what: "HTTP full stack ÷ peer chain, lines discarded", bench: "BenchmarkHTTP/stack=full/sink=discard",
		ours: "vigil", peer: implHTTPPeer, floor: "bare", unit: "ns/op", max: 0.3, was: "HTTP full stack, overhead over bare"},
	{what: "HTTP full stack ÷ peer chain, lines to a pipe", bench: "BenchmarkHTTP/stack=full/sink=pipe",
		ours: "vigil", peer: implHTTPPeer, floor: "bare", unit: "ns/op", max: 0.3,
		limit: "the floor itself, doing only what the contract requires, is 0.37-0.38x the peer chain with the line written to " +
			"a pipe in the same rounds (0.33x when the pipe's reader was a goroutine of the benchmark): write(2) " +
			"and the pipe cost every stack about the same ~2 µs, a larger share of the cheaper stacks, so no stack that writes " +
			"the contract's line can reach 0.30x here. vigil is 0.95-0.96x the floor with the pipe (budget 1.10)."},
	{what: "HTTP full stack ÷ floor middleware, lines discarded", bench: "BenchmarkHTTP/stack=full/sink=discard",
		ours: "vigil", peer: "floor", floor: "bare", unit: "ns/op", max: 1.1},
	{what: "HTTP full stack ÷ floor middleware, lines to a pipe", bench: "BenchmarkHTTP/stack=full/sink=pipe",
		ours: "vigil", peer: "floor", floor: "bare", unit: "ns/op", max: 1.1,
		limit: "by CPU time vigil is 1.04x the floor with the pipe; three idle-machine runs on 2026-12-02 gave 1.07, 1.03 and " +
			"1.10 by wall time. The line's write(2), the pipe's reader and vigil's span exporter share two cores."},
	{what: "Floor middleware ÷ peer chain, lines discarded (reference)", bench: "BenchmarkHTTP/stack=full/sink=discard",
		ours: "floor", peer: implHTTPPeer, floor: "bare", unit: "ns/op", info: true},
	{what: "Floor middleware ÷ peer chain, lines to a pipe (reference)", bench: "BenchmarkHTTP/stack=full/sink=pipe",
		ours: "floor", peer: implHTTPPeer, floor: "bare", unit: "ns/op", info: true},
	{what: "HTTP full stack ÷ sum of the floor's parts measured alone, lines discarded", bench: "BenchmarkHTTP/stack=full/sink=discard",
		ours: "vigil", floor: "bare", partsBench: "BenchmarkFloorParts", parts: floorPartsDiscard, unit: "ns/op", info: true},
	{what: "HTTP full stack ÷ sum of the floor's parts measured alone, lines to a pipe", bench: "BenchmarkHTTP/stack=full/sink=pipe",
		ours: "vigil", floor: "bare", partsBench: "BenchmarkFloorParts", parts: floorPartsPipe, unit: "ns/op", info: true},
	{what: "Floor middleware ÷ sum of its parts measured alone, lines discarded (reference)", bench: "BenchmarkHTTP/stack=full/sink=discard",
		ours: "floor", floor: "bare", partsBench: "BenchmarkFloorParts", parts: floorPartsDiscard, unit: "ns/op", info: true},
	{what: "HTTP full stack with OTLP metrics push ÷ without", bench: "BenchmarkHTTP/stack=full/sink=discard",
		ours: "vigil+otlpmetrics", peer: "vigil", floor: "bare", unit: "ns/op", info: true},
	{what: "HTTP full stack, allocations over bare ÷ peer chain's", bench: "BenchmarkHTTP/stack=full/sink=discard",
		ours: "vigil", peer: implHTTPPeer, floor: "bare", unit: "allocs/op", max: 0.3, was: "HTTP full stack, allocations over bare"},
	{what: "HTTP full stack, bytes allocated over bare ÷ floor's", bench: "BenchmarkHTTP/stack=full/sink=discard",
		ours: "vigil", peer: "floor", floor: "bare", unit: "B/op", info: true},
	{what: "Dev console on ÷ off, overhead over bare", bench: "BenchmarkConsole",
		ours: "vigil+console", peer: "vigil", floor: "bare", unit: "ns/op", max: 1.15},
	{what: "HTTP metrics only, overhead over bare", bench: "BenchmarkHTTP/stack=metrics",
		ours: "vigil", peer: "promhttp", floor: "bare", unit: "ns/op", max: 1.0},
	{what: "HTTP metrics only, allocations over bare (absolute)", bench: "BenchmarkHTTP/stack=metrics",
		ours: "vigil", floor: "bare", unit: "allocs/op", max: 1},
	{what: "gRPC unary ÷ floor interceptor", bench: "BenchmarkGRPCUnary",
		ours: "vigil", peer: "floor", floor: "bare", unit: "ns/op", max: 1.2,
		limit: grpcLimit},
	{what: "Floor interceptor ÷ otelgrpc + go-grpc-middleware (reference)", bench: "BenchmarkGRPCUnary",
		ours: "floor", peer: implGRPCPeer, floor: "bare", unit: "ns/op", info: true},
	{what: "gRPC unary ÷ otelgrpc + go-grpc-middleware", bench: "BenchmarkGRPCUnary",
		ours: "vigil", peer: implGRPCPeer, floor: "bare", unit: "ns/op", max: 0.5, was: "gRPC unary full stack, overhead over bare",
		limit: grpcLimit},
	{what: "gRPC unary, interceptors only ÷ floor interceptor", bench: "BenchmarkGRPCUnary",
		ours: "vigil+interceptors", peer: "floor", floor: "bare", unit: "ns/op", max: 1.2,
		limit: grpcLimit},
	{what: "gRPC unary, interceptors only ÷ otelgrpc + go-grpc-middleware", bench: "BenchmarkGRPCUnary",
		ours: "vigil+interceptors", peer: implGRPCPeer, floor: "bare", unit: "ns/op", max: 0.5,
		limit: grpcLimit},
	{what: "database/sql query ÷ otelsql, overhead over the bare driver", bench: "BenchmarkSQL/op=query",
		ours: "vigil", peer: "otelsql", floor: "bare", unit: "ns/op", max: 0.5},
	{what: "database/sql exec ÷ otelsql, overhead over the bare driver", bench: "BenchmarkSQL/op=exec",
		ours: "vigil", peer: "otelsql", floor: "bare", unit: "ns/op", max: 0.5,
		limit: "five idle-machine runs on 2026-12-02 gave 0.48, 0.37, 0.51 and (after the export pipeline began remembering " +
			"the clean statement texts it has scanned) 0.47 and 0.49; by callgrind 0.54x (+16.9k instructions per exec against otelsql's " +
			"+31.4k; +4 allocations against +12)."},
	{what: "Bound counter increment", bench: "BenchmarkMetrics/op=counter-bound",
		ours: "vigil", peer: "client_golang", unit: "ns/op", max: 1.2},
	{what: "Labelled counter increment (2 labels)", bench: "BenchmarkMetrics/op=counter-labelled",
		ours: "vigil", peer: "client_golang", unit: "ns/op", max: 1.0},
	{what: "Bound counter increment, allocations (absolute)", bench: "BenchmarkMetrics/op=counter-bound",
		ours: "vigil", unit: "allocs/op", max: 0},
	{what: "Labelled counter increment, allocations (absolute)", bench: "BenchmarkMetrics/op=counter-labelled",
		ours: "vigil", unit: "allocs/op", max: 0},
	{what: "StatsD, one hot key, vs datadog-go with aggregation", bench: "BenchmarkStatsD/op=incr/keys=1",
		ours: "vigil", peer: "datadog-go+aggregation", unit: "ns/op", max: 0.5},
	{what: "StatsD, 1,000 distinct keys, vs datadog-go without aggregation", bench: "BenchmarkStatsD/op=incr/keys=1000",
		ours: "vigil", peer: "datadog-go", unit: "ns/op", max: 1.0},
	{what: "StatsD, timer samples, vs datadog-go (default config)", bench: "BenchmarkStatsD/op=timer/keys=1",
		ours: "vigil", peer: "datadog-go+aggregation", unit: "ns/op", max: 0.5},
	{what: "StatsD, one hot key, allocations (absolute)", bench: "BenchmarkStatsD/op=incr/keys=1",
		ours: "vigil", unit: "allocs/op", max: 0},
	{what: "StatsD, 1,000 distinct keys, allocations (absolute)", bench: "BenchmarkStatsD/op=incr/keys=1000",
		ours: "vigil", unit: "allocs/op", max: 0},
	{what: "StatsD, timer samples, allocations (absolute)", bench: "BenchmarkStatsD/op=timer/keys=1",
		ours: "vigil", unit: "allocs/op", max: 0},
	{what: "Logging, 5 attributes, correlation and redaction on", bench: "BenchmarkLogging/attrs=5",
		ours: "vigil", peer: "slog.JSONHandler", unit: "ns/op", max: 1.2},
	{what: "Logging, 10 attributes, correlation and redaction on", bench: "BenchmarkLogging/attrs=10",
		ours: "vigil", peer: "slog.JSONHandler", unit: "ns/op", max: 1.2},
	{what: "Capture on the calling goroutine", bench: "BenchmarkCapture/case=distinct",
		ours: "vigil", peer: "sentry-go", unit: "ns/op", max: 0.5},
	{what: "Capture, storm of identical errors", bench: "BenchmarkCapture/case=storm",
		ours: "vigil", peer: "sentry-go", unit: "ns/op", max: 0.1},
	{what: "Span start+end, sampled", bench: "BenchmarkSpan/sampled=true",
		ours: "vigil", peer: "otel-sdk", unit: "ns/op", max: 1.05},
	{what: "Span start+end, not sampled", bench: "BenchmarkSpan/sampled=false",
		ours: "vigil", peer: "otel-sdk", unit: "ns/op", max: 1.05},
	{what: "Warm 10,000 routes: time (first request of each)", bench: "BenchmarkRoutes/op=warm/routes=10000",
		ours: "vigil", unit: "ns/op", info: true},
	{what: "Warm 10,000 routes: bytes allocated", bench: "BenchmarkRoutes/op=warm/routes=10000",
		ours: "vigil", unit: "B/op", info: true},
	{what: "Warm 10,000 routes: heap retained", bench: "BenchmarkRoutes/op=warm/routes=10000",
		ours: "vigil", unit: "retained-B/op", info: true},
	{what: "First request on a route, mean over warming 10,000", bench: "BenchmarkRoutes/op=warm/routes=10000",
		ours: "vigil", unit: "ns/op", per: 10000, info: true},
	{what: "First request on a route, mean bytes allocated over warming 10,000", bench: "BenchmarkRoutes/op=warm/routes=10000",
		ours: "vigil", unit: "B/op", per: 10000, info: true},
	{what: "Warm 10,000 routes: time ÷ floor middleware's", bench: "BenchmarkRoutes/op=warm/routes=10000",
		ours: "vigil", peer: "floor", unit: "ns/op", info: true},
	{what: "Warm 10,000 routes: bytes allocated ÷ floor middleware's", bench: "BenchmarkRoutes/op=warm/routes=10000",
		ours: "vigil", peer: "floor", unit: "B/op", info: true},
	{what: "First request on a new route, 10,000 routes warm", bench: "BenchmarkRoutes/op=first-touch/routes=10000",
		ours: "vigil", unit: "ns/op", info: true},
	{what: "First request on a new route: bytes allocated", bench: "BenchmarkRoutes/op=first-touch/routes=10000",
		ours: "vigil", unit: "B/op", info: true},
	{what: "First request on a new route ÷ floor middleware's", bench: "BenchmarkRoutes/op=first-touch/routes=10000",
		ours: "vigil", peer: "floor", unit: "ns/op", info: true},
	{what: "Scrape at 10,000 routes: time", bench: "BenchmarkScrape/routes=10000",
		ours: "vigil", unit: "ns/op", info: true},
	{what: "Scrape at 10,000 routes: body size", bench: "BenchmarkScrape/routes=10000",
		ours: "vigil", unit: "scrape-B", info: true},
	{what: "Scrape at 10,000 routes: time ÷ client_golang", bench: "BenchmarkScrape/routes=10000",
		ours: "vigil", peer: "client_golang", unit: "ns/op", max: 1.0},
	{what: "Scrape at 10,000 routes: body size ÷ client_golang", bench: "BenchmarkScrape/routes=10000",
		ours: "vigil", peer: "client_golang", unit: "scrape-B", max: 1.0},
	{what: "Scrape at 10,000 routes: bytes allocated ÷ client_golang", bench: "BenchmarkScrape/routes=10000",
		ours: "vigil", peer: "client_golang", unit: "B/op", info: true},
}
