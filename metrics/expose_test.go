package metrics

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The series a family writes for the exposition are what client_golang's const metrics
// say for the same values, in the text format and in OpenMetrics (exemplars included),
// scrape after scrape (the shared label pairs and exemplars are not disturbed).
func TestExpositionMatchesConstMetrics(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	buckets := []float64{0.01, 0.1, 1}
	c := must[*Counter](t)(r.Counter("reqs_total", "Requests.", "route", "code"))
	g := must[*Gauge](t)(r.Gauge("inflight", "In flight.", "route"))
	h := must[*Histogram](t)(r.NewHistogram(Opts{Name: "size_bytes", Help: "Sizes.", Labels: []string{"route", "a"}, Buckets: buckets}))
	tm := must[*Timer](t)(r.NewTimer(Opts{Name: "lat_seconds", Help: "Latency.", Labels: []string{"z", "route"}, Buckets: buckets}))

	ref := prometheus.NewRegistry()
	var refMetrics []prometheus.Metric
	cd := prometheus.NewDesc("reqs_total", "Requests.", []string{"route", "code"}, nil)
	gd := prometheus.NewDesc("inflight", "In flight.", []string{"route"}, nil)
	hd := prometheus.NewDesc("size_bytes", "Sizes.", []string{"route", "a"}, nil)
	td := prometheus.NewDesc("lat_seconds", "Latency.", []string{"z", "route"}, nil)
	at := time.Unix(1700000000, 123456789)
	sc := sampledContext()
	exLabels := prometheus.Labels{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}
	for i := range 5 {
		route := fmt.Sprintf("/r/%d", i)
		c.With(route, "200").Add(float64(i) + 0.5)
		refMetrics = append(refMetrics, prometheus.MustNewConstMetric(cd, prometheus.CounterValue, float64(i)+0.5, route, "200"))
		g.With(route).Set(float64(-i))
		refMetrics = append(refMetrics, prometheus.MustNewConstMetric(gd, prometheus.GaugeValue, float64(-i), route))

		hs := h.With(route, "x\"y\\z\n")
		cum := map[float64]uint64{}
		var n uint64
		var sum float64
		for j := range i + 1 {
			v := float64(j) * 0.3
			hs.Observe(v)
			n++
			sum += v
		}
		for _, b := range buckets {
			for j := range i + 1 {
				if float64(j)*0.3 <= b {
					cum[b]++
				}
			}
		}
		refMetrics = append(refMetrics, prometheus.MustNewConstHistogram(hd, n, sum, cum, route, "x\"y\\z\n"))

		// One timer series per route with an exemplar: in a bucket, or above them all.
		v := []time.Duration{5 * time.Millisecond, 3 * time.Second}[i%2]
		ts := tm.With("q", route)
		ts.ObserveContext(sc, v)
		slots := *ts.h.ex.Load()
		for k := range slots {
			if slots[k].set {
				slots[k].at = at.UnixNano() // a fixed time, so the reference can have it
				slots[k].out = nil
			}
		}
		tcum := map[float64]uint64{}
		for _, b := range buckets {
			if v.Seconds() <= b {
				tcum[b] = 1
			} else {
				tcum[b] = 0
			}
		}
		refMetrics = append(refMetrics, prometheus.MustNewMetricWithExemplars(
			prometheus.MustNewConstHistogram(td, 1, v.Seconds(), tcum, "q", route),
			prometheus.Exemplar{Value: v.Seconds(), Labels: exLabels, Timestamp: at}))
	}
	ref.MustRegister(constCollector(refMetrics))

	for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeOpenMetrics)} {
		want := encode(t, ref, format)
		for scrape := range 2 {
			if got := encode(t, r.reg, format); got != want {
				t.Fatalf("%s, scrape %d:\n%s\nwant (client_golang's const metrics):\n%s", format, scrape, got, want)
			}
		}
	}
}

type constCollector []prometheus.Metric

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }
func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// encode writes g's families in format, exemplar labels in one order, leaving out the
// registry's self-metrics.
func encode(t *testing.T, g prometheus.Gatherer, format expfmt.Format) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, format)
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "vigil_metrics_") {
			continue // the registry's own series, which the reference lacks
		}
		for _, m := range mf.GetMetric() {
			for _, bk := range m.GetHistogram().GetBucket() {
				if e := bk.GetExemplar(); e != nil && len(e.Label) == 2 && e.Label[0].GetName() > e.Label[1].GetName() {
					e.Label = []*dto.LabelPair{e.Label[1], e.Label[0]}
				}
			}
		}
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		_ = c.Close()
	}
	return b.String()
}

// A scrape of many series allocates per family, not per bucket.
func TestScrapeAllocations(t *testing.T) {
	r, _ := newTestRegistry(t, Config{SeriesLimit: 5000})
	h := must[*Histogram](t)(r.Histogram("lat_seconds", "Latency.", "route"))
	for i := range 1000 {
		h.With(fmt.Sprintf("/r/%d", i)).ObserveContext(context.Background(), 0.01)
	}
	if _, err := r.reg.Gather(); err != nil { // label pairs are made at the first scrape
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(3, func() { _, _ = r.reg.Gather() })
	// The registry itself allocates a dto.Metric per series; client_golang's histogram
	// adds three allocations per bucket (twelve buckets here) on top.
	if per := allocs / 1000; per > 3 {
		t.Errorf("%.1f allocations per series and scrape", per)
	}
}
