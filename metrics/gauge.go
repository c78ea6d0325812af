package metrics

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
)

// Gauge is a gauge family, or one bound series of it; see Counter for With.
//
// In StatsD a gauge is sent with its last value when it changed since the previous flush,
// and at least every gaugeRefresh flushes, since some servers forget idle gauges.
type Gauge struct {
	vec     *vec[Gauge]
	unbound bool
	to      unsafe.Pointer // *Gauge; see Counter
	bits    atomic.Uint64  // float64 bits
}

// With returns the series for the label values; see Counter.With.
func (g *Gauge) With(values ...string) *Gauge {
	return g.vec.withFor(g, &g.to, values)
}

// Set sets the gauge to v.
func (g *Gauge) Set(v float64) {
	if atomic.LoadPointer(&g.to) != nil {
		g = g.resolve()
	}
	g.bits.Store(math.Float64bits(v))
}

// resolve returns the series a redirected handle records into: the forwarding target,
// or, for a misuse (counted), the family's series that is never exported. Kept out of
// Set so that Set is inlined.
func (g *Gauge) resolve() *Gauge {
	t := g.redirect()
	if t.unbound {
		t.vec.mismatch(0)
		return &t.vec.discard.val
	}
	return t
}

// Add adds v, which may be negative.
func (g *Gauge) Add(v float64) {
	if t := g.redirect(); t != nil {
		if t.unbound {
			t.vec.mismatch(0)
			return
		}
		g = t
	}
	addFloat(&g.bits, v)
}

// Inc adds 1.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts 1.
func (g *Gauge) Dec() { g.Add(-1) }

// unboundGauge returns the handle of a labelled gauge family.
func unboundGauge(v *vec[Gauge]) *Gauge {
	g := &Gauge{vec: v, unbound: true}
	g.to = unsafe.Pointer(g)
	return g
}

func (g *Gauge) redirect() *Gauge   { return (*Gauge)(atomic.LoadPointer(&g.to)) }
func (g *Gauge) vecOf() *vec[Gauge] { return g.vec }
func (g *Gauge) swapTarget(t *Gauge) *Gauge {
	return (*Gauge)(atomic.SwapPointer(&g.to, unsafe.Pointer(t)))
}

// moveTo gives t the value of g: a gauge is a state, so it follows its handle wherever
// the handle records (see Registry.Forward).
func (g *Gauge) moveTo(t *Gauge) { t.bits.Store(g.bits.Load()) }

func (g *Gauge) value() float64 { return math.Float64frombits(g.bits.Load()) }

func newGaugeVec(f *family) *vec[Gauge] {
	return newVec(f, func(v *vec[Gauge], n *node[Gauge]) { n.val.vec = v }, (*Gauge).vecOf)
}

type gaugeFamily struct{ *vec[Gauge] }

func (f gaugeFamily) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f gaugeFamily) Collect(ch chan<- prometheus.Metric) {
	collectValues(f.family, f.series(), false, (*Gauge).value, ch)
}

// gaugeRefresh is how many flushes an unchanged gauge may go unsent.
const gaugeRefresh = 10

func (f gaugeFamily) flushStatsD(w *statsdWriter) {
	for _, n := range f.series() {
		cur := n.val.value()
		st := &n.stat
		st.idle++
		// Compared as bits, so that an unchanged NaN counts as unchanged: an infinite or
		// NaN gauge is dropped (and counted) when it would be sent, not at every flush.
		if st.sent && math.Float64bits(cur) == math.Float64bits(st.last) && st.idle < gaugeRefresh {
			continue
		}
		w.gauge(st, cur)
		st.last, st.sent, st.idle = cur, true, 0
	}
}
