package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/logtest"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace"
)

// newTestRegistry returns a registry without the process-wide collectors and a buffer
// holding its log.
func newTestRegistry(t *testing.T, cfg Config) (*Registry, *logtest.Buffer) {
	t.Helper()
	var log logtest.Buffer
	cfg.DisableGoCollector, cfg.DisableProcessCollector, cfg.DisableHostCollector = true, true, true
	cfg.Logger = slog.New(slog.NewJSONHandler(&log, nil))
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return r, &log
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestKinds(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	c := must[*Counter](t)(r.Counter("orders_total", "Orders.", "status"))
	c.With("paid").Inc()
	c.With("paid").Add(2)
	c.With("failed").Add(0.5)
	plain := must[*Counter](t)(r.Counter("plain_total", "Label-less."))
	plain.Inc()

	g := must[*Gauge](t)(r.Gauge("queue_depth", "Depth.", "queue"))
	g.With("a").Set(10)
	g.With("a").Dec()
	g.With("a").Add(-2.5)
	inflight := must[*Gauge](t)(r.Gauge("in_flight", "In flight."))
	inflight.Inc()
	inflight.Inc()
	inflight.Dec()

	h := must[*Histogram](t)(r.NewHistogram(Opts{Name: "size_bytes", Help: "Sizes.", Labels: []string{"route"}, Buckets: []float64{10, 100}}))
	for _, v := range []float64{5, 50, 500, 10} {
		h.With("/a").Observe(v)
	}
	tm := must[*Timer](t)(r.NewTimer(Opts{Name: "job_duration_seconds", Help: "Jobs.", Buckets: []float64{0.1, 1}}))
	tm.Observe(50 * time.Millisecond)
	tm.Observe(2 * time.Second)
	func() { defer tm.Start().Stop() }()

	want := `
# HELP in_flight In flight.
# TYPE in_flight gauge
in_flight 1
# HELP job_duration_seconds Jobs.
# TYPE job_duration_seconds histogram
job_duration_seconds_bucket{le="0.1"} 2
job_duration_seconds_bucket{le="1"} 2
job_duration_seconds_bucket{le="+Inf"} 3
job_duration_seconds_count 3
# HELP orders_total Orders.
# TYPE orders_total counter
orders_total{status="failed"} 0.5
orders_total{status="paid"} 3
# HELP plain_total Label-less.
# TYPE plain_total counter
plain_total 1
# HELP queue_depth Depth.
# TYPE queue_depth gauge
queue_depth{queue="a"} 6.5
# HELP size_bytes Sizes.
# TYPE size_bytes histogram
size_bytes_bucket{route="/a",le="10"} 2
size_bytes_bucket{route="/a",le="100"} 3
size_bytes_bucket{route="/a",le="+Inf"} 4
size_bytes_sum{route="/a"} 565
size_bytes_count{route="/a"} 4
`
	// The timer's sum depends on the stopwatch; compare it apart.
	if err := testutil.GatherAndCompare(r.Prometheus(), strings.NewReader(want),
		"in_flight", "orders_total", "plain_total", "queue_depth", "size_bytes"); err != nil {
		t.Error(err)
	}
	mfs, _ := r.Prometheus().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "job_duration_seconds" {
			hm := mf.GetMetric()[0].GetHistogram()
			if hm.GetSampleCount() != 3 || hm.GetSampleSum() < 2.05 || hm.GetSampleSum() > 2.5 {
				t.Errorf("timer count=%d sum=%v, want 3 and about 2.05s", hm.GetSampleCount(), hm.GetSampleSum())
			}
			if hm.GetBucket()[0].GetCumulativeCount() != 2 {
				t.Errorf("timer bucket 0.1s = %d, want 2", hm.GetBucket()[0].GetCumulativeCount())
			}
		}
	}
}

