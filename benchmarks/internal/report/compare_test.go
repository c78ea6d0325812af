package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// The rows of the targets table in benchmarks/RESULTS.md at 9ce8a42, compare.sh's
// default ref: issue 13 asks that none of them gets worse by more than 5%.
var rowsAt9ce8a42 = []string{
	"HTTP full stack, overhead over bare",
	"HTTP full stack, allocations over bare",
	"HTTP metrics only, overhead over bare",
	"HTTP metrics only, allocations over bare (absolute)",
	"gRPC unary full stack, overhead over bare",
	"Bound counter increment",
	"Labelled counter increment (2 labels)",
	"Bound counter increment, allocations (absolute)",
	"Labelled counter increment, allocations (absolute)",
	"StatsD, one hot key, vs datadog-go with aggregation",
	"StatsD, 1,000 distinct keys, vs datadog-go without aggregation",
	"StatsD, timer samples, vs datadog-go (default config)",
	"StatsD, one hot key, allocations (absolute)",
	"StatsD, 1,000 distinct keys, allocations (absolute)",
	"StatsD, timer samples, allocations (absolute)",
	"Logging, 5 attributes, correlation and redaction on",
	"Logging, 10 attributes, correlation and redaction on",
	"Capture on the calling goroutine",
	"Capture, storm of identical errors",
	"Span start+end, sampled",
	"Span start+end, not sampled",
}

// benchmarksAt9ce8a42 are the sequential benchmarks of the test binary built at 9ce8a42
// (its output with -test.bench . -test.benchtime 1x, GOMAXPROCS suffix dropped).
var benchmarksAt9ce8a42 = []string{
	"BenchmarkCapture/case=distinct/impl=sentry-go",
	"BenchmarkCapture/case=distinct/impl=vigil",
	"BenchmarkCapture/case=storm/impl=sentry-go",
	"BenchmarkCapture/case=storm/impl=vigil",
	"BenchmarkGRPCUnary/impl=bare",
	"BenchmarkGRPCUnary/impl=otelgrpc+grpc-middleware",
	"BenchmarkGRPCUnary/impl=vigil",
	"BenchmarkHTTP/stack=full/impl=bare",
	"BenchmarkHTTP/stack=full/impl=otelhttp+promhttp+sentryhttp+slog",
	"BenchmarkHTTP/stack=full/impl=vigil",
	"BenchmarkHTTP/stack=metrics/impl=bare",
	"BenchmarkHTTP/stack=metrics/impl=promhttp",
	"BenchmarkHTTP/stack=metrics/impl=vigil",
	"BenchmarkLogging/attrs=5/impl=slog.JSONHandler",
	"BenchmarkLogging/attrs=5/impl=zap",
	"BenchmarkLogging/attrs=5/impl=vigil",
	"BenchmarkLogging/attrs=10/impl=slog.JSONHandler",
	"BenchmarkLogging/attrs=10/impl=zap",
	"BenchmarkLogging/attrs=10/impl=vigil",
	"BenchmarkMetrics/op=counter-bound/impl=client_golang",
	"BenchmarkMetrics/op=counter-bound/impl=vigil",
	"BenchmarkMetrics/op=counter-bound/impl=vigil+statsd",
	"BenchmarkMetrics/op=counter-labelled/impl=client_golang",
	"BenchmarkMetrics/op=counter-labelled/impl=vigil",
	"BenchmarkMetrics/op=counter-labelled/impl=vigil+statsd",
	"BenchmarkMetrics/op=histogram-bound/impl=client_golang",
	"BenchmarkMetrics/op=histogram-bound/impl=vigil",
	"BenchmarkMetrics/op=histogram-bound/impl=vigil+statsd",
	"BenchmarkStatsD/op=incr/keys=1/impl=datadog-go+aggregation",
	"BenchmarkStatsD/op=incr/keys=1/impl=datadog-go+extended-aggregation",
	"BenchmarkStatsD/op=incr/keys=1/impl=datadog-go",
	"BenchmarkStatsD/op=incr/keys=1/impl=vigil",
	"BenchmarkStatsD/op=incr/keys=1000/impl=datadog-go+aggregation",
	"BenchmarkStatsD/op=incr/keys=1000/impl=datadog-go+extended-aggregation",
	"BenchmarkStatsD/op=incr/keys=1000/impl=datadog-go",
	"BenchmarkStatsD/op=incr/keys=1000/impl=vigil",
	"BenchmarkStatsD/op=timer/keys=1/impl=datadog-go+aggregation",
	"BenchmarkStatsD/op=timer/keys=1/impl=datadog-go+extended-aggregation",
	"BenchmarkStatsD/op=timer/keys=1/impl=datadog-go",
	"BenchmarkStatsD/op=timer/keys=1/impl=vigil",
	"BenchmarkSpan/sampled=true/impl=otel-sdk",
	"BenchmarkSpan/sampled=true/impl=vigil",
	"BenchmarkSpan/sampled=false/impl=otel-sdk",
	"BenchmarkSpan/sampled=false/impl=vigil",
}

