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

// sample is three rounds in which the machine gets slower and slower: every impl's
// time doubles from one round to the next, and the paired ratio stays the same.
const sample = `goos: linux
goarch: amd64
pkg: github.com/vigil-go/vigil/benchmarks
cpu: AMD EPYC 7B13
round: 1
BenchmarkHTTP/stack=full/impl=bare-2     	 100	  1000 ns/op	  500 B/op	  10 allocs/op
BenchmarkHTTP/stack=full/impl=peer-2     	 100	 11000 ns/op	 5000 B/op	  90 allocs/op
BenchmarkHTTP/stack=full/impl=vigil-2    	 100	  3000 ns/op	  700 B/op	  14 allocs/op
BenchmarkSpan/sampled=true/impl=otel-sdk-2 	 1000	  400 ns/op	 500 cpu-ns/op
BenchmarkSpan/sampled=true/impl=vigil-2    	 1000	  440 ns/op	 450 cpu-ns/op
load: 0.50 0.70
round: 2
BenchmarkHTTP/stack=full/impl=peer-2     	 100	 22000 ns/op	 5000 B/op	  90 allocs/op
BenchmarkHTTP/stack=full/impl=vigil-2    	 100	  6000 ns/op	  700 B/op	  14 allocs/op
BenchmarkHTTP/stack=full/impl=bare-2     	 100	  2000 ns/op	  500 B/op	  10 allocs/op
BenchmarkSpan/sampled=true/impl=vigil-2    	 1000	  880 ns/op	 900 cpu-ns/op
BenchmarkSpan/sampled=true/impl=otel-sdk-2 	 1000	  800 ns/op	 1000 cpu-ns/op
load: 0.70 1.90
round: 3
BenchmarkHTTP/stack=full/impl=vigil-2    	 100	 12000 ns/op	  700 B/op	  14 allocs/op
BenchmarkHTTP/stack=full/impl=bare-2     	 100	  4000 ns/op	  500 B/op	  10 allocs/op
BenchmarkHTTP/stack=full/impl=peer-2     	 100	 44000 ns/op	 5000 B/op	  90 allocs/op
BenchmarkSpan/sampled=true/impl=otel-sdk-2 	 1000	  1600 ns/op
load: 1.90 1.10
`

func TestParse(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if r.procs != 2 || r.config["cpu"] != "AMD EPYC 7B13" || r.config["goos"] != "linux" {
		t.Errorf("procs %d, config %v", r.procs, r.config)
	}
	if !slices.Equal(r.rounds, []int{1, 2, 3}) {
		t.Errorf("rounds %v", r.rounds)
	}
	if got := r.values(key{"BenchmarkHTTP/stack=full", "peer", "ns/op"}); !slices.Equal(got, []float64{11000, 22000, 44000}) {
		t.Errorf("peer ns/op = %v", got)
	}
	if got := r.values(key{"BenchmarkSpan/sampled=true", "vigil", "ns/op"}); !slices.Equal(got, []float64{440, 880}) {
		t.Errorf("span vigil = %v (round 3 has none)", got)
	}
	if r.load[2] != [2]float64{0.7, 1.9} {
		t.Errorf("load %v", r.load)
	}
	if got := loadRange(r); got != "0.50 – 1.90" {
		t.Errorf("loadRange = %q", got)
	}
}

// TestParseWithoutRounds reads a plain -count run as one round per repetition.
func TestParseWithoutRounds(t *testing.T) {
	r, err := parse(strings.NewReader(`BenchmarkX/impl=a-2 	 10	 100 ns/op
BenchmarkX/impl=b-2 	 10	 50 ns/op
BenchmarkX/impl=a-2 	 10	 200 ns/op
BenchmarkX/impl=b-2 	 10	 100 ns/op
`))
	if err != nil {
		t.Fatal(err)
	}
	res := evaluate(r, target{bench: "BenchmarkX", ours: "b", peer: "a", unit: "ns/op", max: 1})
	if res.missing != "" || res.s.n != 2 || res.s.med != 0.5 || res.s.min != 0.5 || res.s.max != 0.5 {
		t.Errorf("%+v", res)
	}
}

