package metrics

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serviceConfig is a StatsD config with the unified service tags set.
func serviceConfig(addr, format string) Config {
	return Config{Service: "checkout", Environment: "prod", Version: "1.2",
		StatsD: StatsDConfig{Addr: addr, Format: format, FlushInterval: time.Hour}}
}

// TestStatsDKindByDialect: each kind of metric, in each dialect, is the exact line a user's
// server receives, with the service tags, units true to the names and several samples per
// line.
func TestStatsDKindByDialect(t *testing.T) {
	kinds := []struct {
		kind   string
		record func(t *testing.T, r *Registry)
		want   map[string][]string // dialect -> lines, sorted
	}{
		{"counter", func(t *testing.T, r *Registry) {
			c := must[*Counter](t)(r.Counter("requests_total", "", "route")).With("/orders/{id}")
			c.Inc()
			c.Add(2)
		}, map[string][]string{
			"dogstatsd": {"requests_total:3|c|#route:/orders/{id},service:checkout,env:prod,version:1.2"},
			"influx":    {"requests_total,route=/orders/{id},service=checkout,env=prod,version=1.2:3|c"},
			"graphite":  {"requests_total;route=_orders__id_;service=checkout;env=prod;version=1.2:3|c"},
			"plain":     {"requests_total._orders__id_:3|c"},
		}},
		{"gauge", func(t *testing.T, r *Registry) {
			must[*Gauge](t)(r.Gauge("queue_depth", "")).Set(7)
		}, map[string][]string{
			"dogstatsd": {"queue_depth:7|g|#service:checkout,env:prod,version:1.2"},
			"influx":    {"queue_depth,service=checkout,env=prod,version=1.2:7|g"},
			"graphite":  {"queue_depth;service=checkout;env=prod;version=1.2:7|g"},
			"plain":     {"queue_depth:7|g"},
		}},
		{"timer", func(t *testing.T, r *Registry) {
			tm := must[*Timer](t)(r.Timer("job_duration_seconds", ""))
			tm.Observe(1500 * time.Millisecond)
			tm.Observe(250 * time.Millisecond)
		}, map[string][]string{
			"dogstatsd": {"job_duration_ms:1500:250|ms|#service:checkout,env:prod,version:1.2"},
			"influx":    {"job_duration_ms,service=checkout,env=prod,version=1.2:1500|ms:250|ms"},
			"graphite":  {"job_duration_ms;service=checkout;env=prod;version=1.2:1500|ms:250|ms"},
			"plain":     {"job_duration_ms:1500|ms:250|ms"},
		}},
		{"histogram in seconds", func(t *testing.T, r *Registry) {
			must[*Histogram](t)(r.Histogram("wait_seconds", "")).Observe(0.5)
		}, map[string][]string{
			"dogstatsd": {"wait_ms:500|ms|#service:checkout,env:prod,version:1.2"},
			"influx":    {"wait_ms,service=checkout,env=prod,version=1.2:500|ms"},
			"graphite":  {"wait_ms;service=checkout;env=prod;version=1.2:500|ms"},
			"plain":     {"wait_ms:500|ms"},
		}},
		{"histogram in bytes", func(t *testing.T, r *Registry) {
			h := must[*Histogram](t)(r.Histogram("body_bytes", ""))
			h.Observe(100)
			h.Observe(300)
		}, map[string][]string{
			"dogstatsd": {"body_bytes:100:300|h|#service:checkout,env:prod,version:1.2"},
			"influx":    {"body_bytes,service=checkout,env=prod,version=1.2:100|h:300|h"},
			"graphite": {"body_bytes_count;service=checkout;env=prod;version=1.2:2|c",
				"body_bytes_sum;service=checkout;env=prod;version=1.2:400|c"},
			"plain": {"body_bytes_count:2|c", "body_bytes_sum:400|c"},
		}},
		{"label named like a service tag", func(t *testing.T, r *Registry) {
			must[*Counter](t)(r.Counter("calls_total", "", "service")).With("billing").Inc()
		}, map[string][]string{
			"dogstatsd": {"calls_total:1|c|#service:billing,env:prod,version:1.2"},
			"influx":    {"calls_total,service=billing,env=prod,version=1.2:1|c"},
			"graphite":  {"calls_total;service=billing;env=prod;version=1.2:1|c"},
			"plain":     {"calls_total.billing:1|c"},
		}},
	}
	for _, k := range kinds {
		for _, dialect := range []string{"dogstatsd", "influx", "graphite", "plain"} {
			t.Run(k.kind+"/"+dialect, func(t *testing.T) {
				s := newStatsDServer(t)
				r, _ := newTestRegistry(t, serviceConfig(s.addr(), dialect))
				k.record(t, r)
				r.statsd.flush()
				if got := lines(s.packets()); !slices.Equal(got, k.want[dialect]) {
					t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(k.want[dialect], "\n"))
				}
			})
		}
	}
}

