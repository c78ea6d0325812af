package main

// Before and after (compare.sh): the benchmarks test binary of an earlier ref and of the
// working tree, run under this harness in the same rounds, old and new processes one
// right after the other, so that the RESULTS.md ratios of both are computed the same
// way under the same load and can be held against each other (issue 13: no ratio may
// get worse by more than 5%).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

// comparison is one benchmark both binaries have, under its name in each.
type comparison struct {
	// bench is the benchmark path without impl= in the new binary (as in groups);
	// old is its path in the old binary when it differs.
	bench, old string
	// impls are the impl= values both binaries have that the targets need.
	impls []string
	// note says how the old benchmark corresponds to the new one when the name changed.
	note string
}

func (c comparison) oldBench() string {
	if c.old != "" {
		return c.old
	}
	return c.bench
}

// comparisons map the benchmarks of the RESULTS.md at 9ce8a42 (the default ref) to this
// tree's. Only what both binaries have is listed: the floors (impl=floor, nop-stats,
// BenchmarkFloorParts), sink=pipe, the console, SQL, routes and scrape came later.
var comparisons = []comparison{
	{bench: "BenchmarkHTTP/stack=full/sink=discard", old: "BenchmarkHTTP/stack=full",
		impls: []string{"bare", implHTTPPeer, "vigil"},
		note: "the HTTP benchmark gained a sink= level when sink=pipe was added; the old benchmark wrote " +
			"every stack's log lines to io.Discard, which is what sink=discard does"},
	{bench: "BenchmarkHTTP/stack=metrics", impls: []string{"bare", "promhttp", "vigil"}},
	{bench: "BenchmarkGRPCUnary", impls: []string{"bare", implGRPCPeer, "vigil"}},
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
}

// compareGroups are the groups that run cs, under the new names, with the benchtime
// groups gives them.
func compareGroups(cs []comparison) []group {
	var out []group
	for _, c := range cs {
		g := group{bench: c.bench, impls: c.impls}
		if i := slices.IndexFunc(groups, func(g group) bool { return g.bench == c.bench }); i >= 0 {
			g.benchtime = groups[i].benchtime
		}
		out = append(out, g)
	}
	return out
}

// compareTargets are the targets that cs can compute on both sides: every impl they
// name is one both binaries run. Rows that need a floor or a part the old ref lacks are
// left out.
func compareTargets(cs []comparison, ts []target) []target {
	var out []target
	for _, t := range ts {
		i := slices.IndexFunc(cs, func(c comparison) bool { return c.bench == t.bench })
		if i < 0 || len(t.parts) > 0 {
			continue
		}
		ok := true
		for _, impl := range []string{t.ours, t.peer, t.floor} {
			if impl != "" && !slices.Contains(cs[i].impls, impl) {
				ok = false
			}
		}
		if ok {
			out = append(out, t)
		}
	}
	return out
}

// runCompare runs rounds like runAll, but every variant twice: once with oldBin under its
// old name, once with rn.bin, one right after the other, the first of the two
// alternating from variant to variant and round to round. Each process's lines follow a
// "side: old" or "side: new" line. A variant either binary lacks is an error: the name
// mapping (comparisons) is wrong.
func (rn *runner) runCompare(ctx context.Context, oldBin string, cs []comparison, raw io.Writer) error {
	start := time.Now()
	header := map[string]*bool{"old": new(bool), "new": new(bool)}
	for r := 1; r <= rn.rounds; r++ {
		roundStart := time.Now()
		fmt.Fprintf(raw, "round: %d\n", r)
		before := loadAverage()
		for i, v := range schedule(compareGroups(cs), r) {
			c := cs[slices.IndexFunc(cs, func(c comparison) bool { return c.bench == v.g.bench })]
			sides := []string{"old", "new"}
			if (r+i)%2 == 1 {
				sides = []string{"new", "old"}
			}
			for _, side := range sides {
				bin, sv := rn.bin, v
				if side == "old" {
					bin = oldBin
					sv.g.bench = c.oldBench()
				}
				fmt.Fprintf(raw, "side: %s\n", side)
				found, err := rn.runOne(ctx, bin, sv, raw, header[side])
				if err != nil {
					return fmt.Errorf("round %d, %s binary, %w", r, side, err)
				}
				if !found {
					return fmt.Errorf("round %d: the %s binary has no %s/impl=%s (or skipped it): fix the mapping in internal/report/compare.go",
						r, side, sv.g.bench, sv.impl)
				}
			}
		}
		fmt.Fprintf(raw, "load: %.2f %.2f\n", before, loadAverage())
		rn.progress(start, roundStart, r)
	}
	return nil
}