// TestCompareCoversOldResults checks the mapping against both sides: the targets
// compare.sh computes are exactly the old RESULTS.md's rows (under their name then),
// and every comparison is one run.sh runs today, with the impls it names.
func TestCompareCoversOldResults(t *testing.T) {
	var got []string
	for _, tg := range compareTargets(comparisons, targets) {
		name := tg.what
		if !slices.Contains(rowsAt9ce8a42, name) {
			name = tg.was
		}
		got = append(got, name)
	}
	for _, want := range rowsAt9ce8a42 {
		if !slices.Contains(got, want) {
			t.Errorf("no compared target for the old row %q", want)
		}
	}
	for _, g := range got {
		if !slices.Contains(rowsAt9ce8a42, g) {
			t.Errorf("compared target %q is not a row of the old RESULTS.md", g)
		}
	}
	if len(got) != len(rowsAt9ce8a42) {
		t.Errorf("%d targets compared, want %d: %q", len(got), len(rowsAt9ce8a42), got)
	}
	for _, c := range comparisons {
		i := slices.IndexFunc(groups, func(g group) bool { return g.bench == c.bench })
		if i < 0 {
			t.Errorf("%s: run.sh has no such group (renamed? map the new name)", c.bench)
			continue
		}
		for _, impl := range c.impls {
			if !slices.Contains(groups[i].impls, impl) {
				t.Errorf("%s: run.sh's group lacks impl=%s", c.bench, impl)
			}
		}
		for _, impl := range c.impls {
			if name := c.oldBench() + "/impl=" + impl; !slices.Contains(benchmarksAt9ce8a42, name) {
				t.Errorf("the binary at 9ce8a42 has no %s", name)
			}
		}
		if c.old != "" && c.note == "" {
			t.Errorf("%s: renamed from %s without a note saying why", c.bench, c.old)
		}
	}
}

