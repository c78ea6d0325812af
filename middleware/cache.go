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
// label values. Reads are one atomic load and a map lookup; writes copy the map, which
// is rare (once per key) and bounded by maxCachedSeries.
type seriesCache[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex
}

func (c *seriesCache[K, V]) load(k K) (v V, ok bool) {
	if m := c.m.Load(); m != nil {
		v, ok = (*m)[k]
	}
	return v, ok
}

// store adds v under k unless another goroutine got there first, and returns the value
// to use.
func (c *seriesCache[K, V]) store(k K, v V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if prev, ok := old[k]; ok {
		return prev
	}
	if len(old) >= maxCachedSeries {
		return v
	}
	next := make(map[K]V, len(old)+1)
	for key, val := range old {
		next[key] = val
	}
	next[k] = v
	c.m.Store(&next)
	return v
}

func (c *seriesCache[K, V]) len() int {
	if m := c.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}
