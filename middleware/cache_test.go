package middleware

import (
	"net/http"
	"sync"
	"testing"
	"unsafe"

	"github.com/vigil-go/vigil/metrics"
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

// The hot slots of serverSeriesFor are found by where a route's bytes are, and trusted
// only for the same method, status and route text: a router that builds its routes in
// one reused buffer (the same bytes in memory, other text) gets each route's own series,
// and another status or method on the same route string gets its own.
func TestServerHotSlotsCheckTheKey(t *testing.T) {
	reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := newHTTPMetrics(reg, DefaultDurationBuckets, DefaultSizeBuckets)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("/orders/{id}")
	route := unsafe.String(&buf[0], len(buf)) // a router's reused buffer
	get := methodIndex(http.MethodGet)
	first := m.serverSeriesFor(serverKey{route: route, method: get, status: 200})
	if again := m.serverSeriesFor(serverKey{route: route, method: get, status: 200}); again != first {
		t.Fatal("the same key resolved to another series")
	}
	copy(buf, "/refund/{id}")
	moved := m.serverSeriesFor(serverKey{route: route, method: get, status: 200})
	if moved == first || moved.route != "/refund/{id}" || first.route != "/orders/{id}" {
		t.Errorf("after the buffer changed: series %q (first %q), want a series of its own for /refund/{id}", moved.route, first.route)
	}
	for _, k := range []serverKey{
		{route: route, method: get, status: 404},
		{route: route, method: methodIndex(http.MethodPost), status: 200},
	} {
		s := m.serverSeriesFor(k)
		if s == moved || s.status != k.status || s.method != k.method || s.route != "/refund/{id}" {
			t.Errorf("key %+v resolved to the series of %q %d %d", k, s.route, s.method, s.status)
		}
	}
}
