package metrics

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-go/vigil/internal/envtest"
)

// statsdServer is a UDP listener that keeps every packet.
type statsdServer struct {
	t  *testing.T
	pc net.PacketConn
}

func newStatsDServer(t *testing.T) *statsdServer {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &statsdServer{t: t, pc: pc}
}

func (s *statsdServer) addr() string { return s.pc.LocalAddr().String() }

// packets reads until the socket stays quiet for a moment.
func (s *statsdServer) packets() []string {
	var out []string
	buf := make([]byte, 65536)
	for {
		_ = s.pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := s.pc.ReadFrom(buf)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}

// lines splits packets into lines, sorted.
func lines(packets []string) []string {
	var out []string
	for _, p := range packets {
		out = append(out, strings.Split(p, "\n")...)
	}
	slices.Sort(out)
	return out
}

// statsdRegistry uses a flush interval long enough that only the test flushes.
func statsdRegistry(t *testing.T, s *statsdServer, format, prefix string, maxPacket int) *Registry {
	r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{
		Addr: s.addr(), Format: format, Prefix: prefix, FlushInterval: time.Hour, MaxPacketSize: maxPacket}})
	return r
}

func record(t *testing.T, r *Registry) {
	c := must[*Counter](t)(r.Counter("http_requests_total", "", "route", "status_class"))
	for range 3 {
		c.With("/orders/{id}", "2xx").Inc()
	}
	c.With("/orders/{id}", "5xx").Add(2)
	g := must[*Gauge](t)(r.Gauge("queue_depth", ""))
	g.Set(7)
	g.Set(4) // aggregated: the last value wins
	h := must[*Histogram](t)(r.Histogram("body_bytes", "", "route"))
	h.With("/a").Observe(512)
	h.With("/a").Observe(1024)
	tm := must[*Timer](t)(r.Timer("job_duration_seconds", ""))
	tm.Observe(1500 * time.Millisecond)
}

func TestStatsDFormats(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"dogstatsd", []string{
			"app.body_bytes:512:1024|h|#route:/a",
			"app.http_requests_total:2|c|#route:/orders/{id},status_class:5xx",
			"app.http_requests_total:3|c|#route:/orders/{id},status_class:2xx",
			"app.job_duration_ms:1500|ms",
			"app.queue_depth:4|g",
		}},
		{"influx", []string{
			"app.body_bytes,route=/a:512|h:1024|h",
			"app.http_requests_total,route=/orders/{id},status_class=2xx:3|c",
			"app.http_requests_total,route=/orders/{id},status_class=5xx:2|c",
			"app.job_duration_ms:1500|ms",
			"app.queue_depth:4|g",
		}},
		{"graphite", []string{
			"app.body_bytes_count;route=_a:2|c",
			"app.body_bytes_sum;route=_a:1536|c",
			"app.http_requests_total;route=_orders__id_;status_class=2xx:3|c",
			"app.http_requests_total;route=_orders__id_;status_class=5xx:2|c",
			"app.job_duration_ms:1500|ms",
			"app.queue_depth:4|g",
		}},
		{"plain", []string{
			"app.body_bytes_count._a:2|c",
			"app.body_bytes_sum._a:1536|c",
			"app.http_requests_total._orders__id_.2xx:3|c",
			"app.http_requests_total._orders__id_.5xx:2|c",
			"app.job_duration_ms:1500|ms",
			"app.queue_depth:4|g",
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			s := newStatsDServer(t)
			r := statsdRegistry(t, s, tc.format, "app", 0)
			record(t, r)
			r.statsd.flush()
			got := lines(s.packets())
			if !slices.Equal(got, tc.want) {
				t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			// The next flush sends only what changed: counters' increase, new samples.
			c := must[*Counter](t)(r.Counter("http_requests_total", "", "route", "status_class"))
			c.With("/orders/{id}", "2xx").Inc()
			r.statsd.flush()
			got = lines(s.packets())
			if len(got) != 1 || !strings.Contains(got[0], ":1|c") {
				t.Fatalf("second flush: %q, want only the counter's increase of 1", got)
			}
		})
	}
}

