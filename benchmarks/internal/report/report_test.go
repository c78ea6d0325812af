package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/vigil-go/vigil/benchmarks
cpu: AMD EPYC 7B13
BenchmarkHTTP/stack=full/impl=bare-2     	 100	  1000 ns/op	  500 B/op	  10 allocs/op
BenchmarkHTTP/stack=full/impl=bare-2     	 100	  1000 ns/op	  500 B/op	  10 allocs/op
BenchmarkHTTP/stack=full/impl=peer-2     	 100	 11000 ns/op	 5000 B/op	  90 allocs/op
BenchmarkHTTP/stack=full/impl=peer-2     	 100	 13000 ns/op	 5000 B/op	  90 allocs/op
BenchmarkHTTP/stack=full/impl=vigil-2    	 100	  3000 ns/op	  700 B/op	  14 allocs/op
BenchmarkHTTP/stack=full/impl=vigil-2    	 100	  3000 ns/op	  700 B/op	  14 allocs/op
BenchmarkSpan/sampled=true/impl=otel-sdk-2 	 1000	  400 ns/op
BenchmarkSpan/sampled=true/impl=vigil-2    	 1000	  440 ns/op
BenchmarkSkipped/impl=peer-2               	 1000	  440 ns/op
--- SKIP: BenchmarkSkipped/impl=vigil
PASS
`

func TestParse(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if r.procs != 2 || r.config["cpu"] != "AMD EPYC 7B13" || r.config["goos"] != "linux" {
		t.Errorf("procs %d, config %v", r.procs, r.config)
	}
	got := r.samples[key{"BenchmarkHTTP/stack=full", "peer", "ns/op"}]
	if len(got) != 2 || got[0] != 11000 || got[1] != 13000 {
		t.Errorf("peer ns/op samples = %v", got)
	}
	if got := r.samples[key{"BenchmarkHTTP/stack=full", "vigil", "allocs/op"}]; len(got) != 2 || got[0] != 14 {
		t.Errorf("vigil allocs samples = %v", got)
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
		value   float64
		met     bool
		missing bool
		lo, hi  float64
	}{
		{"overhead ratio", target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", peer: "peer", floor: "bare", unit: "ns/op", max: 0.3},
			// (3000-1000)/(12000-1000); quartiles of peer are 11500 and 12500.
			2000.0 / 11000, true, false, 2000.0 / 11500, 2000.0 / 10500},
		{"allocation ratio", target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", peer: "peer", floor: "bare", unit: "allocs/op", max: 0.03},
			4.0 / 80, false, false, 4.0 / 80, 4.0 / 80},
		{"plain ratio", target{bench: "BenchmarkSpan/sampled=true", ours: "vigil", peer: "otel-sdk", unit: "ns/op", max: 1.05},
			1.1, false, false, 1.1, 1.1},
		{"absolute", target{bench: "BenchmarkHTTP/stack=full", ours: "vigil", floor: "bare", unit: "allocs/op", max: 4},
			4, true, false, 4, 4},
		{"skipped", target{bench: "BenchmarkSkipped", ours: "vigil", peer: "peer", unit: "ns/op", max: 1},
			0, false, true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := evaluate(r, tc.t)
			if (res.missing != "") != tc.missing {
				t.Fatalf("missing = %q", res.missing)
			}
			if tc.missing {
				return
			}
			if !near(res.value, tc.value) || res.met != tc.met || !near(res.lo, tc.lo) || !near(res.hi, tc.hi) {
				t.Errorf("got %v [%v, %v] met=%v, want %v [%v, %v] met=%v", res.value, res.lo, res.hi, res.met, tc.value, tc.lo, tc.hi, tc.met)
			}
		})
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
	}
	var b strings.Builder
	if err := render(&b, input{run: r, benchstat: "### BenchmarkHTTP\nname  old  new\n### BenchmarkSpan\nspan table\n", versions: "go.uber.org/zap v1.28.0", date: time.Unix(0, 0)}, ts); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"CPU: AMD EPYC 7B13; GOMAXPROCS 2",
		"`go.uber.org/zap v1.28.0`",
		"| HTTP full | `BenchmarkHTTP/stack=full` | vigil | peer | bare | ns/op | 0.18 | 0.17 – 0.19 | 0.30 | yes |",
		"| Span | `BenchmarkSpan/sampled=true` | vigil | otel-sdk | — | ns/op | 1.10 | 1.10 – 1.10 | 1.05 | **no** |",
		"no ns/op sample for impl=vigil (skipped or not run)",
		"- **Span** (ns/op: measured 1.10, budget 1.05): the SDK's own span allocation",
		"### BenchmarkHTTP\n\n```\nname  old  new\n```\n",
		"### BenchmarkSpan\n\n```\nspan table\n```\n",
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
	if got := benchRegexp("BenchmarkStatsD/op=incr/keys=1"); got != "BenchmarkStatsD$/^op=incr$/^keys=1" {
		t.Errorf("got %q", got)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
