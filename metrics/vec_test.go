package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Label values are told apart whatever bytes they hold: the series index key must not
// let two different value lists meet.
func TestSeriesKeysDistinct(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	c, err := r.Counter("pairs_total", "Pairs.", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]string{
		{"ab", "c"}, {"a", "bc"}, {"", "abc"}, {"abc", ""}, {"", ""},
		{"\x01a", "b"}, {"\x01", "ab"}, {"a\xff", "b"}, {"a", "\xffb"},
		{strings.Repeat("x", 127), "y"}, {strings.Repeat("x", 128), ""}, {strings.Repeat("x", 127), "xy"},
	}
	for i, p := range pairs {
		c.With(p[0], p[1]).Add(float64(i + 1))
	}
	for i, p := range pairs {
		if got := c.With(p[0], p[1]).value(); got != float64(i+1) {
			t.Errorf("series %q = %v, want %d: it shares its key with another", p, got, i+1)
		}
	}
	if n := testutil.CollectAndCount(counterFamily{c.vec}); n != len(pairs) {
		t.Errorf("%d series, want %d", n, len(pairs))
	}
}

// Looking up an existing series allocates nothing, for any label count, and the values
// a family rewrites (secret labels, long values) still find their one series.
func TestWithExistingSeriesAllocatesNothing(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	long := strings.Repeat("v", 1000)
	for _, labels := range [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}, {"token", "b"}} {
		t.Run(strings.Join(labels, ","), func(t *testing.T) {
			c, err := r.Counter("allocs_"+strings.Join(labels, "_")+"_total", "Allocs.", labels...)
			if err != nil {
				t.Fatal(err)
			}
			values := make([]string, len(labels))
			for i := range values {
				values[i] = fmt.Sprintf("value-%d", i)
			}
			s := c.With(values...)
			if n := testing.AllocsPerRun(100, func() { c.With(values...).Inc() }); n != 0 {
				t.Errorf("With on an existing series: %v allocations", n)
			}
			if c.With(values...) != s {
				t.Error("With returned another series for the same values")
			}
			values[0] = long
			l := c.With(values...)
			if l2 := c.With(values...); l2 != l {
				t.Error("a long value does not find its series again")
			}
		})
	}
}

// Warming many series costs amortized O(1) each: the index never copies itself per
// insert (the promotion copies are paid for by the lookups they make lock-free), and
// every series is found afterwards.
func TestManySeries(t *testing.T) {
	r, _ := newTestRegistry(t, Config{SeriesLimit: 20000})
	c, err := r.Counter("routes_total", "Routes.", "method", "route")
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	routes := make([]string, n)
	for i := range routes {
		routes[i] = fmt.Sprintf("/r/%d/{id}", i)
	}
	for _, route := range routes {
		c.With("GET", route).Inc() // creates every series
	}
	// AllocsPerRun's warm-up run finds them (the last copy of the index is made during
	// it); the measured run does too, without locking or allocating.
	if allocs := testing.AllocsPerRun(1, func() {
		for _, route := range routes {
			c.With("GET", route).Inc()
		}
	}); allocs != 0 {
		t.Errorf("%v allocations for %d lookups of existing series", allocs, n)
	}
	for _, route := range routes[:100] {
		if got := c.With("GET", route).value(); got != 3 {
			t.Fatalf("%s = %v, want 3", route, got)
		}
	}
}

// Series whose values share a hash each get a slot: each is found, none replaces
// another, and all are exported, through the growth of the table too. The hash is
// forced, as real collisions of the 64-bit seeded hash cannot be made on purpose.
func TestSeriesHashCollision(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	c, err := r.Counter("collide_total", "Collide.", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	v := c.vec
	const h = 7 // the first table's last slot: the probe wraps to its start
	lists := [][]string{{"x", "1"}, {"y", "2"}, {"z", "3"}, {"u", "4"}, {"v", "5"}, {"s", "6"}}
	var nodes []*node[Counter]
	for _, values := range lists {
		nodes = append(nodes, v.insert(h, values))
	}
	for i, values := range lists {
		if n := v.lookup(h, values); n != nodes[i] {
			t.Errorf("lookup %q: got another series", values)
		}
		if n := v.insert(h, values); n != nodes[i] {
			t.Errorf("insert %q again: made a second series", values)
		}
		nodes[i].val.Add(float64(i + 1))
	}
	if n := len(v.tab.Load().slots); n <= 8 {
		t.Errorf("the table has %d slots for %d series: it never grew", n, len(lists))
	}
	if n := v.lookup(h, []string{"w", "4"}); n != nil {
		t.Error("lookup of absent values found a series")
	}
	if n := testutil.CollectAndCount(counterFamily{c.vec}); n != len(lists) {
		t.Errorf("%d series exported, want %d", n, len(lists))
	}
}

// Lookups that race the table's growth find every series exactly once: each goroutine
// adds its own series and bumps a shared set while the table doubles under them, and no
// increment lands in a second series of the same values.
func TestSeriesTableGrowthRace(t *testing.T) {
	r, _ := newTestRegistry(t, Config{SeriesLimit: 10000})
	c, err := r.Counter("grow_total", "Grow.", "k")
	if err != nil {
		t.Fatal(err)
	}
	const workers, own, shared = 4, 500, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range own {
				// Fresh strings each time: found by value, not by the strings they were made with.
				c.With("w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)).Inc()
				c.With("shared-" + strconv.Itoa(i%shared)).Inc()
			}
		})
	}
	wg.Wait()
	if n := testutil.CollectAndCount(counterFamily{c.vec}); n != workers*own+shared {
		t.Fatalf("%d series, want %d", n, workers*own+shared)
	}
	for i := range shared {
		if got := c.With("shared-" + strconv.Itoa(i)).value(); got != workers*own/shared {
			t.Errorf("shared-%d = %v, want %d", i, got, workers*own/shared)
		}
	}
	for w := range workers {
		if got := c.With("w" + strconv.Itoa(w) + "-" + strconv.Itoa(own-1)).value(); got != 1 {
			t.Errorf("w%d-%d = %v, want 1", w, own-1, got)
		}
	}
}
