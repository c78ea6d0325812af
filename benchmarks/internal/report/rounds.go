package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// runner runs groups in rounds, one fresh process of the test binary per impl per round.
type runner struct {
	bin       string        // compiled test binary (go test -c)
	rounds    int           // how many rounds
	benchtime string        // -test.benchtime for groups that set none
	timeout   time.Duration // per process
	log       io.Writer     // progress
	// exec runs one process and returns its standard output; tests replace it.
	exec func(ctx context.Context, bin string, args []string) ([]byte, error)
}

// variant is one process: one impl of one group.
type variant struct {
	g    group
	impl string
}

// schedule is round r's order: the groups in order, each group's impls rotated by r.
func schedule(gs []group, r int) []variant {
	var out []variant
	for _, g := range gs {
		n := len(g.impls)
		for i := range n {
			out = append(out, variant{g, g.impls[(i+r)%n]})
		}
	}
	return out
}

// args are the test binary's flags for one variant.
func (rn *runner) args(v variant) []string {
	bt := v.g.benchtime
	if bt == "" {
		bt = rn.benchtime
	}
	return []string{
		"-test.run", "^$",
		"-test.bench", benchRegexp(v.g.bench + "/impl=" + v.impl),
		"-test.benchtime", bt,
		"-test.count", "1",
		"-test.benchmem",
		"-test.timeout", rn.timeout.String(),
	}
}

// resultLine matches a benchmark result: a name, an iteration count, then values.
var resultLine = regexp.MustCompile(`^Benchmark\S+\s+\d+\s+\S+ \S+`)

// runAll writes every round's results to raw, as benchmark output with a "round: N" line
// before each round and a "load: BEFORE AFTER" line after it. A variant whose benchmark
// does not exist in the binary (a slot another change fills later) is reported once and
// left out; a failing process stops the run.
func (rn *runner) runAll(ctx context.Context, gs []group, raw io.Writer) error {
	missing := map[string]bool{} // bench/impl=X
	start := time.Now()
	header := false
	for r := 1; r <= rn.rounds; r++ {
		roundStart := time.Now()
		fmt.Fprintf(raw, "round: %d\n", r)
		before := loadAverage()
		for _, v := range schedule(gs, r) {
			name := v.g.bench + "/impl=" + v.impl
			if missing[name] {
				continue
			}
			found, err := rn.runOne(ctx, rn.bin, v, raw, &header)
			if err != nil {
				return fmt.Errorf("round %d, %w", r, err)
			}
			if !found {
				missing[name] = true
				fmt.Fprintf(rn.log, "no result for %s/impl=%s (not in this binary, or skipped): left out\n", v.g.bench, v.impl)
			}
		}
		fmt.Fprintf(raw, "load: %.2f %.2f\n", before, loadAverage())
		rn.progress(start, roundStart, r)
	}
	return nil
}

// runOne runs variant v in one fresh process of bin and copies its result lines to raw,
// with the configuration lines (goos, cpu, ...) the first time *header is false. found
// says whether the process printed a result; a process that fails is an error.
func (rn *runner) runOne(ctx context.Context, bin string, v variant, raw io.Writer, header *bool) (found bool, err error) {
	out, err := rn.exec(ctx, bin, rn.args(v))
	if err != nil {
		return false, fmt.Errorf("%s/impl=%s: %v\n%s", v.g.bench, v.impl, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case resultLine.MatchString(line):
			found = true
			fmt.Fprintln(raw, line)
		case !*header && isConfigLine(line):
			fmt.Fprintln(raw, line)
		case strings.HasPrefix(line, "--- FAIL") || line == "FAIL":
			return false, fmt.Errorf("%s/impl=%s failed:\n%s", v.g.bench, v.impl, out)
		}
	}
	if found {
		*header = true
	}
	return found, nil
}

// progress logs how long round r took and an estimate of the time left.
func (rn *runner) progress(start, roundStart time.Time, r int) {
	el := time.Since(start)
	left := time.Duration(float64(el) / float64(r) * float64(rn.rounds-r))
	fmt.Fprintf(rn.log, "round %d/%d took %s (load %.2f); about %s left\n",
		r, rn.rounds, time.Since(roundStart).Round(time.Second), loadAverage(), left.Round(time.Second))
}

func isConfigLine(line string) bool {
	for _, k := range []string{"goos: ", "goarch: ", "pkg: ", "cpu: "} {
		if strings.HasPrefix(line, k) {
			return true
		}
	}
	return false
}

// execTest runs the test binary and returns its standard output and error together.
func execTest(ctx context.Context, bin string, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

// loadAverage is the 1-minute load average, or -1 where /proc/loadavg is missing.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}

// benchRegexp turns a benchmark path into a -bench pattern, each element anchored and
// quoted, so that impl=vigil does not also select impl=vigil+console.
func benchRegexp(bench string) string {
	parts := strings.Split(bench, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
