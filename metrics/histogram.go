package metrics

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
)

// Histogram is a histogram family, or one bound series of it; see Counter for With.
//
// In StatsD every observation is sent as a sample ("|h" in DogStatsD and influx, "|d"
// with StatsDConfig.Distributions): percentiles are the server's job. A histogram named
// *_seconds is a duration and is sent as a Timer is. The graphite and plain dialects
// (the Etsy daemon, which has no histogram type) get name_count and name_sum counters
// instead. Above maxSamples per series and flush the samples are thinned by reservoir
// sampling and sent with the matching "@rate", so the server's counts stay right and
// memory stays bounded.
type Histogram struct {
	vec     *vec[Histogram]
	unbound bool
	to      unsafe.Pointer // *Histogram; see Counter
	h       histValue
}

// With returns the series for the label values; see Counter.With.
func (h *Histogram) With(values ...string) *Histogram {
	return h.vec.withFor(h, &h.to, values)
}

// Observe records v.
func (h *Histogram) Observe(v float64) {
	if t := h.redirect(); t != nil {
		if t.unbound {
			t.vec.mismatch(0)
			return
		}
		h = t
	}
	h.h.observe(h.vec.family, v)
}

// ObserveContext records v; when ctx holds a sampled OpenTelemetry span, its trace and
// span ids become the exemplar of v's bucket (shown in the OpenMetrics exposition).
func (h *Histogram) ObserveContext(ctx context.Context, v float64) {
	if t := h.redirect(); t != nil {
		if t.unbound {
			t.vec.mismatch(0)
			return
		}
		h = t
	}
	if i := h.h.observe(h.vec.family, v); i >= 0 {
		h.h.exemplar(ctx, i, v)
	}
}

// unboundHistogram returns the handle of a labelled histogram family.
func unboundHistogram(v *vec[Histogram]) *Histogram {
	h := &Histogram{vec: v, unbound: true}
	h.to = unsafe.Pointer(h)
	return h
}

func (h *Histogram) redirect() *Histogram   { return (*Histogram)(atomic.LoadPointer(&h.to)) }
func (h *Histogram) vecOf() *vec[Histogram] { return h.vec }
func (h *Histogram) moveTo(t *Histogram)    { h.h.moveTo(&t.h) }
func (h *Histogram) swapTarget(t *Histogram) *Histogram {
	return (*Histogram)(atomic.SwapPointer(&h.to, unsafe.Pointer(t)))
}

// histValue is the state of one histogram or timer series.
type histValue struct {
	upper  []float64       // bucket upper bounds, shared by the family
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Uint64   // float64 bits
	ex     atomic.Pointer[[]exemplarSlot]
	st     *sampleBuf // StatsD samples; nil when StatsD is off
}

func (h *histValue) init(upper []float64, statsd bool) {
	h.upper = upper
	h.counts = make([]atomic.Uint64, len(upper)+1)
	if statsd {
		h.st = &sampleBuf{}
	}
}

// observe records v and returns its bucket, or -1 when v is NaN (counted as invalid).
func (h *histValue) observe(f *family, v float64) int {
	if math.IsNaN(v) {
		f.invalidValue(v)
		return -1
	}
	var i int
	if len(h.upper) < 32 {
		for i < len(h.upper) && v > h.upper[i] {
			i++
		}
	} else {
		i = sort.SearchFloat64s(h.upper, v)
	}
	h.counts[i].Add(1)
	addFloat(&h.sum, v)
	if h.st != nil {
		h.st.add(v)
	}
	return i
}

// moveTo adds h's counts and sum to t's and zeroes h's (see Registry.Forward). Both
// belong to one definition, so their buckets match.
func (h *histValue) moveTo(t *histValue) {
	for i := range h.counts {
		t.counts[i].Add(h.counts[i].Swap(0))
	}
	addFloat(&t.sum, math.Float64frombits(h.sum.Swap(0)))
}

// totals returns the count and the sum.
func (h *histValue) totals() (count, sum float64) {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return float64(n), math.Float64frombits(h.sum.Load())
}

// sumValue returns the sum of the observations.
func (h *histValue) sumValue() float64 { return math.Float64frombits(h.sum.Load()) }

// posInf is the upper bound of an explicit +Inf bucket.
var posInf = math.Inf(1)

// maxSamples bounds the StatsD samples kept per series and flush.
const maxSamples = 1024

// sampleBuf collects one series' samples between flushes. Its own mutex keeps
// contention per series; the flusher swaps the slice out rather than encoding under it.
type sampleBuf struct {
	mu    sync.Mutex
	vals  []float64
	seen  uint64
	spare []float64 // flusher-owned, swapped in on take
}

func (b *sampleBuf) add(v float64) {
	b.mu.Lock()
	b.seen++
	if len(b.vals) < maxSamples {
		b.vals = append(b.vals, v)
	} else if j := rand.Uint64N(b.seen); j < maxSamples {
		b.vals[j] = v
	}
	b.mu.Unlock()
}

// take returns the samples since the last take and how many observations they stand
// for. The returned slice is valid until the next take.
func (b *sampleBuf) take() ([]float64, uint64) {
	b.mu.Lock()
	vals, seen := b.vals, b.seen
	b.vals, b.seen = b.spare[:0], 0
	b.mu.Unlock()
	b.spare = vals
	return vals, seen
}

func newHistogramVec(f *family) *vec[Histogram] {
	return newVec(f, func(v *vec[Histogram], n *node[Histogram]) {
		n.val.vec = v
		n.val.h.init(f.buckets, f.reg.statsd.samples(f))
	}, (*Histogram).vecOf)
}

type histogramFamily struct{ *vec[Histogram] }

func (f histogramFamily) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f histogramFamily) Collect(ch chan<- prometheus.Metric) {
	collectHistograms(f.family, f.series(), func(h *Histogram) *histValue { return &h.h }, ch)
}

func (f histogramFamily) flushStatsD(w *statsdWriter) {
	for _, n := range f.series() {
		w.histogram(f.family, &n.stat, &n.val.h)
	}
}
