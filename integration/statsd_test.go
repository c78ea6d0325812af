//go:build integration

package integration

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/metrics"
)

// statsdAdmin sends one command to a StatsD management interface and returns its answer up to
// the END line. The Etsy daemon prints its maps with node's util.inspect, so the parsers below
// read that notation.
func statsdAdmin(addr, cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "%s\n", cmd); err != nil {
		return "", err
	}
	var b strings.Builder
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if sc.Text() == "END" {
			return b.String(), nil
		}
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return b.String(), fmt.Errorf("statsd admin %s %q: no END line: %v", addr, cmd, sc.Err())
}

var (
	inspectKey    = `(?:'([^']+)'|([A-Za-z_$][\w$]*))`
	inspectNumber = regexp.MustCompile(inspectKey + `:\s*(-?[0-9][0-9.eE+-]*|NaN|-?Infinity)`)
	inspectArray  = regexp.MustCompile(`(?s)` + inspectKey + `:\s*\[(.*?)\]`)
	inspectMore   = regexp.MustCompile(`\.\.\. (\d+) more items?`)
	plainNumber   = regexp.MustCompile(`-?[0-9][0-9.]*(?:e[+-]?[0-9]+)?`)
)

// statsdNumbers reads the `counters` or `gauges` dump.
func statsdNumbers(addr, cmd string) (map[string]float64, error) {
	out, err := statsdAdmin(addr, cmd)
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	for _, g := range inspectNumber.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(g[3], 64)
		m[g[1]+g[2]] = v
	}
	return m, nil
}

// timer is what the `timers` dump shows of one timer: its first samples (util.inspect prints
// at most 100) and how many there are in all.
type timer struct {
	samples []float64
	count   int
}

func statsdTimers(addr string) (map[string]timer, error) {
	out, err := statsdAdmin(addr, "timers")
	if err != nil {
		return nil, err
	}
	m := map[string]timer{}
	for _, g := range inspectArray.FindAllStringSubmatch(out, -1) {
		body := g[3]
		var tm timer
		if more := inspectMore.FindStringSubmatch(body); more != nil {
			tm.count, _ = strconv.Atoi(more[1])
			body = inspectMore.ReplaceAllString(body, "")
		}
		for _, n := range plainNumber.FindAllString(body, -1) {
			v, _ := strconv.ParseFloat(n, 64)
			tm.samples = append(tm.samples, v)
		}
		tm.count += len(tm.samples)
		m[g[1]+g[2]] = tm
	}
	return m, nil
}

