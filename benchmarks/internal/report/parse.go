package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// run is what the rounds' `go test -bench` output holds.
type run struct {
	config map[string]string // goos, goarch, cpu, pkg (the last value seen)
	procs  int               // GOMAXPROCS, from the -N name suffix
	// samples holds, per measured series, one value per round.
	samples map[key]map[int]float64
	rounds  []int              // round numbers in the order they appear
	load    map[int][2]float64 // per round, the 1-minute load average before and after
}

// key names one measured series: the benchmark path without impl=, the impl, the unit.
type key struct{ bench, impl, unit string }

var procsSuffix = regexp.MustCompile(`-(\d+)$`)

// parse reads the benchmark format: "name iterations value unit [value unit...]" lines
// and "key: value" configuration lines. The runner writes "round: N" before each round
// and "load: BEFORE AFTER" after it; output without round lines (a plain -count run) is
// read as one round per repetition, in order.
func parse(r io.Reader) (*run, error) {
	out := &run{config: map[string]string{}, samples: map[key]map[int]float64{}, load: map[int][2]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	round := -1 // no round line yet: number samples by repetition
	seen := map[int]bool{}
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Benchmark") {
			k, v, ok := strings.Cut(line, ": ")
			if !ok || strings.ContainsAny(k, " \t") {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "round":
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("%q: %v", line, err)
				}
				round = n
				if !seen[n] {
					seen[n] = true
					out.rounds = append(out.rounds, n)
				}
			case "load":
				var before, after float64
				if _, err := fmt.Sscan(v, &before, &after); err == nil {
					out.load[round] = [2]float64{before, after}
				}
			default:
				out.config[k] = v
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
			m := out.samples[k]
			if m == nil {
				m = map[int]float64{}
				out.samples[k] = m
			}
			rd := round
			if rd < 0 {
				rd = len(m) + 1
				if !seen[rd] {
					seen[rd] = true
					out.rounds = append(out.rounds, rd)
				}
			}
			if _, dup := m[rd]; !dup { // a round measures each series once
				m[rd] = v
			}
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

// stats summarize a sample: median, quartiles, extremes and size.
type stats struct {
	min, q1, med, q3, max float64
	n                     int
}

func summarize(xs []float64) (stats, bool) {
	if len(xs) == 0 {
		return stats{}, false
	}
	s := slices.Sorted(slices.Values(xs))
	return stats{s[0], quantile(s, 0.25), quantile(s, 0.5), quantile(s, 0.75), s[len(s)-1], len(s)}, true
}

// quantile interpolates linearly between the closest ranks of sorted s.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// values returns the samples of k in round order.
func (r *run) values(k key) []float64 {
	var out []float64
	for _, rd := range r.rounds {
		if v, ok := r.samples[k][rd]; ok {
			out = append(out, v)
		}
	}
	return out
}

// paired computes f once per round in which every key has a sample, so that each value
// compares measurements taken minutes apart at most, under the same machine load.
func (r *run) paired(keys []key, f func(v []float64) (float64, bool)) []float64 {
	_, out := r.pairedRounds(keys, f)
	return out
}

// pairedRounds is paired with the round of each value.
func (r *run) pairedRounds(keys []key, f func(v []float64) (float64, bool)) (rounds []int, out []float64) {
	v := make([]float64, len(keys))
rounds:
	for _, rd := range r.rounds {
		for i, k := range keys {
			x, ok := r.samples[k][rd]
			if !ok {
				continue rounds
			}
			v[i] = x
		}
		if y, ok := f(v); ok {
			rounds = append(rounds, rd)
			out = append(out, y)
		}
	}
	return rounds, out
}