func TestEvaluate(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		t       target
		med     float64
		n       int
		met     bool
		missing bool
	}{
		// (3000-1000)/(11000-1000) in every round although every time doubles: paired
		// ratios do not move with the load.
		{"overhead ratio", target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", peer: "peer", floor: "bare", unit: "ns/op", max: 0.3},
			0.2, 3, true, false},
		{"allocation ratio", target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", peer: "peer", floor: "bare", unit: "allocs/op", max: 0.03},
			4.0 / 80, 3, false, false},
		{"plain ratio, only rounds with both", target{bench: "BenchmarkSpan/sampled=true", ours: "vigil", peer: "otel-sdk", unit: "ns/op", max: 1.05},
			1.1, 2, false, false},
		{"absolute over floor", target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", floor: "bare", unit: "allocs/op", max: 4},
			4, 3, true, false},
		{"absolute, ours alone", target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", unit: "ns/op", info: true},
			6000, 3, true, false},
		// (3000-1000)/(400+440) in round 1, (6000-2000)/(800+880) in round 2; round 3 has
		// no vigil span sample.
		{"sum of parts", target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", floor: "bare", partsBench: "BenchmarkSpan/sampled=true",
			parts: []string{"otel-sdk", "vigil"}, unit: "ns/op", info: true},
			2000.0 / 840, 2, true, false},
		{"missing", target{bench: "BenchmarkSkipped", ours: "vigil", peer: "peer", unit: "ns/op", max: 1},
			0, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := evaluate(r, tc.t)
			if (res.missing != "") != tc.missing {
				t.Fatalf("missing = %q", res.missing)
			}
			if tc.missing {
				return
			}
			if !near(res.s.med, tc.med) || res.s.n != tc.n || res.met != tc.met {
				t.Errorf("got median %v over %d rounds, met=%v; want %v over %d, met=%v", res.s.med, res.s.n, res.met, tc.med, tc.n, tc.met)
			}
		})
	}
	// Raw vigil times spread 4x over the rounds; the paired ratio does not spread at all.
	res := evaluate(r, target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", peer: "peer", floor: "bare", unit: "ns/op", max: 1})
	if res.s.min != res.s.max {
		t.Errorf("paired ratio spread %v – %v, want none", res.s.min, res.s.max)
	}
}

func TestSchedule(t *testing.T) {
	gs := []group{{bench: "A", impls: []string{"x", "y", "z"}}, {bench: "B", impls: []string{"p", "q"}}}
	for r := 1; r <= 4; r++ {
		s := schedule(gs, r)
		var got []string
		for _, v := range s {
			got = append(got, v.g.bench+"/"+v.impl)
		}
		if len(got) != 5 || got[0][0] != 'A' || got[3][0] != 'B' {
			t.Fatalf("round %d: %v", r, got)
		}
		first := []string{"A/y", "A/z", "A/x", "A/y"}[r-1]
		if got[0] != first {
			t.Errorf("round %d starts with %s, want %s (rotation)", r, got[0], first)
		}
		seen := map[string]bool{}
		for _, g := range got {
			seen[g] = true
		}
		if len(seen) != 5 {
			t.Errorf("round %d runs some impl twice: %v", r, got)
		}
	}
}