// splitSides parses runCompare's output into the old binary's run and the new one's,
// the old run's benchmarks renamed to their new names (cs). Round and load lines
// belong to both sides.
func splitSides(r io.Reader, cs []comparison) (old, cur *run, err error) {
	var ob, nb bytes.Buffer
	side := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "side: "); ok {
			side = strings.TrimSpace(v)
			if side != "old" && side != "new" {
				return nil, nil, fmt.Errorf("%q: a side is old or new", line)
			}
			continue
		}
		shared := side == "" || strings.HasPrefix(line, "round: ") || strings.HasPrefix(line, "load: ")
		if shared || side == "old" {
			ob.WriteString(line + "\n")
		}
		if shared || side == "new" {
			nb.WriteString(line + "\n")
		}
		if strings.HasPrefix(line, "round: ") {
			side = ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if old, err = parse(&ob); err != nil {
		return nil, nil, fmt.Errorf("old side: %v", err)
	}
	if cur, err = parse(&nb); err != nil {
		return nil, nil, fmt.Errorf("new side: %v", err)
	}
	renamed := map[key]map[int]float64{}
	for k, v := range old.samples {
		for _, c := range cs {
			if k.bench == c.oldBench() {
				k.bench = c.bench
				break
			}
		}
		renamed[k] = v
	}
	old.samples = renamed
	return old, cur, nil
}

// quotient is new ÷ old for one round; 0 → 0 is no change, and a cost that grows from
// nothing is infinitely worse. A negative old value (an overhead lost in noise) gives
// no quotient.
func quotient(old, cur float64) (float64, bool) {
	switch {
	case old == cur:
		return 1, true
	case old > 0:
		return cur / old, true
	case old == 0 && cur > 0:
		return math.Inf(1), true
	}
	return 0, false
}

// pairedQuotients is new ÷ old in every round both have a value for.
func pairedQuotients(oldRounds []int, oldVals []float64, newRounds []int, newVals []float64) []float64 {
	var out []float64
	for i, rd := range newRounds {
		j := slices.Index(oldRounds, rd)
		if j < 0 {
			continue
		}
		if q, ok := quotient(oldVals[j], newVals[i]); ok {
			out = append(out, q)
		}
	}
	return out
}

// worse is the quotient above which a ratio counts as worse (issue 13: 5%).
const worse = 1.05

// compareInput is everything renderCompare writes from.
type compareInput struct {
	old, cur             *run
	oldRef, newRef       string // what each binary was built from, for the reader
	oldVersions, newVers string // `go list -m` lines of each benchmarks module
	cmd                  string
	date                 time.Time
	took                 time.Duration
	// published maps a RESULTS.md row's name to its value in the old ref's RESULTS.md.
	published map[string]string
}

// compareRow is one target evaluated on both sides.
type compareRow struct {
	t              target
	name           string // the row's name in the old ref's RESULTS.md, when different
	published      string
	old, cur, q    stats
	missing        string
	verdict        string
	worseThanLimit bool
}

func compareTarget(in compareInput, t target) compareRow {
	row := compareRow{t: t, published: "—"}
	if v, ok := in.published[t.what]; ok {
		row.published = v
	} else if v, ok := in.published[t.was]; ok && t.was != "" {
		row.published, row.name = v, t.was
	}
	or, ov, m1 := series(in.old, t)
	nr, nv, m2 := series(in.cur, t)
	switch {
	case m1 != "":
		row.missing = "before: " + m1
		return row
	case m2 != "":
		row.missing = "after: " + m2
		return row
	}
	var ok1, ok2, ok3 bool
	row.old, ok1 = summarize(ov)
	row.cur, ok2 = summarize(nv)
	row.q, ok3 = summarize(pairedQuotients(or, ov, nr, nv))
	if !ok1 || !ok2 || !ok3 {
		row.missing = "no round with both values"
		return row
	}
	pct := func(q float64) string {
		if math.IsInf(q, 1) {
			return "∞"
		}
		return fmt.Sprintf("%.0f%%", math.Abs(q-1)*100)
	}
	switch {
	case row.q.med > worse:
		row.worseThanLimit = true
		row.verdict = "**worse by " + pct(row.q.med) + "**"
		if row.q.q1 <= worse {
			row.verdict += " (IQR straddles +5%)"
		}
	case row.q.med < 1/worse:
		row.verdict = "better by " + pct(row.q.med)
	default:
		row.verdict = "within 5%"
	}
	if !row.worseThanLimit && row.q.q3 > worse {
		row.verdict += " (IQR straddles +5%)"
	}
	return row
}

