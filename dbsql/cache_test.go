package dbsql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-go/vigil/internal/limits"
)

// TestStatementCacheBounded: a program that builds every statement with its literals
// inline (and some huge ones) costs a reading per statement, never memory: the cache
// holds at most limits.QueryCacheEntries statements of at most limits.QueryCacheKey
// bytes.
func TestStatementCacheBounded(t *testing.T) {
	in, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{system: "postgresql"}
	tg.finish()
	s := newState(in, tg)
	huge := "SELECT * FROM t WHERE a IN (" + strings.Repeat("1, ", 10000) + "1)"
	for i := range 20000 {
		o := s.lookup(fmt.Sprintf("SELECT * FROM orders WHERE id = %d", i))
		if o.text != "SELECT * FROM orders WHERE id = ?" || o.table != "orders" {
			t.Fatalf("read %q %q", o.text, o.table)
		}
		if n := s.entries.Load(); n > limits.QueryCacheEntries {
			t.Fatalf("%d entries", n)
		}
		if i%1000 == 0 {
			if o := s.lookup(huge); o.text != "SELECT * FROM t WHERE a IN (?)" {
				t.Fatalf("huge statement reads %q", o.text)
			}
		}
	}
	var n, longest int
	s.cache.Range(func(k, _ any) bool {
		n++
		longest = max(longest, len(k.(string)))
		return true
	})
	if n > limits.QueryCacheEntries || longest > limits.QueryCacheKey {
		t.Errorf("%d entries, the longest %d bytes", n, longest)
	}
}