// keysWith returns the keys containing every part, sorted.
func keysWith[V any](m map[string]V, parts ...string) []string {
	var out []string
	for k := range m {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(k, p)
		}
		if ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func badLines(addr string) (float64, error) {
	out, err := statsdAdmin(addr, "stats")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "messages.bad_lines_seen: "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("statsd stats: no messages.bad_lines_seen in %q", out)
}

// durationTimers returns the hold StatsD's timers of the HTTP server duration for a route
// fragment (the graphite dialect sends "/orders/{id}" as "_orders__id_") and a status class.
func durationTimers(tms map[string]timer, routePart, class string) (keys []string, count int) {
	for _, k := range keysWith(tms, "http", "server", "duration", routePart, class) {
		keys = append(keys, k)
		count += tms[k].count
	}
	return keys, count
}

// testStatsDService: the quick start, sending to the real StatsD daemon in the Graphite tag
// format, delivered one duration sample per request with the route and the status class as
// tags, and its gauges; the daemon found no line it could not parse.
func (s *suite) testStatsDService(t *testing.T) {
	eventually(t, 20*time.Second, func() error {
		tms, err := statsdTimers(s.statsdHoldAdmin)
		if err != nil {
			return err
		}
		var errs []string
		for _, c := range []struct {
			route, class string
			want         int
		}{{"orders", "2xx", wantOrders}, {"panic", "5xx", wantPanics}} {
			keys, n := durationTimers(tms, c.route, c.class)
			if n != c.want {
				errs = append(errs, fmt.Sprintf("%s %s: %d samples in %q, want %d", c.route, c.class, n, keys, c.want))
			}
		}
		if len(errs) > 0 {
			msg := fmt.Sprintf("HTTP duration timers in StatsD: %s; timers held: %q", strings.Join(errs, "; "), keysWith(tms))
			// A DogStatsD histogram (|h) is no type the Etsy daemon knows: it adds the values
			// up as a counter. Say so, rather than only "missing".
			if counters, err := statsdNumbers(s.statsdHoldAdmin, "counters"); err == nil {
				if ks := keysWith(counters, "http", "server", "duration"); len(ks) > 0 {
					msg += fmt.Sprintf("; the durations arrived as counters %q (sent as |h?), which StatsD sums instead of keeping samples", ks[:min(len(ks), 3)])
				}
			}
			return fmt.Errorf("%s", msg)
		}
		return nil
	})
	tms, err := statsdTimers(s.statsdHoldAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysWith(tms, "4xx"); len(keys) == 0 {
		t.Errorf("no timer with the 4xx status class among %q", keysWith(tms))
	}
	for _, k := range keysWith(tms, "http", "duration", "orders", "2xx") {
		for _, v := range tms[k].samples {
			if v < 0 || v > 250 {
				t.Errorf("timer %s: sample %v, want milliseconds of a fast handler", k, v)
				break
			}
		}
	}
	// The inventory handler waits 50 to 250ms before answering: in milliseconds, every sample
	// is in that range (a duration in seconds would be below 1).
	keys, n := durationTimers(tms, "inventory", "2xx")
	if n != wantCheckouts {
		t.Errorf("inventory 2xx: %d samples in %q, want %d", n, keys, wantCheckouts)
	}
	for _, k := range keys {
		for _, v := range tms[k].samples {
			if v < 50 || v > 300 {
				t.Errorf("timer %s: sample %v (of %v), want 50 to 300 (milliseconds)", k, v, tms[k].samples)
				break
			}
		}
	}

	gauges, err := statsdNumbers(s.statsdHoldAdmin, "gauges")
	if err != nil {
		t.Fatal(err)
	}
	active := keysWith(gauges, "active_requests")
	if len(active) == 0 {
		t.Errorf("no active requests gauge among %q", keysWith(gauges))
	}
	for _, k := range active {
		if gauges[k] != 0 {
			t.Errorf("gauge %s = %v after the traffic ended, want 0", k, gauges[k])
		}
	}
	for _, addr := range []string{s.statsdAdmin, s.statsdHoldAdmin} {
		if n, err := badLines(addr); err != nil || n != 0 {
			t.Errorf("StatsD %s: bad_lines_seen = %v (%v), want 0", addr, n, err)
		}
	}
}

// testStatsDLibrary: the metrics package's own StatsD backend, in each tag format the Etsy
// daemon reads (DogStatsD tags, Graphite's ;k=v tags, plain names), delivers counters, gauges
// and timers the daemon aggregates to the values sent, and which its Graphite backend stores in
// carbon's whisper files: with the service tags, timers named in the unit they are sent in
// (_ms), a size histogram as _count and _sum counters (never as a timer), several samples per
// line in the Etsy form (name:v|ms:v|ms), and an infinite gauge never sent; the daemon finds
// no line it cannot parse. (The influx format puts tags in the name with commas, which the Etsy
// daemon does not parse; the metrics unit tests cover it. DogStatsD's own several-values form,
// protocol v1.1, is the Datadog Agent's: the Etsy daemon gets one value per line.)
func (s *suite) testStatsDLibrary(t *testing.T) {
	for _, format := range []string{"dogstatsd", "graphite", "plain"} {
		t.Run(format, func(t *testing.T) {
			name := "vigil_it_" + format
			reg, err := metrics.New(metrics.Config{
				Service: "integration", Environment: "it", Version: "1.0.0",
				StatsD: metrics.StatsDConfig{Addr: s.statsd, Format: format,
					FlushInterval:   time.Hour, // one flush, at Shutdown: one packet, one carbon point
					OneValuePerLine: format == "dogstatsd"},
				DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := reg.Counter(name+"_jobs_total", "Jobs done.", "kind")
			if err != nil {
				t.Fatal(err)
			}
			depth, err := reg.Gauge(name+"_queue_depth", "Jobs waiting.")
			if err != nil {
				t.Fatal(err)
			}
			took, err := reg.Timer(name+"_job_duration_seconds", "Time per job.", "kind")
			if err != nil {
				t.Fatal(err)
			}
			payload, err := reg.Histogram(name+"_payload_bytes", "Payload sizes.", "kind")
			if err != nil {
				t.Fatal(err)
			}
			broken, err := reg.Gauge(name+"_broken_ratio", "A division by zero.")
			if err != nil {
				t.Fatal(err)
			}
			broken.Set(math.Inf(1))
			if format != "dogstatsd" { // DogStatsD's |h is the Agent's; the daemon would add it up
				payload.With("email").Observe(100)
				payload.With("email").Observe(300)
			}
			email := jobs.With("email")
			email.Inc()
			email.Inc()
			email.Inc()
			email.Add(4)
			depth.Set(42)
			for _, d := range []time.Duration{10, 20, 30} {
				took.With("email").Observe(d * time.Millisecond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// The infinite gauge is the one line not sent, and Shutdown says so.
			if err := reg.Shutdown(ctx); err == nil || err.Error() != "metrics: 1 StatsD line not sent: 1 infinite or NaN" {
				t.Fatalf("Shutdown: %v, want the infinite gauge named", err)
			}

			var counterKey string
			eventually(t, 15*time.Second, func() error {
				counters, err := statsdNumbers(s.statsdHoldAdmin, "counters")
				if err != nil {
					return err
				}
				keys := keysWith(counters, name+"_jobs", "email")
				if len(keys) != 1 || counters[keys[0]] != 7 {
					return fmt.Errorf("counter %s{kind=email}: keys %q with values %v, want one key = 7; all: %q",
						name+"_jobs_total", keys, counters, keysWith(counters, name))
				}
				counterKey = keys[0]
				return nil
			})
			gauges, err := statsdNumbers(s.statsdHoldAdmin, "gauges")
			if err != nil {
				t.Fatal(err)
			}
			if keys := keysWith(gauges, name+"_queue_depth"); len(keys) != 1 || gauges[keys[0]] != 42 {
				t.Errorf("gauge %s_queue_depth: keys %q, want one = 42; all gauges: %v", name, keys, gauges)
			}
			if keys := keysWith(gauges, name+"_broken"); len(keys) != 0 {
				t.Errorf("the infinite gauge reached StatsD: %q", keys)
			}
			tms, err := statsdTimers(s.statsdHoldAdmin)
			if err != nil {
				t.Fatal(err)
			}
			keys := keysWith(tms, name+"_job_duration_ms", "email")
			if len(keys) != 1 || fmt.Sprint(sorted(tms[keys[0]].samples)) != "[10 20 30]" {
				t.Errorf("timer %s_job_duration_ms{kind=email}: keys %q, samples %v, want [10 20 30] ms", name, keys, tms)
			}
			if keys := keysWith(tms, name+"_payload"); len(keys) != 0 {
				t.Errorf("a size histogram arrived as timers %q", keys)
			}
			if format != "plain" {
				if !strings.Contains(counterKey, "service=integration") || !strings.Contains(counterKey, "env=it") ||
					!strings.Contains(counterKey, "version=1.0.0") {
					t.Errorf("counter key %q lacks the service tags", counterKey)
				}
			}
			if format != "dogstatsd" {
				counters, err := statsdNumbers(s.statsdHoldAdmin, "counters")
				if err != nil {
					t.Fatal(err)
				}
				for suffix, want := range map[string]float64{"_count": 2, "_sum": 400} {
					ks := keysWith(counters, name+"_payload_bytes"+suffix, "email")
					if len(ks) != 1 || counters[ks[0]] != want {
						t.Errorf("counter %s_payload_bytes%s: keys %q, want one = %v; counters %v", name, suffix, ks, want, keysWith(counters, name))
					}
				}
			}
			for _, addr := range []string{s.statsdAdmin, s.statsdHoldAdmin} {
				if n, err := badLines(addr); err != nil || n != 0 {
					t.Errorf("StatsD %s: bad_lines_seen = %v (%v), want 0", addr, n, err)
				}
			}

			// The front StatsD's Graphite backend wrote the counter into carbon.
			file := whisperPath(s.carbonDir, "stats.counters", counterKey, "count")
			eventually(t, 20*time.Second, func() error {
				sum, err := whisperSum(file)
				if err != nil {
					return err
				}
				if sum != 7 {
					return fmt.Errorf("carbon %s sums to %v, want 7", file, sum)
				}
				return nil
			})
		})
	}
}

func sorted(v []float64) []float64 {
	out := append([]float64(nil), v...)
	sort.Float64s(out)
	return out
}

// whisperPath is where carbon keeps the series StatsD's Graphite backend (non-legacy
// namespace) writes for key: prefix.name.suffix, plain names as a directory tree, tagged names
// (name;k=v) under _tagged/ by the SHA-256 of the name with its tags sorted.
func whisperPath(root, prefix, key, suffix string) string {
	parts := strings.Split(key, ";")
	name := prefix + "." + parts[0] + "." + suffix
	if len(parts) == 1 {
		return filepath.Join(root, filepath.FromSlash(strings.ReplaceAll(name, ".", "/"))+".wsp")
	}
	tags := parts[1:]
	sort.Strings(tags)
	sum := sha256.Sum256([]byte(name + ";" + strings.Join(tags, ";")))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(root, "_tagged", h[:3], h[3:6], h+".wsp")
}

// whisperSum adds up the last hour's points of a whisper file, read with whisper-fetch.
func whisperSum(file string) (float64, error) {
	if _, err := os.Stat(file); err != nil {
		return 0, err
	}
	from := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	out, err := exec.Command("whisper-fetch", "--from="+from, file).Output()
	if err != nil {
		return 0, fmt.Errorf("whisper-fetch %s: %w", file, err)
	}
	sum := 0.0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || f[1] == "None" {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return 0, fmt.Errorf("whisper-fetch %s: %q", file, line)
		}
		sum += v
	}
	return sum, nil
}