// TestStatsDDistributions: the switch makes DogStatsD histograms and timers distributions;
// the dialects without the type keep theirs.
func TestStatsDDistributions(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"dogstatsd", []string{"body_bytes:100|d", "job_duration_ms:20|d"}},
		{"influx", []string{"body_bytes:100|h", "job_duration_ms:20|ms"}},
		{"plain", []string{"body_bytes_count:1|c", "body_bytes_sum:100|c", "job_duration_ms:20|ms"}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			s := newStatsDServer(t)
			r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: s.addr(), Format: tc.format,
				FlushInterval: time.Hour, Distributions: true}})
			must[*Histogram](t)(r.Histogram("body_bytes", "")).Observe(100)
			must[*Timer](t)(r.Timer("job_duration_seconds", "")).Observe(20 * time.Millisecond)
			r.statsd.flush()
			if got := lines(s.packets()); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestStatsDNonFinite: an infinite or NaN value is never sent; it is counted once per value
// that would have been.
func TestStatsDNonFinite(t *testing.T) {
	for _, format := range []string{"dogstatsd", "graphite"} {
		t.Run(format, func(t *testing.T) {
			s := newStatsDServer(t)
			r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: s.addr(), Format: format, FlushInterval: time.Hour}})
			must[*Gauge](t)(r.Gauge("up", "")).Set(math.Inf(1))
			must[*Gauge](t)(r.Gauge("down", "")).Set(math.Inf(-1))
			must[*Gauge](t)(r.Gauge("nan", "")).Set(math.NaN())
			tm := must[*Timer](t)(r.Timer("op_seconds", ""))
			tm.Observe(time.Duration(math.MaxInt64)) // finite: sent
			h := must[*Histogram](t)(r.Histogram("wait_seconds", ""))
			h.Observe(math.Inf(1))
			h.Observe(math.Inf(-1))
			h.Observe(2)
			r.statsd.flush()
			r.statsd.flush() // unchanged gauges are not counted again
			got := lines(s.packets())
			for _, l := range got {
				if strings.Contains(strings.ToLower(l), "inf") || strings.Contains(strings.ToLower(l), "nan") {
					t.Errorf("line %q sent", l)
				}
			}
			if !slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "wait_ms") && strings.Contains(l, "2000|ms") }) {
				t.Errorf("the finite sample is missing: %q", got)
			}
			if n := r.statsd.dropped[dropNonFinite].Load(); n != 5 {
				t.Errorf("non_finite drops = %d, want 5 (3 gauges, 2 samples)", n)
			}
		})
	}
}

// TestStatsDSeveralValuesPerLine: a series' samples share lines up to the packet size, and
// every value arrives exactly once; OneValuePerLine sends one per line.
func TestStatsDSeveralValuesPerLine(t *testing.T) {
	for _, tc := range []struct {
		format  string
		oneEach bool
	}{{"dogstatsd", false}, {"graphite", false}, {"dogstatsd", true}, {"influx", true}} {
		t.Run(tc.format+"/one="+strconv.FormatBool(tc.oneEach), func(t *testing.T) {
			s := newStatsDServer(t)
			r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: s.addr(), Format: tc.format,
				FlushInterval: time.Hour, MaxPacketSize: 128, OneValuePerLine: tc.oneEach}})
			tm := must[*Timer](t)(r.Timer("op_seconds", "", "route")).With("/checkout")
			const n = 100
			for i := range n {
				tm.Observe(time.Duration(i) * time.Millisecond)
			}
			r.statsd.flush()
			pkts := s.packets()
			var seen []int
			got := lines(pkts)
			for _, p := range pkts {
				if len(p) > 128 {
					t.Fatalf("packet of %d bytes: %q", len(p), p)
				}
			}
			for _, l := range got {
				var vals []string
				if tc.format == "dogstatsd" {
					head, rest, _ := strings.Cut(l, ":")
					body, tail, _ := strings.Cut(rest, "|")
					if head != "op_ms" || tail != "ms|#route:/checkout" {
						t.Fatalf("line %q", l)
					}
					vals = strings.Split(body, ":")
				} else {
					bits := strings.Split(l, ":")
					if !strings.HasPrefix(bits[0], "op_ms") || !strings.Contains(bits[0], "route=") {
						t.Fatalf("line %q", l)
					}
					for _, b := range bits[1:] {
						v, typ, _ := strings.Cut(b, "|")
						if typ != "ms" {
							t.Fatalf("line %q: bit %q", l, b)
						}
						vals = append(vals, v)
					}
				}
				if tc.oneEach && len(vals) != 1 {
					t.Fatalf("line %q holds %d values, want 1", l, len(vals))
				}
				for _, v := range vals {
					i, err := strconv.Atoi(v)
					if err != nil {
						t.Fatalf("line %q: value %q", l, v)
					}
					seen = append(seen, i)
				}
			}
			slices.Sort(seen)
			if len(seen) != n || seen[0] != 0 || seen[n-1] != n-1 || slices.Compact(seen) == nil {
				t.Fatalf("values %v, want 0..%d once each", seen, n-1)
			}
			if !tc.oneEach && len(got) > n/5 {
				t.Errorf("%d lines for %d values in 128-byte packets: values are not sharing lines", len(got), n)
			}
		})
	}
}