// TestRunner runs rounds with a fake test binary and checks the raw output: each variant
// once per round with its own -test.bench pattern, a variant the binary lacks left out,
// a failing process stopping the run.
func TestRunner(t *testing.T) {
	gs := []group{
		{bench: "BenchmarkA/op=x", impls: []string{"peer", "vigil+c"}},
		{bench: "BenchmarkSlot", impls: []string{"vigil"}, benchtime: "1x"},
	}
	var calls [][]string
	fake := func(_ context.Context, _ string, args []string) ([]byte, error) {
		calls = append(calls, args)
		pat := args[slices.Index(args, "-test.bench")+1]
		switch pat {
		case `^BenchmarkA$/^op=x$/^impl=peer$`:
			return []byte("goos: linux\ncpu: X\nBenchmarkA/op=x/impl=peer-2 \t 10\t 200 ns/op\t 0 B/op\t 0 allocs/op\nPASS\n"), nil
		case `^BenchmarkA$/^op=x$/^impl=vigil\+c$`:
			return []byte("goos: linux\nBenchmarkA/op=x/impl=vigil+c-2 \t 10\t 100 ns/op\t 0 B/op\t 0 allocs/op\nPASS\n"), nil
		}
		return []byte("testing: warning: no tests to run\nPASS\n"), nil
	}
	var raw, log bytes.Buffer
	rn := &runner{bin: "bench.test", rounds: 3, benchtime: "100ms", timeout: time.Minute, log: &log, exec: fake}
	if err := rn.runAll(context.Background(), gs, &raw); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3*2+1 {
		t.Errorf("%d processes, want 7 (the missing slot tried once): %v", len(calls), calls)
	}
	for _, c := range calls {
		if slices.Contains(c, `^BenchmarkSlot$/^impl=vigil$`) && c[slices.Index(c, "-test.benchtime")+1] != "1x" {
			t.Errorf("group benchtime not used: %v", c)
		}
	}
	rawText := raw.String()
	r, err := parse(strings.NewReader(rawText))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.rounds) != 3 || strings.Count(rawText, "goos:") != 1 {
		t.Errorf("raw output:\n%s", rawText)
	}
	res := evaluate(r, target{bench: "BenchmarkA/op=x", ours: "vigil+c", peer: "peer", unit: "ns/op", max: 1})
	if res.s.n != 3 || res.s.med != 0.5 {
		t.Errorf("%+v\n%s", res, rawText)
	}
	if !strings.Contains(log.String(), "no result for BenchmarkSlot/impl=vigil") {
		t.Errorf("log: %s", log.String())
	}

	failing := func(context.Context, string, []string) ([]byte, error) {
		return []byte("--- FAIL: BenchmarkA\nFAIL\n"), errors.New("exit status 1")
	}
	rn.exec = failing
	if err := rn.runAll(context.Background(), gs, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "FAIL") {
		t.Errorf("a failing process: err = %v", err)
	}
}

func TestRender(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	ts := []target{
		{what: "HTTP full", bench: "BenchmarkHTTP/stack=full", ours: "vigil", peer: "peer", floor: "bare", unit: "ns/op", max: 0.3},
		{what: "Span", bench: "BenchmarkSpan/sampled=true", ours: "vigil", peer: "otel-sdk", unit: "ns/op", max: 1.05,
			limit: "the SDK's own span allocation"},
		{what: "Skipped", bench: "BenchmarkSkipped", ours: "vigil", peer: "peer", unit: "ns/op", max: 1},
		{what: "Warm", bench: "BenchmarkHTTP/stack=full", ours: "vigil", unit: "ns/op", info: true},
	}
	gs := []group{{bench: "BenchmarkHTTP/stack=full", impls: []string{"bare", "peer", "vigil"}}}
	var b strings.Builder
	if err := render(&b, input{run: r, versions: "go.uber.org/zap v1.28.0", date: time.Unix(0, 0).UTC(), took: time.Minute}, gs, ts); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"3 rounds.",
		"- Date: 1970-01-01 00:00 UTC (took 1m0s)",
		"CPU: AMD EPYC 7B13; GOMAXPROCS 2",
		"Load average (1 min) around the rounds: 0.50 – 1.90",
		"`go.uber.org/zap v1.28.0`",
		"| HTTP full | vigil | peer | bare | ns/op | 0.20 | 0.20 – 0.20 | 0.20 – 0.20 | 3 | 0.30 | yes |  |",
		"| Span | vigil | otel-sdk | — | ns/op | 1.10 | 1.10 – 1.10 | 1.10 – 1.10 | 2 | 1.05 | **no** | 0.90 |",
		"no ns/op sample for impl=vigil",
		"| Warm | vigil | (absolute) | — | ns/op | 6 µs | 4.50 µs – 9 µs | 3 µs – 12 µs | 3 | — | (for the record) |  |",
		"- **Span** (ns/op: median 1.10, budget 1.05): the SDK's own span allocation",
		"### BenchmarkHTTP/stack=full",
		"| vigil | 6 µs [3 µs – 12 µs] | 700 B | 14 | 4 µs |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "**HTTP full**") {
		t.Errorf("a met target is listed as missed:\n%s", out)
	}
}

