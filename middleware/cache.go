package middleware

import (
	"sync"
	"sync/atomic"
)

// maxCachedSeries bounds a series cache. Label sets are bounded by construction (methods,
// routes, status codes), so the cap only guards against a route function that returns
// raw paths; past it, lookups miss and the metrics registry's own series cap applies.
const maxCachedSeries = 4096

// seriesCache maps a label key to pre-bound series so the request path never hashes
// label values. Reads are one atomic load and a map lookup. New keys go into a dirty map
// under mu, a superset of the read map, which replaces the read map once lookups that
// needed the lock have cost as much as copying it (the scheme of sync.Map): a new key
// costs O(1) amortized, where copying the map per key made warming n routes O(n²).
type seriesCache[K comparable, V any] struct {
	read  atomic.Pointer[map[K]V]
	dirty atomic.Bool // dirtyM holds keys the read map lacks
	n     atomic.Int64

	mu     sync.Mutex
	dirtyM map[K]V // nil right after promotion
	misses int
}

func (c *seriesCache[K, V]) load(k K) (V, bool) {
	if m := c.read.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v, true
		}
	}
	return c.loadDirty(k)
}

// loadDirty is load for a key the read map lacks: apart from load, which is inlined
// where it is used.
func (c *seriesCache[K, V]) loadDirty(k K) (v V, ok bool) {
	if !c.dirty.Load() {
		return v, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok = c.dirtyM[k]
	c.missLocked()
	return v, ok
}

// store adds v under k unless another goroutine got there first, and returns the value
// to use.
func (c *seriesCache[K, V]) store(k K, v V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var read map[K]V
	if m := c.read.Load(); m != nil {
		read = *m
	}
	if prev, ok := read[k]; ok {
		return prev
	}
	if prev, ok := c.dirtyM[k]; ok {
		return prev
	}
	if c.n.Load() >= maxCachedSeries {
		return v
	}
	if c.dirtyM == nil {
		c.dirtyM = make(map[K]V, len(read)+1)
		for key, val := range read {
			c.dirtyM[key] = val
		}
	}
	c.dirtyM[k] = v
	c.n.Add(1)
	c.dirty.Store(true)
	c.missLocked()
	return v
}

// missLocked counts a lookup or insert that needed the lock; once they add up to the
// dirty map's size, it becomes the read map. c.mu is held.
func (c *seriesCache[K, V]) missLocked() {
	c.misses++
	if c.dirtyM != nil && c.misses >= len(c.dirtyM) {
		m := c.dirtyM
		c.read.Store(&m)
		c.dirtyM = nil
		c.dirty.Store(false)
		c.misses = 0
	}
}

func (c *seriesCache[K, V]) len() int { return int(c.n.Load()) }