func renderCompare(w io.Writer, in compareInput, cs []comparison, ts []target) error {
	var b strings.Builder
	r := in.cur
	rounds := len(r.rounds)
	fmt.Fprintf(&b, "# Before and after: %s against %s\n\n", in.newRef, in.oldRef)
	b.WriteString("Generated by `benchmarks/compare.sh` (do not edit by hand: run it again on an idle machine).\n\n")
	loads := loadRange(r)
	// The rounds' own processes keep a core or more busy, so the load around them is
	// above 1 on an idle machine; only a load beyond the cores says something else ran.
	if hi := maxLoad(r); rounds < 5 || hi > float64(runtime.NumCPU()) {
		fmt.Fprintf(&b, "**Noisy run** (%d round%s, load up to %s): a test of the pipeline, not a measurement.\n\n",
			rounds, plural(rounds), num(hi))
	}
	b.WriteString("## How it was measured\n\n")
	b.WriteString("The benchmarks test binary was built twice: from a git worktree of the old ref (its own\n")
	b.WriteString("benchmarks module and its own vigil) and from the working tree. ")
	fmt.Fprintf(&b, "%d round%s: in every round each impl of each\n", rounds, plural(rounds))
	b.WriteString("comparison below ran once with each binary, each in a fresh process, the old and the new one\n")
	b.WriteString("right after the other (which one first alternates); the impls' order rotates from round to round,\n")
	b.WriteString("as in run.sh. Each RESULTS.md ratio is computed within a round from that round's processes,\n")
	b.WriteString("for the old binary and for the new one alike; \"after ÷ before\" is the median over the rounds of\n")
	b.WriteString("the new value divided by the old value of the same round, with its interquartile range.\n")
	b.WriteString("Lower is better for every row. A row is worse when that median exceeds 1.05 (issue 13: no\n")
	b.WriteString("ratio in RESULTS.md may get worse by more than 5%). Times are wall time per op (ns/op);\n")
	b.WriteString("allocs/op and B/op are exact.\n\n")

	b.WriteString("## Refs, machine and versions\n\n")
	fmt.Fprintf(&b, "- Before: %s\n", orDash(in.oldRef))
	fmt.Fprintf(&b, "- After: %s\n", orDash(in.newRef))
	fmt.Fprintf(&b, "- Date: %s", in.date.Format("2006-01-02 15:04 MST"))
	if in.took > 0 {
		fmt.Fprintf(&b, " (took %s)", in.took.Round(time.Second))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- CPU: %s; GOMAXPROCS %d\n", orDash(r.config["cpu"]), r.procs)
	fmt.Fprintf(&b, "- OS/arch: %s/%s\n", orDash(r.config["goos"]), orDash(r.config["goarch"]))
	if loads != "" {
		fmt.Fprintf(&b, "- Load average (1 min) around the rounds: %s\n", loads)
	}
	if in.cmd != "" {
		fmt.Fprintf(&b, "- Command: `%s`\n", in.cmd)
	}
	writeVersions(&b, in.oldVersions, in.newVers)

	rows := make([]compareRow, 0, len(ts))
	var bad []string
	for _, t := range ts {
		row := compareTarget(in, t)
		if row.worseThanLimit {
			bad = append(bad, t.what)
		}
		rows = append(rows, row)
	}
	b.WriteString("\n## RESULTS.md's ratios, before and after\n\n")
	switch {
	case len(bad) == 0:
		fmt.Fprintf(&b, "No ratio is worse by more than 5%% (%d rows).\n\n", len(rows))
	default:
		fmt.Fprintf(&b, "%d of %d rows worse by more than 5%%: %s.\n\n", len(bad), len(rows), strings.Join(bad, "; "))
	}
	b.WriteString("\"published\" is the row's value in the old ref's RESULTS.md, measured by the harness of its\n")
	b.WriteString("day (shown for reference; compare \"before\" with \"after\", which this run measured alike).\n\n")
	b.WriteString("| target | ours | vs | over | unit | published | before | after | after ÷ before | IQR | rounds | verdict |\n")
	b.WriteString("|---|---|---|---|---|---:|---:|---:|---:|---|---:|---|\n")
	for _, row := range rows {
		t := row.t
		vs := orDash(t.peer)
		if t.peer == "" {
			vs = "(absolute)"
		}
		what := t.what
		if row.name != "" {
			what += " (was: " + row.name + ")"
		}
		if row.missing != "" {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | — | — | — | %s | | not measured |\n",
				what, t.ours, vs, orDash(t.floor), t.unit, row.published, row.missing)
			continue
		}
		f := num
		if t.peer == "" {
			f = func(v float64) string { return human(v, t.unit) }
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s – %s | %d | %s |\n",
			what, t.ours, vs, orDash(t.floor), t.unit, row.published, f(row.old.med), f(row.cur.med),
			num(row.q.med), num(row.q.q1), num(row.q.q3), row.q.n, row.verdict)
	}

	b.WriteString("\n## Every comparison, before and after\n\n")
	b.WriteString("Medians over the rounds; \"after ÷ before\" is the paired median (IQR) of ns/op.\n")
	for _, c := range cs {
		writeCompareGroup(&b, in, c)
	}

	b.WriteString("\n## Benchmark names\n\n")
	b.WriteString("Each comparison runs under its own name in each binary (internal/report/compare.go):\n\n")
	for _, c := range cs {
		if c.old == "" {
			continue
		}
		fmt.Fprintf(&b, "- before `%s` → after `%s`: %s.\n", c.old, c.bench, c.note)
	}
	b.WriteString("- every other comparison has the same name in both; impls only the new binary has (floors,\n")
	b.WriteString("  sink=pipe, vigil+otlpmetrics, the console, SQL, routes, scrape) are not run.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCompareGroup writes one comparison's table: a row per impl, old against new.
func writeCompareGroup(b *strings.Builder, in compareInput, c comparison) {
	fmt.Fprintf(b, "\n### %s", c.bench)
	if c.old != "" {
		fmt.Fprintf(b, " (before: %s)", c.old)
	}
	b.WriteString("\n\n| impl | ns/op before | ns/op after | after ÷ before | IQR | allocs/op before → after | B/op before → after |\n")
	b.WriteString("|---|---:|---:|---:|---|---:|---:|\n")
	med := func(r *run, k key) (float64, bool) {
		s, ok := summarize(r.values(k))
		return s.med, ok
	}
	cell := func(unit string, impl string) string {
		k := key{c.bench, impl, unit}
		o, ok1 := med(in.old, k)
		n, ok2 := med(in.cur, k)
		if !ok1 || !ok2 {
			return "—"
		}
		return human(o, unit) + " → " + human(n, unit)
	}
	for _, impl := range c.impls {
		k := key{c.bench, impl, "ns/op"}
		o, ok1 := med(in.old, k)
		n, ok2 := med(in.cur, k)
		if !ok1 || !ok2 {
			fmt.Fprintf(b, "| %s | — | — | — | | %s | %s |\n", impl, cell("allocs/op", impl), cell("B/op", impl))
			continue
		}
		or, ov := roundValues(in.old, k)
		nr, nv := roundValues(in.cur, k)
		q, _ := summarize(pairedQuotients(or, ov, nr, nv))
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s – %s | %s | %s |\n", impl, human(o, "ns/op"), human(n, "ns/op"),
			num(q.med), num(q.q1), num(q.q3), cell("allocs/op", impl), cell("B/op", impl))
	}
}

// roundValues are k's samples with their rounds, in round order.
func roundValues(r *run, k key) ([]int, []float64) {
	return r.pairedRounds([]key{k}, func(v []float64) (float64, bool) { return v[0], true })
}

// writeVersions lists the modules of both benchmarks modules, marking those that changed.
func writeVersions(b *strings.Builder, old, cur string) {
	parse := func(s string) (map[string]string, []string) {
		m := map[string]string{}
		var order []string
		for _, l := range strings.Split(s, "\n") {
			f := strings.Fields(l)
			if len(f) == 2 {
				if _, seen := m[f[0]]; !seen {
					order = append(order, f[0])
				}
				m[f[0]] = f[1]
			}
		}
		return m, order
	}
	om, oo := parse(old)
	nm, no := parse(cur)
	for _, p := range oo {
		if !slices.Contains(no, p) {
			no = append(no, p)
		}
	}
	if len(no) == 0 {
		return
	}
	b.WriteString("- Modules of each benchmarks module:\n\n")
	b.WriteString("  | module | before | after |\n  |---|---|---|\n")
	for _, p := range no {
		o, n := orDash(om[p]), orDash(nm[p])
		mark := ""
		if o != n {
			mark = " (changed)"
		}
		fmt.Fprintf(b, "  | `%s` | %s | %s%s |\n", p, o, n, mark)
	}
}

func maxLoad(r *run) float64 {
	hi := 0.0
	for _, l := range r.load {
		hi = max(hi, l[0], l[1])
	}
	return hi
}