// compareSample is two rounds of runCompare's output: the old binary names the HTTP
// benchmark without sink=; the machine is twice as slow in round 2.
const compareSample = `round: 1
side: old
goos: linux
cpu: X
BenchmarkHTTP/stack=full/impl=bare-2 	 100	 1000 ns/op	 500 B/op	 10 allocs/op
side: new
goos: linux
cpu: X
BenchmarkHTTP/stack=full/sink=discard/impl=bare-2 	 100	 1000 ns/op	 500 B/op	 10 allocs/op	 900 cpu-ns/op
side: new
BenchmarkHTTP/stack=full/sink=discard/impl=peer-2 	 100	 11000 ns/op	 5000 B/op	 90 allocs/op
side: old
BenchmarkHTTP/stack=full/impl=peer-2 	 100	 11000 ns/op	 5000 B/op	 90 allocs/op
side: old
BenchmarkHTTP/stack=full/impl=vigil-2 	 100	 3000 ns/op	 700 B/op	 14 allocs/op
side: new
BenchmarkHTTP/stack=full/sink=discard/impl=vigil-2 	 100	 3400 ns/op	 700 B/op	 15 allocs/op
side: old
BenchmarkSpan/sampled=true/impl=vigil-2 	 100	 400 ns/op
side: new
BenchmarkSpan/sampled=true/impl=vigil-2 	 100	 400 ns/op
side: old
BenchmarkSpan/sampled=true/impl=otel-sdk-2 	 100	 400 ns/op
side: new
BenchmarkSpan/sampled=true/impl=otel-sdk-2 	 100	 420 ns/op
load: 0.10 0.20
round: 2
side: new
BenchmarkHTTP/stack=full/sink=discard/impl=peer-2 	 100	 22000 ns/op	 5000 B/op	 90 allocs/op
side: old
BenchmarkHTTP/stack=full/impl=peer-2 	 100	 22000 ns/op	 5000 B/op	 90 allocs/op
side: old
BenchmarkHTTP/stack=full/impl=vigil-2 	 100	 6000 ns/op	 700 B/op	 14 allocs/op
side: new
BenchmarkHTTP/stack=full/sink=discard/impl=vigil-2 	 100	 6800 ns/op	 700 B/op	 15 allocs/op
side: new
BenchmarkHTTP/stack=full/sink=discard/impl=bare-2 	 100	 2000 ns/op	 500 B/op	 10 allocs/op
side: old
BenchmarkHTTP/stack=full/impl=bare-2 	 100	 2000 ns/op	 500 B/op	 10 allocs/op
side: new
BenchmarkSpan/sampled=true/impl=vigil-2 	 100	 800 ns/op
side: old
BenchmarkSpan/sampled=true/impl=vigil-2 	 100	 800 ns/op
side: new
BenchmarkSpan/sampled=true/impl=otel-sdk-2 	 100	 840 ns/op
side: old
BenchmarkSpan/sampled=true/impl=otel-sdk-2 	 100	 800 ns/op
load: 0.20 0.30
`

var testComparisons = []comparison{
	{bench: "BenchmarkHTTP/stack=full/sink=discard", old: "BenchmarkHTTP/stack=full", impls: []string{"bare", "peer", "vigil"},
		note: "a sink= level"},
	{bench: "BenchmarkSpan/sampled=true", impls: []string{"otel-sdk", "vigil"}},
}

func TestSplitSides(t *testing.T) {
	old, cur, err := splitSides(strings.NewReader(compareSample), testComparisons)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*run{old, cur} {
		if !slices.Equal(r.rounds, []int{1, 2}) || r.load[2] != [2]float64{0.2, 0.3} || r.config["cpu"] != "X" {
			t.Errorf("rounds %v, load %v, config %v", r.rounds, r.load, r.config)
		}
	}
	k := key{"BenchmarkHTTP/stack=full/sink=discard", "vigil", "ns/op"}
	if got := old.values(k); !slices.Equal(got, []float64{3000, 6000}) {
		t.Errorf("old vigil under its new name = %v", got)
	}
	if got := cur.values(k); !slices.Equal(got, []float64{3400, 6800}) {
		t.Errorf("new vigil = %v", got)
	}
	if n := len(old.samples[key{"BenchmarkHTTP/stack=full", "vigil", "ns/op"}]); n != 0 {
		t.Errorf("old name kept: %d samples", n)
	}
	if got := old.values(key{"BenchmarkSpan/sampled=true", "otel-sdk", "ns/op"}); !slices.Equal(got, []float64{400, 800}) {
		t.Errorf("old span peer = %v", got)
	}
	if got := cur.values(key{"BenchmarkHTTP/stack=full/sink=discard", "bare", "cpu-ns/op"}); !slices.Equal(got, []float64{900}) {
		t.Errorf("new cpu-ns/op = %v", got)
	}
	if _, _, err := splitSides(strings.NewReader("side: both\n"), testComparisons); err == nil {
		t.Error("an unknown side was accepted")
	}
}

