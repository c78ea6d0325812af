// Command report measures the benchmarks module in rounds and writes RESULTS.md: the
// machine, the versions, every target of the benchmarks issues as a paired ratio with
// its median and spread over the rounds, and each comparison's medians.
//
//	go test -c -o bench.test .
//	go run ./internal/report -bin ./bench.test -rounds 12 -raw raw.txt > RESULTS.md
//	go run ./internal/report -raw raw.txt > RESULTS.md   # render an earlier run again
//
// Each round runs every impl of every group (targets.go) once, each in a fresh process
// of the test binary, so that no measurement depends on what ran before it in the same
// process. A target is computed within each round, against that round's floor and
// peer, and then summarized: the median over the rounds, the interquartile range and
// the extremes. Load that slows one round slows the peer and the floor of that round
// too, so a paired ratio is far steadier than the raw times it comes from.
package main

import (
	"context"
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
	rawPath := flag.String("raw", "", "benchmark output: written by the rounds with -bin, else read (required)")
	bin := flag.String("bin", "", "compiled test binary to run the rounds with (go test -c)")
	rounds := flag.Int("rounds", 12, "rounds to run with -bin")
	benchtime := flag.String("benchtime", "300ms", "-test.benchtime of each process, for groups that set none")
	only := flag.String("only", "", "run only the groups whose benchmark path matches this regexp")
	versionsPath := flag.String("versions", "", "`go list -m` lines of the peer modules")
	beforePath := flag.String("before", "", "an earlier RESULTS.md: its values are shown beside the new ones")
	cmdline := flag.String("cmd", "", "the command that produced the results, for the record")
	compare := flag.Bool("compare", false, "before and after (compare.sh): run -old-bin and -bin side by side and write BEFORE-AFTER.md")
	oldBin := flag.String("old-bin", "", "with -compare: the old ref's compiled test binary")
	oldVersions := flag.String("old-versions", "", "with -compare: `go list -m` lines of the old ref's peer modules")
	oldRef := flag.String("old-ref", "", "with -compare: what the old binary was built from, for the record")
	newRef := flag.String("new-ref", "", "with -compare: what the new binary was built from, for the record")
	flag.Parse()
	if *rawPath == "" {
		fail(fmt.Errorf("-raw is required"))
	}
	started := time.Now().UTC()
	if *compare {
		in := compareInput{oldRef: *oldRef, newRef: *newRef, cmd: *cmdline, date: started}
		err := compareMain(&in, *rawPath, *bin, *oldBin, *rounds, *benchtime, *only)
		if err == nil {
			in.oldVersions, err = readOptional(*oldVersions)
		}
		if err == nil {
			in.newVers, err = readOptional(*versionsPath)
		}
		if err == nil && *beforePath != "" {
			var b string
			if b, err = readOptional(*beforePath); err == nil {
				in.published = readBefore(b)
			}
		}
		if err == nil {
			err = renderCompare(os.Stdout, in, filterComparisons(comparisons, *only), compareTargets(filterComparisons(comparisons, *only), targets))
		}
		if err != nil {
			fail(err)
		}
		return
	}
	if *bin != "" {
		gs := groups
		if *only != "" {
			re, err := regexp.Compile(*only)
			if err != nil {
				fail(err)
			}
			gs = slices.DeleteFunc(slices.Clone(gs), func(g group) bool { return !re.MatchString(g.bench) })
		}
		f, err := os.Create(*rawPath)
		if err != nil {
			fail(err)
		}
		rn := &runner{bin: *bin, rounds: *rounds, benchtime: *benchtime, timeout: 10 * time.Minute, log: os.Stderr, exec: execTest}
		err = rn.runAll(context.Background(), gs, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fail(err)
		}
	}
	raw, err := os.Open(*rawPath)
	if err != nil {
		fail(err)
	}
	run, err := parse(raw)
	raw.Close()
	if err != nil {
		fail(err)
	}
	in := input{run: run, cmd: *cmdline, date: started, took: time.Since(started)}
	if *bin == "" {
		in.took = 0
	}
	if *versionsPath != "" {
		b, err := os.ReadFile(*versionsPath)
		if err != nil {
			fail(err)
		}
		in.versions = strings.TrimSpace(string(b))
	}
	if *beforePath != "" {
		if b, err := os.ReadFile(*beforePath); err == nil {
			in.before = readBefore(string(b))
			in.beforeDate = readBeforeDate(string(b))
		}
	}
	if err := render(os.Stdout, in, groups, targets); err != nil {
		fail(err)
	}
}

