package metrics

import (
	"encoding/hex"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A family's Collect hands the registry one prometheus.Metric per series whose dto form
// is built up front, in a few allocations for the whole family: the label pairs of a
// series are made once (at its first scrape) and shared by every later scrape, as
// client_golang's own vectors do; bucket upper bounds point into the family's bounds;
// every other field comes from slabs allocated per family and scrape. Where
// prometheus.MustNewConstHistogram costs a map, a sort and three allocations per bucket,
// a series costs none here, so a scrape of many series stays cheaper than client_golang's.

// seriesMetric is one series, written to the registry as built.
type seriesMetric struct {
	desc    *prometheus.Desc
	labels  []*dto.LabelPair
	counter *dto.Counter // one of counter, gauge, hist is set
	gauge   *dto.Gauge
	hist    *dto.Histogram
}

func (m *seriesMetric) Desc() *prometheus.Desc { return m.desc }

func (m *seriesMetric) Write(out *dto.Metric) error {
	out.Label, out.Counter, out.Gauge, out.Histogram = m.labels, m.counter, m.gauge, m.hist
	return nil
}

// labelPairs returns the series' label pairs, sorted by name as the registry wants them,
// made on first use. The values point into the node: they never change.
func labelPairs(f *family, values []string, cache *atomic.Pointer[[]*dto.LabelPair]) []*dto.LabelPair {
	if p := cache.Load(); p != nil {
		return *p
	}
	pairs := make([]dto.LabelPair, len(values))
	ptrs := make([]*dto.LabelPair, len(values))
	for i := range values {
		pairs[i].Name, pairs[i].Value = &f.labels[i], &values[i]
		ptrs[i] = &pairs[i]
	}
	slices.SortFunc(ptrs, func(a, b *dto.LabelPair) int { return strings.Compare(*a.Name, *b.Name) })
	cache.CompareAndSwap(nil, &ptrs)
	return *cache.Load()
}

// collectValues sends a counter or gauge series per node; value reads one.
func collectValues[T any](f *family, nodes []*node[T], counter bool, value func(*T) float64, ch chan<- prometheus.Metric) {
	ms := make([]seriesMetric, len(nodes))
	vals := make([]float64, len(nodes))
	var counters []dto.Counter
	var gauges []dto.Gauge
	if counter {
		counters = make([]dto.Counter, len(nodes))
	} else {
		gauges = make([]dto.Gauge, len(nodes))
	}
	for i, n := range nodes {
		m := &ms[i]
		m.desc = f.desc
		m.labels = labelPairs(f, n.values, &n.labels)
		vals[i] = value(&n.val)
		if counter {
			counters[i].Value = &vals[i]
			m.counter = &counters[i]
		} else {
			gauges[i].Value = &vals[i]
			m.gauge = &gauges[i]
		}
		ch <- m
	}
}

// collectHistograms sends a histogram series per node; hist reads one's state.
func collectHistograms[T any](f *family, nodes []*node[T], hist func(*T) *histValue, ch chan<- prometheus.Metric) {
	nb := len(f.buckets)
	ms := make([]seriesMetric, len(nodes))
	hs := make([]dto.Histogram, len(nodes))
	counts := make([]uint64, len(nodes)*(nb+1)) // per series: the count, then each bucket's
	sums := make([]float64, len(nodes))
	bs := make([]dto.Bucket, len(nodes)*nb)
	bp := make([]*dto.Bucket, len(nodes)*nb)
	for i, n := range nodes {
		h := hist(&n.val)
		c := counts[i*(nb+1) : (i+1)*(nb+1)]
		b := bs[i*nb : (i+1)*nb]
		p := bp[i*nb : (i+1)*nb : (i+1)*nb] // an exemplar above every bound appends a copy
		var cum uint64
		for j := range b {
			cum += h.counts[j].Load()
			c[j+1] = cum
			b[j].CumulativeCount, b[j].UpperBound = &c[j+1], &f.buckets[j]
			p[j] = &b[j]
		}
		c[0] = cum + h.counts[nb].Load()
		sums[i] = h.sumValue()
		hs[i].SampleCount, hs[i].SampleSum, hs[i].Bucket = &c[0], &sums[i], p
		if slots := h.ex.Load(); slots != nil {
			hs[i].Bucket = attachExemplars(*slots, &hs[i])
		}
		m := &ms[i]
		m.desc = f.desc
		m.labels = labelPairs(f, n.values, &n.labels)
		m.hist = &hs[i]
		ch <- m
	}
}

// Exemplar label names, as every exposition of vigil's exemplars spells them.
var (
	exemplarTraceID = "trace_id"
	exemplarSpanID  = "span_id"
)

// exemplarOut is one exemplar in dto form, in one allocation.
type exemplarOut struct {
	e      dto.Exemplar
	pairs  [2]dto.LabelPair
	ptrs   [2]*dto.LabelPair
	value  float64
	ts     timestamppb.Timestamp
	ids    [48]byte // the trace id's hex, then the span id's
	traceS string
	spanS  string
}

// newExemplarOut builds the dto form of the exemplar in s.
func newExemplarOut(s *exemplarSlot) *exemplarOut {
	x := &exemplarOut{value: s.value}
	x.ts.Seconds, x.ts.Nanos = s.at/1e9, int32(s.at%1e9)
	hex.Encode(x.ids[:32], s.trace[:])
	hex.Encode(x.ids[32:], s.span[:])
	x.traceS = unsafe.String(&x.ids[0], 32)
	x.spanS = unsafe.String(&x.ids[32], 16)
	x.pairs[0].Name, x.pairs[0].Value = &exemplarSpanID, &x.spanS
	x.pairs[1].Name, x.pairs[1].Value = &exemplarTraceID, &x.traceS
	x.ptrs[0], x.ptrs[1] = &x.pairs[0], &x.pairs[1]
	x.e.Label, x.e.Value, x.e.Timestamp = x.ptrs[:], &x.value, &x.ts
	return x
}

// attachExemplars puts the recorded exemplars on their buckets (slot i belongs to
// bucket i; the last slot to +Inf, which is added as an explicit bucket for it, as
// client_golang does) and returns the buckets. An exemplar's dto form is shared by the
// scrapes until the next observation replaces it, like the label pairs.
func attachExemplars(slots []exemplarSlot, h *dto.Histogram) []*dto.Bucket {
	buckets := h.Bucket
	for i := range slots {
		s := &slots[i]
		s.mu.Lock()
		if !s.set {
			s.mu.Unlock()
			continue
		}
		x := s.out
		if x == nil {
			x = newExemplarOut(s)
			s.out = x
		}
		s.mu.Unlock()
		if i < len(buckets) {
			buckets[i].Exemplar = &x.e
			continue
		}
		// Above every bound: an explicit +Inf bucket carries it.
		buckets = append(buckets, &dto.Bucket{CumulativeCount: h.SampleCount, UpperBound: &posInf, Exemplar: &x.e})
	}
	return buckets
}