func TestQuotient(t *testing.T) {
	for _, tc := range []struct {
		old, cur, want float64
		ok             bool
	}{
		{2, 3, 1.5, true},
		{0, 0, 1, true},
		{-1, -1, 1, true},
		{0, 1, math.Inf(1), true},
		{-0.1, 0.2, 0, false},
		{0, -0.1, 0, false},
	} {
		got, ok := quotient(tc.old, tc.cur)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("quotient(%v, %v) = %v, %v; want %v, %v", tc.old, tc.cur, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRenderCompare(t *testing.T) {
	old, cur, err := splitSides(strings.NewReader(compareSample), testComparisons)
	if err != nil {
		t.Fatal(err)
	}
	ts := []target{
		{what: "HTTP full", was: "HTTP full stack, overhead over bare", bench: "BenchmarkHTTP/stack=full/sink=discard",
			ours: "vigil", peer: "peer", floor: "bare", unit: "ns/op", max: 0.3},
		{what: "HTTP allocs", bench: "BenchmarkHTTP/stack=full/sink=discard", ours: "vigil", floor: "bare", unit: "allocs/op", max: 5},
		{what: "Span", bench: "BenchmarkSpan/sampled=true", ours: "vigil", peer: "otel-sdk", unit: "ns/op", max: 1.05},
		{what: "Span floor", bench: "BenchmarkSpan/sampled=true", ours: "vigil", peer: "otel-sdk", floor: "floor", unit: "ns/op", max: 1},
	}
	in := compareInput{old: old, cur: cur, oldRef: "`9ce8a42` (then)", newRef: "`abc1234`", cmd: "ROUNDS=2 benchmarks/compare.sh",
		oldVersions: "go.uber.org/zap v1.27.0\ngoogle.golang.org/grpc v1.85.0", newVers: "go.uber.org/zap v1.28.0\ngoogle.golang.org/grpc v1.85.0",
		date: time.Unix(0, 0).UTC(), published: map[string]string{"HTTP full stack, overhead over bare": "0.19", "Span": "1.00"}}
	var b strings.Builder
	if err := renderCompare(&b, in, testComparisons, ts); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# Before and after: `abc1234` against `9ce8a42` (then)",
		"**Noisy run** (2 rounds, load up to 0.30)",
		"- Command: `ROUNDS=2 benchmarks/compare.sh`",
		"| `go.uber.org/zap` | v1.27.0 | v1.28.0 (changed) |",
		"| `google.golang.org/grpc` | v1.85.0 | v1.85.0 |",
		"2 of 4 rows worse by more than 5%: HTTP full; HTTP allocs.",
		// (3000-1000)/(11000-1000) = 0.2 before, (3400-1000)/10000 = 0.24 after, in both
		// rounds although every time doubled in round 2.
		"| HTTP full (was: HTTP full stack, overhead over bare) | vigil | peer | bare | ns/op | 0.19 | 0.20 | 0.24 | 1.20 | 1.20 – 1.20 | 2 | **worse by 20%** |",
		"| HTTP allocs | vigil | (absolute) | bare | allocs/op | — | 4 | 5 | 1.25 | 1.25 – 1.25 | 2 | **worse by 25%** |",
		// 400/400 then 800/800 before; 400/420 then 800/840 after.
		"| Span | vigil | otel-sdk | — | ns/op | 1.00 | 1 | 0.95 | 0.95 | 0.95 – 0.95 | 2 | within 5% |",
		"| Span floor | vigil | otel-sdk | floor | ns/op | — | — | — | — | before: no ns/op sample for impl=floor",
		"### BenchmarkHTTP/stack=full/sink=discard (before: BenchmarkHTTP/stack=full)",
		"| vigil | 4.50 µs | 5.10 µs | 1.13 | 1.13 – 1.13 | 14 → 15 | 700 B → 700 B |",
		"| otel-sdk | 600 ns | 630 ns | 1.05 | 1.05 – 1.05 | — | — |",
		"- before `BenchmarkHTTP/stack=full` → after `BenchmarkHTTP/stack=full/sink=discard`: a sink= level.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestRunCompare runs rounds with two fake binaries: every variant runs once in each per
// round under that binary's name for it, which one goes first alternates, and a
// benchmark the old binary lacks stops the run with a pointer to the mapping.
func TestRunCompare(t *testing.T) {
	type call struct{ bin, pat string }
	var calls []call
	fake := func(_ context.Context, bin string, args []string) ([]byte, error) {
		pat := args[slices.Index(args, "-test.bench")+1]
		calls = append(calls, call{bin, pat})
		lines := map[string]string{
			"old.test " + `^BenchmarkHTTP$/^stack=full$/^impl=vigil$`:                "BenchmarkHTTP/stack=full/impl=vigil-2 \t 10\t 300 ns/op",
			"old.test " + `^BenchmarkHTTP$/^stack=full$/^impl=bare$`:                 "BenchmarkHTTP/stack=full/impl=bare-2 \t 10\t 100 ns/op",
			"new.test " + `^BenchmarkHTTP$/^stack=full$/^sink=discard$/^impl=vigil$`: "BenchmarkHTTP/stack=full/sink=discard/impl=vigil-2 \t 10\t 330 ns/op",
			"new.test " + `^BenchmarkHTTP$/^stack=full$/^sink=discard$/^impl=bare$`:  "BenchmarkHTTP/stack=full/sink=discard/impl=bare-2 \t 10\t 100 ns/op",
		}
		if l, ok := lines[bin+" "+pat]; ok {
			return []byte("goos: linux\n" + l + "\nPASS\n"), nil
		}
		return []byte("testing: warning: no tests to run\nPASS\n"), nil
	}
	cs := []comparison{{bench: "BenchmarkHTTP/stack=full/sink=discard", old: "BenchmarkHTTP/stack=full", impls: []string{"bare", "vigil"}}}
	var raw, log bytes.Buffer
	rn := &runner{bin: "new.test", rounds: 2, benchtime: "1x", timeout: time.Minute, log: &log, exec: fake}
	if err := rn.runCompare(context.Background(), "old.test", cs, &raw); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2*2*2 {
		t.Fatalf("%d processes, want 8: %v", len(calls), calls)
	}
	for i := 0; i < len(calls); i += 2 {
		if calls[i].bin == calls[i+1].bin {
			t.Errorf("processes %d and %d both ran %s", i, i+1, calls[i].bin)
		}
	}
	if calls[0].bin == calls[2].bin {
		t.Errorf("the same binary went first twice in a row: %v", calls)
	}
	old, cur, err := splitSides(&raw, cs)
	if err != nil {
		t.Fatal(err)
	}
	k := key{"BenchmarkHTTP/stack=full/sink=discard", "vigil", "ns/op"}
	if !slices.Equal(old.values(k), []float64{300, 300}) || !slices.Equal(cur.values(k), []float64{330, 330}) {
		t.Errorf("old %v, new %v\n%s", old.values(k), cur.values(k), raw.String())
	}

	cs[0].old = "BenchmarkHTTP/stack=everything"
	err = rn.runCompare(context.Background(), "old.test", cs, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "old binary has no BenchmarkHTTP/stack=everything/impl=") ||
		!strings.Contains(err.Error(), "compare.go") {
		t.Errorf("an unmapped old name: err = %v", err)
	}

	rn.exec = func(context.Context, string, []string) ([]byte, error) {
		return []byte("--- FAIL: BenchmarkHTTP\nFAIL\n"), errors.New("exit status 1")
	}
	if err := rn.runCompare(context.Background(), "old.test", cs, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "FAIL") {
		t.Errorf("a failing process: err = %v", err)
	}
}