// compareMain runs the rounds of both binaries into rawPath when bin is set, then reads
// rawPath into in's two runs.
func compareMain(in *compareInput, rawPath, bin, oldBin string, rounds int, benchtime, only string) error {
	cs := filterComparisons(comparisons, only)
	if len(cs) == 0 {
		return fmt.Errorf("-only %q matches no comparison", only)
	}
	if bin != "" {
		if oldBin == "" {
			return fmt.Errorf("-compare with -bin needs -old-bin")
		}
		f, err := os.Create(rawPath)
		if err != nil {
			return err
		}
		rn := &runner{bin: bin, rounds: rounds, benchtime: benchtime, timeout: 10 * time.Minute, log: os.Stderr, exec: execTest}
		err = rn.runCompare(context.Background(), oldBin, cs, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		in.took = time.Since(in.date)
	}
	raw, err := os.Open(rawPath)
	if err != nil {
		return err
	}
	defer raw.Close()
	in.old, in.cur, err = splitSides(raw, cs)
	return err
}

// filterComparisons keeps the comparisons whose new benchmark path matches the regexp
// only (all of them when it is empty; none when it does not compile).
func filterComparisons(cs []comparison, only string) []comparison {
	if only == "" {
		return cs
	}
	re, err := regexp.Compile(only)
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(slices.Clone(cs), func(c comparison) bool { return !re.MatchString(c.bench) })
}

// readOptional is the file's content, or "" when path is "".
func readOptional(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

// result is one target evaluated over the rounds.
type result struct {
	t       target
	s       stats  // of the per-round values
	missing string // why it could not be computed
	met     bool
}

func evaluate(r *run, t target) result {
	res := result{t: t}
	_, vals, missing := series(r, t)
	if missing != "" {
		res.missing = missing
		return res
	}
	s, ok := summarize(vals)
	if !ok {
		res.missing = fmt.Sprintf("no round where impl=%s costs more than impl=%s", t.peer, t.floor)
		return res
	}
	res.s = s
	res.met = t.info || s.med <= t.max
	return res
}

// series is target t's value in each round that has every sample it needs, with the
// round of each value, or why there is none at all.
func series(r *run, t target) (rounds []int, vals []float64, missing string) {
	k := func(impl string) key { return key{t.bench, impl, t.unit} }
	keys := []key{k(t.ours)}
	for _, impl := range []string{t.peer, t.floor} {
		if impl != "" {
			keys = append(keys, k(impl))
		}
	}
	nfixed := len(keys) // ours, peer, floor; then the parts
	for _, p := range t.parts {
		keys = append(keys, key{t.partsBench, p, t.unit})
	}
	for _, kk := range keys {
		if len(r.samples[kk]) == 0 {
			return nil, nil, fmt.Sprintf("no %s sample for impl=%s (not in the binary, skipped or not run)", t.unit, kk.impl)
		}
	}
	rounds, vals = r.pairedRounds(keys, func(v []float64) (float64, bool) {
		ours, floor := v[0], 0.0
		if t.floor != "" {
			floor = v[nfixed-1]
		}
		if len(t.parts) > 0 {
			sum := 0.0
			for _, x := range v[nfixed:] {
				sum += x
			}
			if sum <= 0 {
				return 0, false
			}
			return (ours - floor) / sum, true
		}
		if t.peer == "" {
			if t.per > 0 {
				return (ours - floor) / t.per, true
			}
			return ours - floor, true
		}
		den := v[1] - floor
		if den <= 0 {
			return 0, false
		}
		return (ours - floor) / den, true
	})
	return rounds, vals, ""
}

// input is everything render writes from.
type input struct {
	run      *run
	versions string
	cmd      string
	date     time.Time
	took     time.Duration
	// before maps a target's name to its value in an earlier RESULTS.md.
	before     map[string]string
	beforeDate string
}

// readBefore reads the targets table of an earlier RESULTS.md (this format, or the one
// before rounds, whose value column was "ratio"): each row's name and value.
func readBefore(md string) map[string]string {
	out := map[string]string{}
	col := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			col = -1
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if cells[0] == "target" {
			col = slices.IndexFunc(cells, func(c string) bool { return c == "median" || c == "ratio" })
			continue
		}
		if col > 0 && col < len(cells) && !strings.HasPrefix(cells[0], "---") && cells[col] != "—" {
			out[cells[0]] = cells[col]
		}
	}
	return out
}

// readBeforeDate is the "- Date: " line of an earlier RESULTS.md.
func readBeforeDate(md string) string {
	for _, line := range strings.Split(md, "\n") {
		if d, ok := strings.CutPrefix(line, "- Date: "); ok {
			d, _, _ = strings.Cut(d, " (")
			return d
		}
	}
	return ""
}

func render(w io.Writer, in input, gs []group, ts []target) error {
	var b strings.Builder
	r := in.run
	b.WriteString("# Benchmarks: vigil against the libraries it replaces\n\n")
	b.WriteString("Generated by `benchmarks/run.sh` (do not edit by hand: change the benchmarks or\n")
	b.WriteString("`internal/report/targets.go`, then run it again on an idle machine).\n\n")
	b.WriteString("## How it was measured\n\n")
	fmt.Fprintf(&b, "%d round%s. In every round each impl of each comparison ran once, in a fresh\n", len(r.rounds), plural(len(r.rounds)))
	b.WriteString("process of the compiled test binary, the impls of a comparison one after another (their\n")
	b.WriteString("order rotating from round to round). Each target is computed within a round, from that\n")
	b.WriteString("round's processes (paired), and the table gives the median over the rounds, the\n")
	b.WriteString("interquartile range and the extremes. A ratio with a floor is of overheads:\n")
	b.WriteString("(ours − floor) ÷ (peer − floor). Times are wall time per op (ns/op); the last column\n")
	b.WriteString("gives the same median from the process's CPU time per op (cpu-ns/op: every thread,\n")
	b.WriteString("so work a stack hands to another goroutine counts, and time spent waiting for a core\n")
	b.WriteString("does not).\n\n")
	b.WriteString("## Machine and versions\n\n")
	fmt.Fprintf(&b, "- Date: %s", in.date.Format("2006-01-02 15:04 MST"))
	if in.took > 0 {
		fmt.Fprintf(&b, " (took %s)", in.took.Round(time.Second))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- CPU: %s; GOMAXPROCS %d; %d logical CPUs\n", orDash(r.config["cpu"]), r.procs, runtime.NumCPU())
	fmt.Fprintf(&b, "- OS/arch: %s/%s\n", orDash(r.config["goos"]), orDash(r.config["goarch"]))
	fmt.Fprintf(&b, "- Go: %s\n", runtime.Version())
	if loads := loadRange(r); loads != "" {
		fmt.Fprintf(&b, "- Load average (1 min) around the rounds: %s\n", loads)
	}
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
	if in.before != nil {
		fmt.Fprintf(&b, "\"before\" is the median (or ratio) in the RESULTS.md this run replaced (%s).\n\n", orDash(in.beforeDate))
	}
	b.WriteString("| target | ours | vs | over | unit | median | IQR | min – max | rounds | budget | met | by CPU time |")
	if in.before != nil {
		b.WriteString(" before |")
	}
	b.WriteString("\n|---|---|---|---|---|---:|---|---|---:|---:|---|---:|")
	if in.before != nil {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	before := func(t target) string {
		if in.before == nil {
			return ""
		}
		v, ok := in.before[t.what]
		if !ok && t.was != "" {
			v, ok = in.before[t.was]
		}
		if !ok {
			v = "—"
		}
		return " " + v + " |"
	}
	var missed []result
	for _, t := range ts {
		res := evaluate(r, t)
		vs := t.peer
		switch {
		case len(t.parts) > 0:
			vs = "Σ " + strings.Join(t.parts, " + ")
		case vs == "":
			vs = "(absolute)"
		}
		budget := num(t.max)
		if t.info {
			budget = "—"
		}
		if res.missing != "" {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | — | %s | | | %s | not measured | |%s\n",
				t.what, t.ours, vs, orDash(t.floor), t.unit, res.missing, budget, before(t))
			continue
		}
		met := "yes"
		switch {
		case t.info:
			met = "(for the record)"
		case !res.met:
			met = "**no**"
			missed = append(missed, res)
		case res.s.q3 > t.max:
			met = "yes (IQR straddles)"
		}
		f := num
		if t.peer == "" && len(t.parts) == 0 {
			f = func(v float64) string { return human(v, t.unit) }
		}
		byCPU := ""
		if t.unit == "ns/op" {
			ct := t
			ct.unit = "cpu-ns/op"
			if cr := evaluate(r, ct); cr.missing == "" {
				byCPU = f(cr.s.med)
				if t.peer == "" && len(t.parts) == 0 {
					byCPU = human(cr.s.med, ct.unit)
				}
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s – %s | %s – %s | %d | %s | %s | %s |%s\n",
			t.what, t.ours, vs, orDash(t.floor), t.unit, f(res.s.med), f(res.s.q1), f(res.s.q3),
			f(res.s.min), f(res.s.max), res.s.n, budget, met, byCPU, before(t))
	}
	b.WriteString("\n## What limits the missed targets\n\n")
	if len(missed) == 0 {
		b.WriteString("Every measured target is met.\n")
	}
	for _, res := range missed {
		limit := res.t.limit
		if limit == "" {
			limit = fmt.Sprintf("Not analysed yet. Profile with `go test -run '^$' -bench '%s' -cpuprofile cpu.out -memprofile mem.out` and record the finding in `internal/report/targets.go`.",
				benchRegexp(res.t.bench+"/impl="+res.t.ours))
		}
		fmt.Fprintf(&b, "- **%s** (%s: median %s, budget %s): %s\n", res.t.what, res.t.unit, num(res.s.med), num(res.t.max), limit)
	}
	b.WriteString("\n## Every comparison\n\n")
	b.WriteString("Medians over the rounds, with the extremes in brackets; \"over base\" is the paired\n")
	b.WriteString("median of each impl's cost minus the first impl's (the floor or the peer).\n")
	for _, g := range gs {
		writeGroup(&b, r, g)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeGroup writes one comparison's table: a row per impl, a column per unit.
func writeGroup(b *strings.Builder, r *run, g group) {
	var units []string
	for k := range r.samples {
		if k.bench == g.bench && slices.Contains(g.impls, k.impl) && !slices.Contains(units, k.unit) {
			units = append(units, k.unit)
		}
	}
	if len(units) == 0 {
		return
	}
	slices.SortFunc(units, func(a, b string) int { return unitRank(a) - unitRank(b) })
	fmt.Fprintf(b, "\n### %s\n\n", g.bench)
	b.WriteString("| impl |")
	for _, u := range units {
		fmt.Fprintf(b, " %s |", u)
	}
	b.WriteString(" ns/op over base |\n|---|")
	for range units {
		b.WriteString("---:|")
	}
	b.WriteString("---:|\n")
	base := g.impls[0]
	for _, impl := range g.impls {
		fmt.Fprintf(b, "| %s |", impl)
		for _, u := range units {
			s, ok := summarize(r.values(key{g.bench, impl, u}))
			switch {
			case !ok:
				b.WriteString(" — |")
			case s.min == s.max:
				fmt.Fprintf(b, " %s |", human(s.med, u))
			default:
				fmt.Fprintf(b, " %s [%s – %s] |", human(s.med, u), human(s.min, u), human(s.max, u))
			}
		}
		over := "—"
		if impl != base {
			d := r.paired([]key{{g.bench, impl, "ns/op"}, {g.bench, base, "ns/op"}},
				func(v []float64) (float64, bool) { return v[0] - v[1], true })
			if s, ok := summarize(d); ok {
				over = human(s.med, "ns/op")
			}
		}
		fmt.Fprintf(b, " %s |\n", over)
	}
}

func unitRank(u string) int {
	switch u {
	case "ns/op":
		return 0
	case "B/op":
		return 1
	case "allocs/op":
		return 2
	}
	return 3
}

func loadRange(r *run) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range r.load {
		for _, v := range l {
			if v >= 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return ""
	}
	return num(lo) + " – " + num(hi)
}

// human writes a value of unit in a readable scale: times in ns, µs, ms or s, sizes in
// B (exact) or MiB; other units as numbers.
func human(v float64, unit string) string {
	type scale struct {
		div  float64
		name string
	}
	var scales []scale
	switch {
	case strings.HasPrefix(unit, "ns/") || strings.HasPrefix(unit, "cpu-ns/"):
		scales = []scale{{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}}
	case strings.HasPrefix(unit, "B/") || strings.HasSuffix(unit, "-B") || strings.Contains(unit, "-B/"):
		// Bytes stay exact below a MiB: allocation counts are compared to the byte.
		scales = []scale{{1 << 20, "MiB"}, {1, "B"}}
	default:
		return num(v)
	}
	for _, s := range scales {
		if math.Abs(v) >= s.div || s.div == 1 {
			return num(v/s.div) + " " + s.name
		}
	}
	return num(v)
}

func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