func TestBenchRegexp(t *testing.T) {
	if got := benchRegexp("BenchmarkStatsD/op=incr/impl=datadog-go+aggregation"); got != `^BenchmarkStatsD$/^op=incr$/^impl=datadog-go\+aggregation$` {
		t.Errorf("got %q", got)
	}
}

// TestTargetsHaveGroups checks that every impl a target needs is run by a group.
func TestTargetsHaveGroups(t *testing.T) {
	for _, tg := range targets {
		i := slices.IndexFunc(groups, func(g group) bool { return g.bench == tg.bench })
		if i < 0 {
			t.Errorf("%q: no group runs %s", tg.what, tg.bench)
			continue
		}
		for _, impl := range []string{tg.ours, tg.peer, tg.floor} {
			if impl != "" && !slices.Contains(groups[i].impls, impl) {
				t.Errorf("%q: group %s lacks impl=%s", tg.what, tg.bench, impl)
			}
		}
		if tg.partsBench != "" {
			j := slices.IndexFunc(groups, func(g group) bool { return g.bench == tg.partsBench })
			for _, p := range tg.parts {
				if j < 0 || !slices.Contains(groups[j].impls, p) {
					t.Errorf("%q: no group runs %s/impl=%s", tg.what, tg.partsBench, p)
				}
			}
		}
		if !tg.info && tg.max <= 0 && tg.unit == "ns/op" {
			t.Errorf("%q: a time budget of %v", tg.what, tg.max)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestReadBefore(t *testing.T) {
	old := `# Benchmarks

- Date: 2026-12-02 12:29 UTC
| target | benchmark | ours | peer | floor | unit | ratio | spread | budget | met |
|---|---|---|---|---|---|---:|---|---:|---|
| HTTP full stack, overhead over bare | ` + "`BenchmarkHTTP/stack=full`" + ` | vigil | p | bare | ns/op | 0.54 | 0.44 – 0.56 | 0.30 | **no** |
| Span start+end, sampled | ` + "`BenchmarkSpan/sampled=true`" + ` | vigil | otel-sdk | — | ns/op | 0.88 | 0.81 – 0.95 | 1.05 | yes |

| impl | ns/op |
|---|---|
| bare | 1 |
`
	got := readBefore(old)
	if len(got) != 2 || got["HTTP full stack, overhead over bare"] != "0.54" || got["Span start+end, sampled"] != "0.88" {
		t.Errorf("readBefore = %v", got)
	}
	if d := readBeforeDate(old); d != "2026-12-02 12:29 UTC" {
		t.Errorf("readBeforeDate = %q", d)
	}
	r, _ := parse(strings.NewReader(sample))
	var b strings.Builder
	ts := []target{{what: "HTTP full", was: "HTTP full stack, overhead over bare", bench: "BenchmarkHTTP/stack=full", ours: "vigil", peer: "peer", floor: "bare", unit: "ns/op", max: 0.3}}
	if err := render(&b, input{run: r, before: got, beforeDate: "then"}, nil, ts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| 0.30 | yes |  | 0.54 |") || !strings.Contains(b.String(), "replaced (then)") {
		t.Errorf("no before column:\n%s", b.String())
	}
}
