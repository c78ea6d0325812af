// Command report turns a `go test -bench` run of the benchmarks module into RESULTS.md:
// the machine, the versions, every target of the benchmarks issue as a ratio of our cost
// to the peer's with its spread, and benchstat's full comparison.
//
//	go run ./internal/report -raw raw.txt -benchstat stat.txt -versions versions.txt > RESULTS.md
//
// Ratios use medians; the spread is the ratio's range when our quartiles are set against
// the peer's (lower: our first quartile over the peer's third; upper: the reverse), so a
// spread that straddles the budget says the run cannot tell.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	rawPath := flag.String("raw", "", "go test -bench output (required)")
	statPath := flag.String("benchstat", "", "benchstat -col /impl output to include")
	versionsPath := flag.String("versions", "", "`go list -m` lines of the peer modules")
	cmdline := flag.String("cmd", "", "the command that produced -raw, for the record")
	flag.Parse()
	if *rawPath == "" {
		fmt.Fprintln(os.Stderr, "report: -raw is required")
		os.Exit(2)
	}
	raw, err := os.Open(*rawPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	run, err := parse(raw)
	raw.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	in := input{run: run, cmd: *cmdline, date: time.Now().UTC()}
	if *statPath != "" {
		b, err := os.ReadFile(*statPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		in.benchstat = string(b)
	}
	if *versionsPath != "" {
		b, err := os.ReadFile(*versionsPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		in.versions = strings.TrimSpace(string(b))
	}
	if err := render(os.Stdout, in, targets); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// run is what one `go test -bench` output holds.
type run struct {
	config  map[string]string // goos, goarch, cpu, pkg
	procs   int               // GOMAXPROCS, from the -N name suffix
	samples map[key][]float64
}

// key names one measured series: the benchmark path without impl=, the impl, the unit.
type key struct{ bench, impl, unit string }

var procsSuffix = regexp.MustCompile(`-(\d+)$`)

// parse reads the benchmark format: "name iterations value unit [value unit...]" lines,
// and "key: value" configuration lines.
func parse(r io.Reader) (*run, error) {
	out := &run{config: map[string]string{}, samples: map[key][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Benchmark") {
			if k, v, ok := strings.Cut(line, ": "); ok && !strings.ContainsAny(k, " \t") {
				out.config[k] = strings.TrimSpace(v)
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's name alone, printed before its own log output
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if m := procsSuffix.FindStringSubmatch(name); m != nil {
			out.procs, _ = strconv.Atoi(m[1])
			name = strings.TrimSuffix(name, m[0])
		}
		bench, impl := splitImpl(name)
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: value %q: %v", line, f[i], err)
			}
			k := key{bench, impl, f[i+1]}
			out.samples[k] = append(out.samples[k], v)
		}
	}
	return out, sc.Err()
}

// splitImpl takes the impl=X element out of a benchmark path.
func splitImpl(name string) (bench, impl string) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if v, ok := strings.CutPrefix(p, "impl="); ok {
			return strings.Join(slices.Delete(parts, i, i+1), "/"), v
		}
	}
	return name, ""
}

// stats are a sample's median and quartiles.
type stats struct{ q1, med, q3 float64 }

func summarize(xs []float64) (stats, bool) {
	if len(xs) == 0 {
		return stats{}, false
	}
	s := slices.Sorted(slices.Values(xs))
	return stats{quantile(s, 0.25), quantile(s, 0.5), quantile(s, 0.75)}, true
}

// quantile interpolates linearly between the closest ranks of sorted s.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// result is one target evaluated against a run.
type result struct {
	t                target
	value, lo, hi    float64 // ratio (or absolute value) and its spread
	missing          string  // why it could not be computed
	met              bool
	oursMed, peerMed float64
}

func evaluate(r *run, t target) result {
	res := result{t: t}
	get := func(impl string) (stats, bool) { return summarize(r.samples[key{t.bench, impl, t.unit}]) }
	ours, ok := get(t.ours)
	if !ok {
		res.missing = fmt.Sprintf("no %s sample for impl=%s (skipped or not run)", t.unit, t.ours)
		return res
	}
	var floor stats
	if t.floor != "" {
		if floor, ok = get(t.floor); !ok {
			res.missing = fmt.Sprintf("no %s sample for impl=%s", t.unit, t.floor)
			return res
		}
	}
	res.oursMed = ours.med
	if t.peer == "" {
		res.value = ours.med - floor.med
		res.lo, res.hi = ours.q1-floor.med, ours.q3-floor.med
		res.met = res.value <= t.max
		return res
	}
	peer, ok := get(t.peer)
	if !ok {
		res.missing = fmt.Sprintf("no %s sample for impl=%s", t.unit, t.peer)
		return res
	}
	res.peerMed = peer.med
	den := peer.med - floor.med
	if den <= 0 {
		res.missing = fmt.Sprintf("impl=%s costs no more than impl=%s here: no ratio", t.peer, t.floor)
		return res
	}
	res.value = (ours.med - floor.med) / den
	res.lo = (ours.q1 - floor.med) / math.Max(peer.q3-floor.med, math.SmallestNonzeroFloat64)
	res.hi = (ours.q3 - floor.med) / math.Max(peer.q1-floor.med, math.SmallestNonzeroFloat64)
	if peer.q1-floor.med <= 0 {
		res.hi = math.Inf(1)
	}
	res.met = res.value <= t.max
	return res
}

// input is everything render writes from.
type input struct {
	run       *run
	benchstat string
	versions  string
	cmd       string
	date      time.Time
}

func render(w io.Writer, in input, ts []target) error {
	var b strings.Builder
	b.WriteString("# Benchmarks: vigil against the libraries it replaces\n\n")
	b.WriteString("Generated by `benchmarks/run.sh` (do not edit by hand: change the benchmarks or\n")
	b.WriteString("`internal/report/targets.go`, then run it again).\n\n")
	b.WriteString("## Machine and versions\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", in.date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- CPU: %s; GOMAXPROCS %d; %d logical CPUs\n", orDash(in.run.config["cpu"]), in.run.procs, runtime.NumCPU())
	fmt.Fprintf(&b, "- OS/arch: %s/%s\n", orDash(in.run.config["goos"]), orDash(in.run.config["goarch"]))
	fmt.Fprintf(&b, "- Go: %s\n", runtime.Version())
	if in.cmd != "" {
		fmt.Fprintf(&b, "- Command: `%s`\n", in.cmd)
	}
	if in.versions != "" {
		b.WriteString("- Modules:\n\n")
		for _, l := range strings.Split(in.versions, "\n") {
			fmt.Fprintf(&b, "  - `%s`\n", strings.TrimSpace(l))
		}
	}
	b.WriteString("\n## Targets\n\n")
	b.WriteString("Ratio is our median over the peer's (of the overhead above `floor` where one is\n")
	b.WriteString("named); spread is the ratio's range from the two samples' quartiles. Absolute rows\n")
	b.WriteString("compare our value (over the floor) with the budget directly.\n\n")
	b.WriteString("| target | benchmark | ours | peer | floor | unit | ratio | spread | budget | met |\n")
	b.WriteString("|---|---|---|---|---|---|---:|---|---:|---|\n")
	var missed []result
	for _, t := range ts {
		r := evaluate(in.run, t)
		peer := t.peer
		if peer == "" {
			peer = "(absolute)"
		}
		ratio, spread, met := "—", r.missing, "not measured"
		if r.missing == "" {
			ratio = num(r.value)
			spread = num(r.lo) + " – " + num(r.hi)
			met = "yes"
			if !r.met {
				met = "**no**"
				missed = append(missed, r)
			}
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			t.what, t.bench, t.ours, peer, orDash(t.floor), t.unit, ratio, spread, num(t.max), met)
	}
	b.WriteString("\n## What limits the missed targets\n\n")
	if len(missed) == 0 {
		b.WriteString("Every measured target is met.\n")
	}
	for _, r := range missed {
		limit := r.t.limit
		if limit == "" {
			limit = fmt.Sprintf("Not analysed yet. Profile with `go test -run '^$' -bench '^%s$/^impl=%s$' -cpuprofile cpu.out -memprofile mem.out` and record the finding in `internal/report/targets.go`.",
				benchRegexp(r.t.bench), r.t.ours)
		}
		fmt.Fprintf(&b, "- **%s** (%s: measured %s, budget %s): %s\n", r.t.what, r.t.unit, num(r.value), num(r.t.max), limit)
	}
	if in.benchstat != "" {
		b.WriteString("\n## Every comparison (benchstat -col /impl)\n\n")
		b.WriteString("In each table the first impl is the base the others are compared with: the floor\n")
		b.WriteString("(`bare`) or the peer.\n")
		for _, sec := range sections(in.benchstat) {
			if sec.title != "" {
				fmt.Fprintf(&b, "\n### %s\n", sec.title)
			}
			fmt.Fprintf(&b, "\n```\n%s\n```\n", sec.body)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type section struct{ title, body string }

// sections splits benchstat output at "### title" lines (run.sh writes one per family).
func sections(text string) []section {
	var out []section
	cur := section{}
	var body []string
	flush := func() {
		cur.body = strings.TrimRight(strings.Join(body, "\n"), "\n")
		if cur.title != "" || strings.TrimSpace(cur.body) != "" {
			out = append(out, cur)
		}
		body = nil
	}
	for _, l := range strings.Split(text, "\n") {
		if t, ok := strings.CutPrefix(l, "### "); ok {
			flush()
			cur = section{title: strings.TrimSpace(t)}
			continue
		}
		if k, _, ok := strings.Cut(l, ": "); ok && (k == "goos" || k == "goarch" || k == "pkg" || k == "cpu") {
			continue // the machine section above says it once
		}
		body = append(body, l)
	}
	flush()
	return out
}

// benchRegexp turns a benchmark path into a -bench pattern (each element anchored).
func benchRegexp(bench string) string {
	parts := strings.Split(bench, "/")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return strings.Join(parts, "$/^")
}

func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case v == math.Trunc(v) && math.Abs(v) < 1e6:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
