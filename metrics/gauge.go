package metrics

import (
	"math"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Gauge is a gauge family, or one bound series of it; see Counter for With.
//
// In StatsD a gauge is sent with its last value when it changed since the previous flush,
// and at least every gaugeRefresh flushes, since some servers forget idle gauges.
type Gauge struct {
	vec     *vec[Gauge]
	unbound bool
	bits    atomic.Uint64 // float64 bits
}

// With returns the series for the label values; see Counter.With.
func (g *Gauge) With(values ...string) *Gauge { return g.vec.with(values) }

// Set sets the gauge to v.
func (g *Gauge) Set(v float64) {
	if g.unbound {
		g.vec.mismatch(0)
		return
	}
	g.bits.Store(math.Float64bits(v))
}

// Add adds v, which may be negative.
func (g *Gauge) Add(v float64) {
	if g.unbound {
		g.vec.mismatch(0)
		return
	}
	addFloat(&g.bits, v)
}

// Inc adds 1.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts 1.
func (g *Gauge) Dec() { g.Add(-1) }

func (g *Gauge) value() float64 { return math.Float64frombits(g.bits.Load()) }

func newGaugeVec(f *family) *vec[Gauge] {
	return newVec(f, func(v *vec[Gauge], n *node[Gauge]) { n.val.vec = v })
}

type gaugeFamily struct{ *vec[Gauge] }

func (f gaugeFamily) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f gaugeFamily) Collect(ch chan<- prometheus.Metric) {
	for _, n := range f.series() {
		ch <- prometheus.MustNewConstMetric(f.desc, prometheus.GaugeValue, n.val.value(), n.values...)
	}
}

// gaugeRefresh is how many flushes an unchanged gauge may go unsent.
const gaugeRefresh = 10

func (f gaugeFamily) flushStatsD(w *statsdWriter) {
	for _, n := range f.series() {
		cur := n.val.value()
		st := &n.stat
		st.idle++
		if math.IsNaN(cur) || (st.sent && cur == st.last && st.idle < gaugeRefresh) {
			continue
		}
		w.gauge(st, cur)
		st.last, st.sent, st.idle = cur, true, 0
	}
}
