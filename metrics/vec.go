package metrics

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
)

// overflowValue is every label value of a family's overflow series.
const overflowValue = "_overflow"

// hashSeed is per process: label hashes never leave memory, so a random seed costs
// nothing and makes crafted collisions pointless.
var hashSeed = maphash.MakeSeed()

// hashValues mixes the label values into the index key: each value's runtime hash
// (AES-based where the CPU has it), combined in order so that ("a","b") and ("b","a")
// differ. Two value lists may still share a hash; the index keeps both and compares
// the values, so the hash only has to be cheap and well spread. (A string-keyed map of
// the values joined costs more: building the key copies them, then the map hashes and
// compares it.)
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
	hash   uint64                           // hashValues(values): where the index holds it
	labels atomic.Pointer[[]*dto.LabelPair] // the exposition's label pairs, made at the first scrape
	val    T
	stat   statLine // StatsD encoding; empty when StatsD is off
}

// vec is the series index of a family: an open-addressing table of its series, read
// through an atomic pointer, so With on an existing series takes no lock, calls nothing
// but the hash and allocates nothing. Series are never removed, so the table only
// grows: a new series is stored into a free slot under mu, and when that would make the
// table more than half full, a table twice the size replaces it (readers still holding
// the old one find every series it had; a series they miss is looked up again under
// mu). A new series costs O(1) amortized.
type vec[T any] struct {
	*family
	init  func(v *vec[T], n *node[T]) // sets up a new node's value
	vecOf func(*T) *vec[T]            // the family of another handle of the kind (Registry.Forward's target)

	tab  atomic.Pointer[table[T]]
	full atomic.Bool // at the series cap: unknown values go to overflow without locking

	mu       sync.Mutex
	nodes    []*node[T] // every exported series, in creation order
	overflow atomic.Pointer[node[T]]
	discard  node[T] // the target of misuse (wrong label count): never exported
}

// table holds a family's series by hash, probed linearly from the hash's low bits. At
// most half its slots are used, so every probe ends at an empty slot.
type table[T any] struct {
	mask  uint64
	slots []atomic.Pointer[node[T]]
}

func newTable[T any](size int) *table[T] {
	return &table[T]{mask: uint64(size - 1), slots: make([]atomic.Pointer[node[T]], size)}
}

// place stores n in the first free slot of its probe sequence. Only under vec.mu.
func (t *table[T]) place(n *node[T]) {
	i := n.hash & t.mask
	for t.slots[i].Load() != nil {
		i = (i + 1) & t.mask
	}
	t.slots[i].Store(n)
}

func newVec[T any](f *family, init func(*vec[T], *node[T]), vecOf func(*T) *vec[T]) *vec[T] {
	v := &vec[T]{family: f, init: init, vecOf: vecOf}
	v.tab.Store(newTable[T](8))
	v.discard.values = make([]string, len(f.labels))
	init(v, &v.discard)
	return v
}

// with returns the series for values; see Counter.With.
func (v *vec[T]) with(values []string) *T { return v.withFor(nil, nil, values) }

// withFor is with for the family handle hd, whose forwarding pointer is *to: when hd is
// forwarded (Registry.Forward), before or after the lookup, the series comes from
// forwarded, which looks in the family hd records into. A nil hd skips the check. One
// function, so that each kind's With is one call, inlined where it is used.
func (v *vec[T]) withFor(hd *T, to *unsafe.Pointer, values []string) *T {
	if hd != nil && atomic.LoadPointer(to) != unsafe.Pointer(hd) {
		return v.forwarded(hd, to, values)
	}
	if len(values) != len(v.labels) {
		v.mismatch(len(values))
		return v.own(hd, to, values, &v.discard.val)
	}
	if v.redact != nil {
		return v.own(hd, to, values, v.withClean(values))
	}
	// hashValues inlined, with the length bound checked on the way: values over it are
	// stored truncated, so they are looked up by what clean makes of them.
	var h uint64 = 14695981039346656037
	for _, s := range values {
		if len(s) > limits.LabelValue {
			return v.own(hd, to, values, v.withClean(values))
		}
		h = (h ^ maphash.String(hashSeed, s)) * 1099511628211
	}
	// The series' first slot, holding the very strings it was made with (values from
	// the same literals or table, the common case), is checked here without a call.
	t := v.tab.Load()
	if n := t.slots[h&t.mask].Load(); n != nil && n.hash == h && sameStrings(n.values, values) {
		return v.own(hd, to, values, &n.val)
	}
	if n := v.lookup(h, values); n != nil {
		return v.own(hd, to, values, &n.val)
	}
	if v.full.Load() {
		return v.own(hd, to, values, v.overflowed())
	}
	return v.own(hd, to, values, &v.create(values).val)
}