func TestStatsDSanitizes(t *testing.T) {
	evil := "a:b|c@d,e#f\ng=h;i j\\k\"l'm\x00é"
	for _, tc := range []struct{ format, want string }{
		{"dogstatsd", "my_app.x_total:1|c|#k:a_b_c_d_e_f_g_h_i_j_k_l_m___"},
		{"influx", "my_app.x_total,k=a_b_c_d_e_f_g_h_i_j_k_l_m___:1|c"},
		{"graphite", "my_app.x_total;k=a_b_c_d_e_f_g_h_i_j_k_l_m___:1|c"},
		{"plain", "my_app.x_total.a_b_c_d_e_f_g_h_i_j_k_l_m___:1|c"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			s := newStatsDServer(t)
			r := statsdRegistry(t, s, tc.format, "my app", 0)
			must[*Counter](t)(r.Counter("x_total", "", "k")).With(evil).Inc()
			r.statsd.flush()
			got := lines(s.packets())
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatsDPacketSizeBound(t *testing.T) {
	s := newStatsDServer(t)
	r := statsdRegistry(t, s, "dogstatsd", "", 128)
	c := must[*Counter](t)(r.Counter("requests_total", "", "route"))
	const n = 200
	want := make([]string, 0, n)
	for i := range n {
		route := "/r" + strings.Repeat("x", i%40)
		c.With(route + string(rune('a'+i/40))).Inc()
		want = append(want, "requests_total:1|c|#route:"+route+string(rune('a'+i/40)))
	}
	huge := strings.Repeat("y", 200) // one line over the limit: dropped, counted
	c.With(huge).Inc()
	r.statsd.flush()
	pkts := s.packets()
	for _, p := range pkts {
		if len(p) > 128 {
			t.Fatalf("packet of %d bytes > 128: %q", len(p), p)
		}
	}
	if len(pkts) < n/5 {
		t.Errorf("only %d packets for %d lines", len(pkts), n)
	}
	got := lines(pkts)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want %d; first %q", len(got), len(want), got[:3])
	}
	if d := r.statsd.dropped[dropOversize].Load(); d != 1 {
		t.Errorf("oversize drops = %d, want 1", d)
	}
}

func TestStatsDNegativeGaugeOutsideDogStatsD(t *testing.T) {
	s := newStatsDServer(t)
	r := statsdRegistry(t, s, "plain", "", 0)
	must[*Gauge](t)(r.Gauge("temp", "")).Set(-5)
	r.statsd.flush()
	pkts := s.packets()
	if len(pkts) != 1 || pkts[0] != "temp:0|g\ntemp:-5|g" {
		t.Fatalf("got %q, want the reset then the negative value in one packet", pkts)
	}
}

func TestStatsDReservoir(t *testing.T) {
	s := newStatsDServer(t)
	r := statsdRegistry(t, s, "dogstatsd", "", 0)
	h := must[*Histogram](t)(r.Histogram("h", ""))
	for i := range 4 * maxSamples {
		h.Observe(float64(i))
	}
	r.statsd.flush()
	got := lines(s.packets())
	values := 0
	for _, l := range got {
		if !strings.HasSuffix(l, "|h|@0.250000") {
			t.Fatalf("line %q lacks the sample rate", l)
		}
		values += strings.Count(l, ":")
	}
	if values != maxSamples {
		t.Fatalf("%d samples in %d lines, want %d", values, len(got), maxSamples)
	}
	if th := r.statsd.thinned.Load(); th != 3*maxSamples {
		t.Errorf("thinned = %d, want %d", th, 3*maxSamples)
	}
}

func TestStatsDUnreachableNeverBlocks(t *testing.T) {
	r, log := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: "statsd.invalid:8125", FlushInterval: time.Hour}})
	c := must[*Counter](t)(r.Counter("c_total", ""))
	start := time.Now()
	for range 1000 {
		c.Inc()
	}
	// An operation that resolved or dialled the server would wait on the network.
	if d := time.Since(start); d > envtest.Blocked {
		t.Fatalf("operations took %v with a dead server", d)
	}
	r.statsd.flush()
	r.statsd.flush()
	// Shutdown names the loss: the one line of the first flush (the others had nothing new).
	if err := r.Shutdown(context.Background()); err == nil || err.Error() != "metrics: 1 StatsD line not sent: 1 server unresolved or unreachable" {
		t.Fatalf("Shutdown = %v", err)
	}
	want := `
# HELP vigil_metrics_statsd_dropped_total StatsD lines dropped, by reason: unresolved, send, oversize, deadline, non_finite.
# TYPE vigil_metrics_statsd_dropped_total counter
vigil_metrics_statsd_dropped_total{reason="deadline"} 0
vigil_metrics_statsd_dropped_total{reason="non_finite"} 0
vigil_metrics_statsd_dropped_total{reason="oversize"} 0
vigil_metrics_statsd_dropped_total{reason="send"} 0
vigil_metrics_statsd_dropped_total{reason="unresolved"} 1
`
	if err := testutil.GatherAndCompare(r.Prometheus(), strings.NewReader(want), "vigil_metrics_statsd_dropped_total"); err != nil {
		t.Error(err)
	}
	if n := strings.Count(log.String(), "statsd server unreachable"); n != 1 {
		t.Errorf("unreachable logged %d times, want once:\n%s", n, log)
	}
}