// TestStatsDUnixSockets: unixgram:// and unix:// reach a datagram socket, unixstream:// and
// unix:// a stream socket, whose packets come after their 32-bit little-endian length.
func TestStatsDUnixSockets(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		stream bool
	}{{"unixgram://", false}, {"unix://", false}, {"unixstream://", true}, {"unix://", true}} {
		t.Run(tc.scheme+map[bool]string{false: "datagram", true: "stream"}[tc.stream], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dsd.sock")
			got := make(chan string, 16)
			if tc.stream {
				l, err := net.Listen("unix", path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
				go func() {
					conn, err := l.Accept()
					if err != nil {
						return
					}
					defer conn.Close()
					for {
						var n uint32
						if binary.Read(conn, binary.LittleEndian, &n) != nil {
							return
						}
						p := make([]byte, n)
						if _, err := io.ReadFull(conn, p); err != nil {
							return
						}
						got <- string(p)
					}
				}()
			} else {
				pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { pc.Close() })
				go func() {
					buf := make([]byte, 65536)
					for {
						n, err := pc.Read(buf)
						if err != nil {
							return
						}
						got <- string(buf[:n])
					}
				}()
			}
			r, err := New(Config{StatsD: StatsDConfig{Addr: tc.scheme + path, FlushInterval: time.Hour},
				DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
			if err != nil {
				t.Fatal(err)
			}
			if r.cfg.StatsD.MaxPacketSize != DefaultUnixPacketSize {
				t.Errorf("MaxPacketSize = %d, want %d over a Unix socket", r.cfg.StatsD.MaxPacketSize, DefaultUnixPacketSize)
			}
			c := must[*Counter](t)(r.Counter("hits_total", ""))
			c.Add(3)
			r.statsd.flush()
			c.Add(2)
			if err := r.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"hits_total:3|c", "hits_total:2|c"} {
				select {
				case p := <-got:
					if p != want {
						t.Fatalf("packet %q, want %q", p, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no packet %q", want)
				}
			}
		})
	}
}

// TestStatsDAddr: the address forms, and the errors for the others.
func TestStatsDAddr(t *testing.T) {
	for _, tc := range []struct {
		in, network, addr, err string
	}{
		{"127.0.0.1:8125", "udp", "127.0.0.1:8125", ""},
		{"udp://agent:8125", "udp", "agent:8125", ""},
		{"unix:///var/run/datadog/dsd.socket", "unix", "/var/run/datadog/dsd.socket", ""},
		{"unixgram:///tmp/s", "unixgram", "/tmp/s", ""},
		{"unixstream:///tmp/s", "unixstream", "/tmp/s", ""},
		{"udp://agent", "", "", "missing port in address"},
		{"unix://", "", "", "want a socket path after unix://"},
		{"tcp://agent:8125", "", "", "want host:port, or a udp://, unix://, unixgram:// or unixstream:// URL"},
		{"agent", "", "", "missing port in address"},
	} {
		got, err := parseStatsDAddr(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.network != tc.network || got.addr != tc.addr {
			t.Errorf("%q: %+v, %v; want %s %s", tc.in, got, err, tc.network, tc.addr)
		}
	}
}
