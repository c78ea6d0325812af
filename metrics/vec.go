package metrics

import (
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
)

// overflowValue is every label value of a family's overflow series.
const overflowValue = "_overflow"

// hashSeed is per process: label hashes never leave memory, so a random seed costs
// nothing and makes crafted collisions pointless.
var hashSeed = maphash.MakeSeed()

// hashValues mixes the label values into one key. The 0xff separator keeps ("ab","c")
// and ("a","bc") apart.
func hashValues(values []string) uint64 {
	var h uint64 = 14695981039346656037
	for _, v := range values {
		h = (h ^ maphash.String(hashSeed, v)) * 1099511628211
	}
	return h
}

// node is one series of a family: its label values and the kind's value inline, so a
// bound series is a pointer into the node and With returns it without allocating.
type node[T any] struct {
	values []string
	hash   uint64
	next   atomic.Pointer[node[T]] // same hash, different values (rare)
	val    T
	stat   statLine // StatsD encoding; empty when StatsD is off
}

// vec is the series index of a family. Lookups read an immutable map through an atomic
// pointer, so With on an existing series takes no lock and allocates nothing. New series
// go into a dirty map under mu, which is promoted to the read map after enough misses
// (the scheme of sync.Map, specialised to uint64 keys so nothing is boxed).
type vec[T any] struct {
	*family
	init func(v *vec[T], n *node[T]) // sets up a new node's value

	read atomic.Pointer[map[uint64]*node[T]]
	full atomic.Bool // at the series cap: unknown values go to overflow without locking

	mu       sync.Mutex
	dirty    map[uint64]*node[T] // nil right after promotion; then a superset of read
	misses   int
	nodes    []*node[T] // every exported series, in creation order
	overflow atomic.Pointer[node[T]]
	discard  node[T] // the target of misuse (wrong label count): never exported
}

func newVec[T any](f *family, init func(*vec[T], *node[T])) *vec[T] {
	v := &vec[T]{family: f, init: init}
	m := map[uint64]*node[T]{}
	v.read.Store(&m)
	v.discard.values = make([]string, len(f.labels))
	init(v, &v.discard)
	return v
}

// with returns the series for values; see Counter.With.
func (v *vec[T]) with(values []string) *T {
	if len(values) != len(v.labels) {
		v.mismatch(len(values))
		return &v.discard.val
	}
	var buf [8]string
	copied := false // values is our copy, not the caller's slice
	if v.redact != nil {
		// A label named like a secret keeps its name and loses its value, as in logs and
		// events; all its values then share one series.
		values, copied = append(buf[:0], values...), true
		for i, r := range v.redact {
			if r {
				values[i] = scrub.Redacted
			}
		}
	}
	for i, s := range values {
		if len(s) > limits.LabelValue {
			// A label value's length is bounded as its count is: a client's 64 KiB value
			// would otherwise be repeated on every line of every scrape.
			if !copied {
				values, copied = append(buf[:0], values...), true
			}
			values[i] = limits.Truncate(s, limits.LabelValue)
		}
	}
	h := hashValues(values)
	for n := (*v.read.Load())[h]; n != nil; n = n.next.Load() {
		if slices.Equal(n.values, values) {
			return &n.val
		}
	}
	if v.full.Load() {
		return v.overflowed()
	}
	return &v.create(h, values).val
}

// create finds or adds the series under the lock. values is copied, never retained, so
// the caller's variadic slice stays on its stack.
func (v *vec[T]) create(h uint64, values []string) *node[T] {
	v.mu.Lock()
	defer v.mu.Unlock()
	read := *v.read.Load()
	if v.dirty != nil {
		read = v.dirty
	}
	var last *node[T]
	for n := read[h]; n != nil; n = n.next.Load() {
		if slices.Equal(n.values, values) {
			v.miss()
			return n
		}
		last = n
	}
	if len(v.nodes) >= v.limit {
		v.full.Store(true)
		v.promote()
		return v.overflowNode(true)
	}
	n := v.newNode(h, slices.Clone(values))
	v.nodes = append(v.nodes, n)
	if last != nil {
		// Readers of either map reach the new node through the chain.
		last.next.Store(n)
	} else {
		if v.dirty == nil {
			v.dirty = make(map[uint64]*node[T], len(read)+1)
			for k, x := range read {
				v.dirty[k] = x
			}
		}
		v.dirty[h] = n
	}
	v.miss()
	return n
}

func (v *vec[T]) newNode(h uint64, values []string) *node[T] {
	n := &node[T]{values: values, hash: h}
	v.init(v, n)
	if v.reg != nil && v.reg.statsd != nil {
		n.stat = v.reg.statsd.line(v.family, values)
	}
	return n
}

// miss counts a lookup that needed the lock; once they cost as much as a copy, the
// dirty map becomes the read map.
func (v *vec[T]) miss() {
	v.misses++
	if v.dirty != nil && v.misses >= len(v.dirty) {
		v.promote()
	}
}

func (v *vec[T]) promote() {
	if v.dirty != nil {
		d := v.dirty
		v.read.Store(&d)
		v.dirty = nil
	}
	v.misses = 0
}

func (v *vec[T]) overflowed() *T { return &v.overflowNode(true).val }

// overflowNode returns the overflow series, creating it on first use; count says whether
// this use is an observation routed there (counted) or a scrape.
func (v *vec[T]) overflowNode(count bool) *node[T] {
	if count {
		v.overflows.Add(1)
		if v.overflowLogged.CompareAndSwap(false, true) {
			v.reg.logger.Warn("metrics: series limit reached; further label values go to the overflow series",
				"metric", v.name, "limit", v.limit, "overflow_value", overflowValue)
		}
	}
	if n := v.overflow.Load(); n != nil {
		return n
	}
	values := make([]string, len(v.labels))
	for i := range values {
		values[i] = overflowValue
	}
	n := v.newNode(hashValues(values), values)
	if !v.overflow.CompareAndSwap(nil, n) {
		return v.overflow.Load()
	}
	return n
}

// series returns every exported series: the regular ones, then the overflow series.
func (v *vec[T]) series() []*node[T] {
	v.mu.Lock()
	out := slices.Clone(v.nodes)
	v.mu.Unlock()
	if n := v.overflow.Load(); n != nil {
		out = append(out, n)
	}
	return out
}

// only returns the single series of a label-less family, created at definition.
func (v *vec[T]) only() *T { return v.with(nil) }
