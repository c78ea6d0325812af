package metrics

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
)

// Counter is a counter family, or one bound series of it. A family with labels is bound
// with With; a label-less family is itself its only series. Counters only go up: a
// negative or NaN Add is counted as invalid and ignored.
//
// In StatsD a counter is sent as the increase since the previous flush ("|c"), so the
// hot path is the same atomic add whether StatsD is on or off.
type Counter struct {
	vec     *vec[Counter]
	unbound bool // a labelled family used without With
	// to is where the handle records instead of itself, read on every operation: nil for
	// a series recording into itself (the common case, kept to one load and a branch),
	// the handle itself when every use is a misuse (unbound), or the matching handle of
	// another registry while forwarded (Registry.Forward). An unsafe.Pointer rather than
	// an atomic.Pointer keeps Inc within the inliner's budget.
	to   unsafe.Pointer // *Counter
	n    atomic.Uint64  // integral increments: one atomic add, the common case
	frac atomic.Uint64  // float64 bits of the non-integral increments
}

// With returns the series for the label values, in the order the labels were defined.
// Keep the result (per route, per method...) to skip even the lookup. A wrong number of
// values returns a series that is not exported, counts the misuse and logs it once;
// once the family holds its series limit, new values share one overflow series.
func (c *Counter) With(values ...string) *Counter {
	return c.vec.withFor(c, &c.to, values)
}

// Inc adds 1.
func (c *Counter) Inc() {
	if atomic.LoadPointer(&c.to) == nil {
		c.n.Add(1)
		return
	}
	c.incVia()
}

// incVia is Inc on a redirected handle: the handle it records into records itself
// (Forward builds no chains), and an unbound family counts a misuse. Not inlined, so
// that Inc is.
//
//go:noinline
func (c *Counter) incVia() {
	t := c.redirect()
	if t == nil { // redirected back meanwhile
		t = c
	}
	if t.unbound {
		t.vec.mismatch(0)
		return
	}
	t.n.Add(1)
}

// Add adds v, which must be zero or positive.
func (c *Counter) Add(v float64) {
	if t := c.redirect(); t != nil {
		if t.unbound {
			t.vec.mismatch(0)
			return
		}
		c = t
	}
	if !(v >= 0) || math.IsInf(v, 1) { // also catches NaN
		c.vec.invalidValue(v)
		return
	}
	if u := uint64(v); float64(u) == v {
		c.n.Add(u)
		return
	}
	addFloat(&c.frac, v)
}

// unboundCounter returns the handle of a labelled counter family.
func unboundCounter(v *vec[Counter]) *Counter {
	c := &Counter{vec: v, unbound: true}
	c.to = unsafe.Pointer(c)
	return c
}

func (c *Counter) redirect() *Counter   { return (*Counter)(atomic.LoadPointer(&c.to)) }
func (c *Counter) vecOf() *vec[Counter] { return c.vec }
func (c *Counter) swapTarget(t *Counter) *Counter {
	return (*Counter)(atomic.SwapPointer(&c.to, unsafe.Pointer(t)))
}

// moveTo adds c's count to t and zeroes c's (see Registry.Forward).
func (c *Counter) moveTo(t *Counter) {
	t.n.Add(c.n.Swap(0))
	addFloat(&t.frac, math.Float64frombits(c.frac.Swap(0)))
}

func (c *Counter) value() float64 {
	return float64(c.n.Load()) + math.Float64frombits(c.frac.Load())
}

// addFloat adds v to the float64 stored as bits in a.
func addFloat(a *atomic.Uint64, v float64) {
	for {
		old := a.Load()
		if a.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func newCounterVec(f *family) *vec[Counter] {
	return newVec(f, func(v *vec[Counter], n *node[Counter]) { n.val.vec = v }, (*Counter).vecOf)
}

type counterFamily struct{ *vec[Counter] }

func (f counterFamily) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f counterFamily) Collect(ch chan<- prometheus.Metric) {
	collectValues(f.family, f.series(), true, (*Counter).value, ch)
}

func (f counterFamily) flushStatsD(w *statsdWriter) {
	for _, n := range f.series() {
		cur := n.val.value()
		if d := cur - n.stat.last; d > 0 {
			w.line(&n.stat, d, "c") // an overflow to +Inf is dropped and counted
			n.stat.last = cur
		}
	}
}