// own returns s unless hd (non-nil) was forwarded while s was found or created: that
// series may be one the forwarding never saw, so forwarded looks again.
func (v *vec[T]) own(hd *T, to *unsafe.Pointer, values []string, s *T) *T {
	if hd == nil || atomic.LoadPointer(to) == unsafe.Pointer(hd) {
		return s
	}
	return v.forwarded(hd, to, values)
}

// forwarded is With for a handle that records elsewhere: the series for values in the
// family *to points at (nil: hd's own). It looks again when the forwarding changed
// while the series was created: that series may be one the forwarding never saw.
func (v *vec[T]) forwarded(hd *T, to *unsafe.Pointer, values []string) *T {
	for {
		t := (*T)(atomic.LoadPointer(to))
		if t == nil {
			t = hd
		}
		tv := v
		if t != hd {
			tv = v.vecOf(t)
		}
		s := tv.with(values)
		if t2 := (*T)(atomic.LoadPointer(to)); t2 == t || (t2 == nil && t == hd) {
			return s
		}
	}
}

// lookup returns the series with values (of hash h) in the table, or nil.
func (v *vec[T]) lookup(h uint64, values []string) *node[T] {
	t := v.tab.Load()
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		n := t.slots[i].Load()
		if n == nil {
			return nil
		}
		if n.hash == h && sameValues(n.values, values) {
			return n
		}
	}
}

// sameStrings reports whether a and b hold the very same strings: the same bytes in
// memory, not only equal ones.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i, x := range a {
		if len(x) != len(b[i]) || unsafe.StringData(x) != unsafe.StringData(b[i]) {
			return false
		}
	}
	return true
}

// sameValues reports whether a and b are the same values. Strings that share their
// bytes (a label value from the same literal or table as the series was made with, the
// common case) are equal without a call to compare them.
func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i, x := range a {
		y := b[i]
		if len(x) != len(y) || (unsafe.StringData(x) != unsafe.StringData(y) && x != y) {
			return false
		}
	}
	return true
}

// withClean is with for values that clean changes.
func (v *vec[T]) withClean(values []string) *T {
	var buf [8]string
	values = v.clean(append(buf[:0], values...))
	if n := v.lookup(hashValues(values), values); n != nil {
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
	values = validUTF8(values) // the series' values, hashed as stored
	return v.insert(hashValues(values), values)
}

// insert is create for values of hash h (a parameter so tests can make hashes collide).
func (v *vec[T]) insert(h uint64, values []string) *node[T] {
	v.mu.Lock()
	defer v.mu.Unlock()
	if n := v.lookup(h, values); n != nil { // the table is complete under mu
		return n
	}
	if len(v.nodes) >= v.limit {
		v.full.Store(true)
		return v.overflowNode(true)
	}
	n := v.newNode(slices.Clone(values))
	n.hash = h
	v.nodes = append(v.nodes, n)
	t := v.tab.Load()
	if 2*len(v.nodes) > len(t.slots) {
		t = newTable[T](2 * len(t.slots))
		for _, x := range v.nodes {
			t.place(x)
		}
		v.tab.Store(t)
	} else {
		t.place(n)
	}
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
