package middleware

import (
	"sync"
	"testing"
)

// The cache finds every key it stored, from any goroutine, holds at most
// maxCachedSeries, and returns the first value stored under a key to every later store.
func TestSeriesCache(t *testing.T) {
	var c seriesCache[int, *int]
	const n = maxCachedSeries + 1000
	vals := make([]int, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range n {
				if got, ok := c.load(i); ok {
					if got != &vals[i] {
						t.Errorf("key %d: another value", i)
					}
					continue
				}
				if got := c.store(i, &vals[i]); got != &vals[i] {
					t.Errorf("worker %d, key %d: store returned another value", w, i)
				}
			}
		})
	}
	wg.Wait()
	if c.len() != maxCachedSeries {
		t.Fatalf("len = %d, want the cap %d", c.len(), maxCachedSeries)
	}
	for i := range maxCachedSeries {
		if got, ok := c.load(i); !ok || got != &vals[i] {
			t.Fatalf("key %d not found after the warm-up", i)
		}
	}
	if _, ok := c.load(n - 1); ok {
		t.Error("a key past the cap was kept")
	}
	other := 0
	if got := c.store(0, &other); got != &vals[0] {
		t.Error("a second store replaced the first value")
	}
	// Lookups that need the lock (here of a key past the cap, which only the dirty map
	// could hold) promote the dirty map once they have cost as much as copying it; then a
	// lookup takes no lock and allocates nothing. (Lookups the read map answers count
	// nothing: which keys the workers left in the dirty map depends on scheduling.)
	for range 2 * maxCachedSeries {
		c.load(n - 1)
	}
	if c.dirty.Load() {
		t.Error("the dirty map was never promoted")
	}
	if allocs := testing.AllocsPerRun(100, func() { c.load(7) }); allocs != 0 {
		t.Errorf("load: %v allocations", allocs)
	}
}

// Warming n keys copies O(n) entries in all, not O(n²).
func BenchmarkSeriesCacheWarm(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var c seriesCache[int, int]
		for i := range maxCachedSeries {
			if _, ok := c.load(i); !ok {
				c.store(i, i)
			}
		}
	}
}