func TestDefinitionIdempotentAndConflicts(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	a := must[*Counter](t)(r.Counter("req_total", "Requests.", "method"))
	b := must[*Counter](t)(r.Counter("req_total", "Other help is fine.", "method"))
	if a != b {
		t.Fatal("same definition returned a different family")
	}
	a.With("GET").Inc()
	b.With("GET").Inc()
	if got := a.With("GET").value(); got != 2 {
		t.Fatalf("shared series = %v, want 2", got)
	}
	l1 := must[*Gauge](t)(r.Gauge("temp", "T."))
	l2 := must[*Gauge](t)(r.Gauge("temp", "T."))
	if l1 != l2 {
		t.Fatal("label-less redefinition returned a different family")
	}

	for _, tc := range []struct {
		name string
		def  func() error
		want string
	}{
		{"other kind", func() error { _, err := r.Gauge("req_total", "", "method"); return err }, `"req_total" is already defined as a counter`},
		{"other labels", func() error { _, err := r.Counter("req_total", "", "route"); return err }, `cannot define it as a counter with labels ["route"]`},
		{"other buckets", func() error {
			_, _ = r.Histogram("lat", "")
			_, err := r.NewHistogram(Opts{Name: "lat", Buckets: []float64{1, 2}})
			return err
		}, "buckets [1 2]"},
		{"bad name", func() error { _, err := r.Counter("a-b", ""); return err }, `invalid metric name "a-b"`},
		{"bad label", func() error { _, err := r.Counter("x", "", "__x"); return err }, `invalid label name "__x"`},
		{"dup label", func() error { _, err := r.Counter("x", "", "a", "a"); return err }, `label "a" given twice`},
		{"le", func() error { _, err := r.Histogram("y", "", "le"); return err }, `"le" is reserved`},
		{"buckets", func() error { _, err := r.NewHistogram(Opts{Name: "z", Buckets: []float64{2, 1}}); return err }, "strictly increasing"},
		{"collector clash", func() error { _, err := r.Counter("vigil_metrics_series", ""); return err }, `defining "vigil_metrics_series"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.def()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestWrongLabelCountNeverPanics(t *testing.T) {
	r, log := newTestRegistry(t, Config{})
	c := must[*Counter](t)(r.Counter("hits_total", "", "route", "method"))
	c.With("/a").Inc()              // too few
	c.With("/a", "GET", "x").Add(3) // too many
	c.Inc()                         // labelled family used unbound
	h := must[*Histogram](t)(r.Histogram("h", "", "a"))
	h.Observe(1)
	h.With().ObserveContext(context.Background(), 1)
	tm := must[*Timer](t)(r.Timer("t", "", "a"))
	tm.Start().Stop()
	g := must[*Gauge](t)(r.Gauge("g", "", "a"))
	g.Set(1)

	if n := testutil.CollectAndCount(r.Prometheus(), "hits_total"); n != 0 {
		t.Errorf("misused observations exported: %d series", n)
	}
	want := `
# HELP vigil_metrics_label_errors_total Uses with a wrong number of label values (not exported).
# TYPE vigil_metrics_label_errors_total counter
vigil_metrics_label_errors_total{metric="g"} 1
vigil_metrics_label_errors_total{metric="h"} 2
vigil_metrics_label_errors_total{metric="hits_total"} 3
vigil_metrics_label_errors_total{metric="t"} 1
`
	if err := testutil.GatherAndCompare(r.Prometheus(), strings.NewReader(want), "vigil_metrics_label_errors_total"); err != nil {
		t.Error(err)
	}
	if n := strings.Count(log.String(), `"metric":"hits_total"`); n != 1 {
		t.Errorf("hits_total misuse logged %d times, want once:\n%s", n, log)
	}
}

func TestInvalidValues(t *testing.T) {
	r, log := newTestRegistry(t, Config{})
	c := must[*Counter](t)(r.Counter("c_total", ""))
	c.Add(-1)
	c.Add(nan())
	c.Add(2)
	h := must[*Histogram](t)(r.Histogram("h", ""))
	h.Observe(nan())
	if got := c.value(); got != 2 {
		t.Errorf("counter = %v, want 2", got)
	}
	want := `
# HELP vigil_metrics_invalid_values_total Values ignored as invalid: NaN, or a negative counter increment.
# TYPE vigil_metrics_invalid_values_total counter
vigil_metrics_invalid_values_total{metric="c_total"} 2
vigil_metrics_invalid_values_total{metric="h"} 1
`
	if err := testutil.GatherAndCompare(r.Prometheus(), strings.NewReader(want), "vigil_metrics_invalid_values_total"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(log.String(), "invalid value ignored") {
		t.Errorf("no log line: %s", log)
	}
}

func TestSeriesLimitOverflow(t *testing.T) {
	r, log := newTestRegistry(t, Config{SeriesLimit: 3})
	c := must[*Counter](t)(r.Counter("req_total", "", "user", "route"))
	for _, u := range []string{"a", "b", "c", "d", "e", "a"} {
		c.With(u, "/x").Inc()
	}
	c.With("f", "/y").Add(5)
	small := must[*Gauge](t)(r.NewGauge(Opts{Name: "g", Labels: []string{"k"}, SeriesLimit: 1}))
	small.With("1").Set(1)
	small.With("2").Set(2)

	want := `
# HELP g g
# TYPE g gauge
g{k="1"} 1
g{k="_overflow"} 2
# HELP req_total req_total
# TYPE req_total counter
req_total{route="/x",user="a"} 2
req_total{route="/x",user="b"} 1
req_total{route="/x",user="c"} 1
req_total{route="_overflow",user="_overflow"} 7
# HELP vigil_metrics_overflow_total Lookups routed to the overflow series because the family reached its series limit.
# TYPE vigil_metrics_overflow_total counter
vigil_metrics_overflow_total{metric="g"} 1
vigil_metrics_overflow_total{metric="req_total"} 3
# HELP vigil_metrics_series Series held by a metric family, its overflow series included.
# TYPE vigil_metrics_series gauge
vigil_metrics_series{metric="g"} 2
vigil_metrics_series{metric="req_total"} 4
`
	if err := testutil.GatherAndCompare(r.Prometheus(), strings.NewReader(want),
		"req_total", "g", "vigil_metrics_overflow_total", "vigil_metrics_series"); err != nil {
		t.Error(err)
	}
	if n := strings.Count(log.String(), "series limit reached"); n != 2 {
		t.Errorf("overflow logged %d times, want once per family:\n%s", n, log)
	}
}

func TestManySeriesGrowth(t *testing.T) {
	// Exercises the table's growth (eight doublings) and lookups after each.
	r, _ := newTestRegistry(t, Config{})
	c := must[*Counter](t)(r.Counter("n_total", "", "i"))
	keys := make([]string, 1500)
	for i := range keys {
		keys[i] = string(rune('a'+i%26)) + strings.Repeat("x", i/26)
	}
	for round := 0; round < 3; round++ {
		for _, k := range keys {
			c.With(k).Inc()
		}
	}
	if n := testutil.CollectAndCount(r.Prometheus(), "n_total"); n != len(keys) {
		t.Fatalf("series = %d, want %d", n, len(keys))
	}
	for _, k := range keys[:50] {
		if v := c.With(k).value(); v != 3 {
			t.Fatalf("%s = %v, want 3", k, v)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	r, _ := newTestRegistry(t, Config{SeriesLimit: 50, StatsD: StatsDConfig{Addr: "127.0.0.1:9", FlushInterval: 10 * time.Millisecond}})
	c := must[*Counter](t)(r.Counter("c_total", "", "k"))
	h := must[*Histogram](t)(r.Histogram("h", "", "k"))
	g := must[*Gauge](t)(r.Gauge("g", "", "k"))
	tm := must[*Timer](t)(r.Timer("t", "", "k"))
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	const workers, ops = 4, 2000
	for w := range workers {
		wg.Go(func() {
			ctx := sampledContext()
			for i := range ops {
				k := string(rune('a' + (i+w)%60)) // more than the limit: overflow under contention
				c.With(k).Inc()
				h.With(k).ObserveContext(ctx, float64(i))
				g.With(k).Add(1)
				tm.With(k).Observe(time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			resp, err := http.Get(srv.URL)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
	wg.Wait()
	var total float64
	mfs, _ := r.Prometheus().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "c_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
			if len(mf.GetMetric()) != 51 {
				t.Errorf("c_total series = %d, want 50 + overflow", len(mf.GetMetric()))
			}
		}
	}
	if total != workers*ops {
		t.Errorf("c_total sum = %v, want %d (no increment lost)", total, workers*ops)
	}
}

func nan() float64 { var z float64; return z / z }

// sampledContext holds a sampled span context with fixed ids.
func sampledContext() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

func TestHandlerNegotiatesAndShowsExemplars(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	h := must[*Histogram](t)(r.NewHistogram(Opts{Name: "lat_seconds", Help: "L.", Buckets: []float64{0.1, 1}}))
	h.ObserveContext(sampledContext(), 0.05)
	h.ObserveContext(context.Background(), 0.5) // no span: no exemplar
	unsampled := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}}))
	h.ObserveContext(unsampled, 0.7)
	tm := must[*Timer](t)(r.NewTimer(Opts{Name: "op_seconds", Help: "O.", Buckets: []float64{1}}))
	tm.ObserveContext(sampledContext(), 3*time.Second)

	get := func(accept string) (string, string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		r.Handler().ServeHTTP(rec, req)
		return rec.Header().Get("Content-Type"), rec.Body.String()
	}
	ct, body := get("")
	if !strings.HasPrefix(ct, "text/plain") || strings.Contains(body, "trace_id") {
		t.Errorf("text format: %s\n%s", ct, body)
	}
	ct, body = get("application/openmetrics-text; version=1.0.0")
	if !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("content type %q", ct)
	}
	// Exemplar labels come in either order.
	ex := `# \{(trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"|span_id="00f067aa0ba902b7",trace_id="4bf92f3577b34da6a3ce929d0e0e4736")\} `
	for _, want := range []string{
		`(?m)^lat_seconds_bucket\{le="0.1"\} 1 ` + ex + `0.05 `,
		`(?m)^lat_seconds_bucket\{le="1.0"\} 3$`, // the 0.5 and 0.7 observations carry none
		`(?m)^op_seconds_bucket\{le="\+Inf"\} 1 ` + ex + `3.0 `,
		`(?m)^# EOF$`,
	} {
		if !regexp.MustCompile(want).MatchString(body) {
			t.Errorf("OpenMetrics body does not match %s:\n%s", want, body)
		}
	}
}

// TestConfigErrorsNameTheField checks the fields alone; the VIGIL_* variables that fill
// them are package observe's (TestSettingsEveryVariable there).
func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"series limit", Config{SeriesLimit: -1}, `metrics: SeriesLimit="-1"`},
		{"format", Config{StatsD: StatsDConfig{Format: "xml"}}, `metrics: StatsD.Format="xml"`},
		{"statsd addr", Config{StatsD: StatsDConfig{Addr: "nohost"}}, `metrics: StatsD.Addr="nohost"`},
		{"flush", Config{StatsD: StatsDConfig{FlushInterval: time.Millisecond}}, `metrics: StatsD.FlushInterval="1ms"`},
		{"packet", Config{StatsD: StatsDConfig{MaxPacketSize: 10}}, `metrics: StatsD.MaxPacketSize="10"`},
		{"push url", Config{Push: PushConfig{URL: "ftp://x"}}, `metrics: Push.URL="ftp://x"`},
		// The password in a bad URL stays out of the message.
		{"push url password", Config{Push: PushConfig{URL: "ftp://ops:s3cret@gw:9091"}}, `metrics: Push.URL=`},
		{"push interval", Config{Push: PushConfig{Interval: -time.Second}}, `metrics: Push.Interval="-1s"`},
		{"graphite addr", Config{Graphite: GraphiteConfig{Addr: "x:99999"}}, `metrics: Graphite.Addr="x:99999"`},
		{"allow key", Config{AllowKeys: []string{""}}, `metrics: AllowKeys[0]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DisableGoCollector, tc.cfg.DisableProcessCollector = true, true
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("err leaks the password: %v", err)
			}
		})
	}
}

// The parsers observe's settings table calls for the variables.
func TestParsers(t *testing.T) {
	if f, err := ParseStatsDFormat(" InFlux "); err != nil || f != "influx" {
		t.Errorf("ParseStatsDFormat = %q, %v", f, err)
	}
	if _, err := ParseStatsDFormat("carbon"); err == nil {
		t.Error("ParseStatsDFormat accepted carbon")
	}
	if _, err := ParseAddr("host:99999"); err == nil {
		t.Error("ParseAddr accepted port 99999")
	}
	if _, err := ParsePushURL("ftp://ops:s3cret@gw"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("ParsePushURL error %v", err)
	}
}

func TestFuncs(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	var dropped float64 = 3
	if err := r.CounterFunc("vigil_errors_dropped_total", "Dropped events.", func() float64 { return dropped }); err != nil {
		t.Fatal(err)
	}
	if err := r.CounterFunc("vigil_errors_dropped_total", "Dropped events.", func() float64 { return 0 }); err != nil {
		t.Fatalf("redefinition: %v", err)
	}
	if err := r.GaugeFunc("vigil_errors_dropped_total", "", func() float64 { return 0 }); err == nil {
		t.Fatal("gauge func over a counter func accepted")
	}
	want := `
# HELP vigil_errors_dropped_total Dropped events.
# TYPE vigil_errors_dropped_total counter
vigil_errors_dropped_total 3
`
	if err := testutil.GatherAndCompare(r.Prometheus(), strings.NewReader(want), "vigil_errors_dropped_total"); err != nil {
		t.Error(err)
	}
}