func TestStatsDFlushesInBackgroundAndAtShutdown(t *testing.T) {
	s := newStatsDServer(t)
	r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: s.addr(), FlushInterval: 20 * time.Millisecond}})
	c := must[*Counter](t)(r.Counter("ticks_total", ""))
	c.Inc()
	got := lines(s.packets())
	if !slices.Contains(got, "ticks_total:1|c") {
		t.Fatalf("background flush: %q", got)
	}
	c.Add(4)
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = lines(s.packets())
	if !slices.Contains(got, "ticks_total:4|c") {
		t.Fatalf("final flush: %q", got)
	}
	if n, _ := testutil.GatherAndCount(r.Prometheus(), "vigil_metrics_statsd_packets_total"); n != 1 {
		t.Error("no packets self-metric")
	}
}

// A gauge that went up and back down between flushes (in-flight requests) still reports.
func TestStatsDGaugeBackToZeroIsSent(t *testing.T) {
	s := newStatsDServer(t)
	r := statsdRegistry(t, s, "dogstatsd", "", 0)
	g := must[*Gauge](t)(r.Gauge("active_requests", "", "method")).With("GET")
	g.Inc()
	g.Dec()
	r.statsd.flush()
	if got := lines(s.packets()); !slices.Equal(got, []string{"active_requests:0|g|#method:GET"}) {
		t.Fatalf("got %q", got)
	}
}

// A server that went away (connection refused: ICMP port unreachable on loopback) costs the
// caller nothing; the lost lines are counted as send drops.
func TestStatsDConnectionRefusedNeverBlocks(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close() // nothing listens there any more
	r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: addr, FlushInterval: time.Hour}})
	c := must[*Counter](t)(r.Counter("c_total", ""))
	start := time.Now()
	for i := range 50 {
		c.Inc()
		r.statsd.flush() // each flush writes one packet; the refusal surfaces on the next write
		if i == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if d := time.Since(start); d > envtest.Blocked {
		t.Fatalf("50 flushes took %v with the server gone: a flush waited on it", d)
	}
	mfs, err := r.Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sendDrops float64
	for _, mf := range mfs {
		if mf.GetName() != "vigil_metrics_statsd_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == "send" {
					sendDrops = m.GetCounter().GetValue()
				}
			}
		}
	}
	if sendDrops < 1 {
		t.Errorf("send drops = %v, want the refused writes counted", sendDrops)
	}
}
