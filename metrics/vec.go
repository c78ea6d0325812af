package metrics

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
)

// overflowValue is every label value of a family's overflow series.
const overflowValue = "_overflow"

// appendKey appends the index key of a series' label values to b: one value as it is,
// several each after its length (so ("ab","c") and ("a","bc") differ, whatever bytes
// the values hold). Go's map hashes and compares the key itself, and looks small maps
// up without hashing at all.
func appendKey(b []byte, values []string) []byte {
	for i, v := range values {
		if i < len(values)-1 {
			b = binary.AppendUvarint(b, uint64(len(v)))
		}
		b = append(b, v...)
	}
	return b
}

// node is one series of a family: its label values and the kind's value inline, so a
// bound series is a pointer into the node and With returns it without allocating.
type node[T any] struct {
	values []string
	labels atomic.Pointer[[]*dto.LabelPair] // the exposition's label pairs, made at the first scrape
	val    T
	stat   statLine // StatsD encoding; empty when StatsD is off
}

// vec is the series index of a family. Lookups read an immutable map through an atomic
// pointer, so With on an existing series takes no lock and allocates nothing. New series
// go into a dirty map under mu, which is promoted to the read map after enough misses
// (the scheme of sync.Map, with string keys so nothing is boxed): a new series costs
// O(1) amortized, the copies paid for by the lookups they make lock-free.
type vec[T any] struct {
	*family
	init func(v *vec[T], n *node[T]) // sets up a new node's value

	read atomic.Pointer[map[string]*node[T]]
	full atomic.Bool // at the series cap: unknown values go to overflow without locking

	mu       sync.Mutex
	dirty    map[string]*node[T] // nil right after promotion; then a superset of read
	misses   int
	nodes    []*node[T] // every exported series, in creation order
	overflow atomic.Pointer[node[T]]
	discard  node[T] // the target of misuse (wrong label count): never exported
}

func newVec[T any](f *family, init func(*vec[T], *node[T])) *vec[T] {
	v := &vec[T]{family: f, init: init}
	m := map[string]*node[T]{}
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
	var n *node[T]
	switch {
	case v.redact != nil:
		return v.withClean(values)
	case len(values) == 1:
		if len(values[0]) > limits.LabelValue {
			return v.withClean(values)
		}
		n = (*v.read.Load())[values[0]]
	default:
		var kb [128]byte
		b := kb[:0]
		for i, s := range values {
			if len(s) > limits.LabelValue {
				return v.withClean(values)
			}
			if i < len(values)-1 {
				b = binary.AppendUvarint(b, uint64(len(s)))
			}
			b = append(b, s...)
		}
		n = (*v.read.Load())[string(b)] // the conversion does not allocate
	}
	if n != nil {
		return &n.val
	}
	if v.full.Load() {
		return v.overflowed()
	}
	return &v.create(values).val
}

// withClean is with for values that clean changes.
func (v *vec[T]) withClean(values []string) *T {
	var buf [8]string
	values = v.clean(append(buf[:0], values...))
	var kb [128]byte
	if n := (*v.read.Load())[string(appendKey(kb[:0], values))]; n != nil {
		return &n.val
	}
	if v.full.Load() {
		return v.overflowed()
	}
	return &v.create(values).val
}

// clean applies the family's rules to values, a copy it may change: a label named like
// a secret keeps its name and loses its value, as in logs and events (all its values
// then share one series), and a value's length is bounded as the count of values is (a
// client's 64 KiB value would otherwise be repeated on every line of every scrape).
func (v *vec[T]) clean(values []string) []string {
	for i, s := range values {
		switch {
		case v.redact != nil && v.redact[i]:
			values[i] = scrub.Redacted
		case len(s) > limits.LabelValue:
			values[i] = limits.Truncate(s, limits.LabelValue)
		}
	}
	return values
}

// validUTF8 returns values, or a copy in which invalid UTF-8 is replaced by U+FFFD:
// the exposition formats want UTF-8, and client_golang refuses (panics on) anything
// else. The series is keyed by the replaced values, so lookups with the raw ones always
// come here (slowly, but without growing the index).
func validUTF8(values []string) []string {
	for i, s := range values {
		if !utf8.ValidString(s) {
			values = slices.Clone(values)
			for j := i; j < len(values); j++ {
				values[j] = strings.ToValidUTF8(values[j], "\uFFFD")
			}
			return values
		}
	}
	return values
}

// create finds or adds the series under the lock. values is copied, never retained, so
// the caller's variadic slice stays on its stack.
func (v *vec[T]) create(values []string) *node[T] {
	values = validUTF8(values)
	var kb [128]byte
	key := appendKey(kb[:0], values)
	v.mu.Lock()
	defer v.mu.Unlock()
	read := *v.read.Load()
	if v.dirty != nil {
		read = v.dirty
	}
	if n := read[string(key)]; n != nil {
		v.miss()
		return n
	}
	if len(v.nodes) >= v.limit {
		v.full.Store(true)
		v.promote()
		return v.overflowNode(true)
	}
	n := v.newNode(slices.Clone(values))
	v.nodes = append(v.nodes, n)
	if v.dirty == nil {
		v.dirty = make(map[string]*node[T], len(read)+1)
		for k, x := range read {
			v.dirty[k] = x
		}
	}
	v.dirty[string(key)] = n
	v.miss()
	return n
}

func (v *vec[T]) newNode(values []string) *node[T] {
	n := &node[T]{values: values}
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
	n := v.newNode(values)
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

// count returns how many series series would return, without copying them.
func (v *vec[T]) count() int {
	v.mu.Lock()
	n := len(v.nodes)
	v.mu.Unlock()
	if v.overflow.Load() != nil {
		n++
	}
	return n
}

// only returns the single series of a label-less family, created at definition.
func (v *vec[T]) only() *T { return v.with(nil) }
