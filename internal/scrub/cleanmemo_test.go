package scrub

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// CleanValues answers as Value does, for clean and secret values, first and repeated
// sightings alike, and whatever the memo holds.
func TestCleanValuesIsValue(t *testing.T) {
	m := New("tenant_pin")
	tests := []string{
		"UPDATE kv SET v = ? WHERE k = ?",
		"SELECT * FROM users WHERE password = ?",
		"https://deploy:s3cr3t@git.example.com/org/repo.git",
		"/orders?api_key=s3cr3t-q&page=2",
		"/orders?tenant_pin=4321&page=2",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlczNjcjN0",
		"https://example.com/a?page=2",
		"GET /orders/42",
		"short",
		"",
		strings.Repeat("select ? ", maxCleanLen/9+1), // over the memo's bound
	}
	c := NewCleanValues(m)
	for round := range 3 {
		for _, s := range tests {
			if got, want := c.Value(s), m.Value(s); got != want {
				t.Errorf("round %d: CleanValues.Value(%.40q) = %.60q, want %.60q", round, s, got, want)
			}
		}
	}
}

// The memo keeps only clean values, copies them, and only once seen twice.
func TestCleanValuesKeepsOnlyCleanValues(t *testing.T) {
	c := NewCleanValues(nil)
	secret := "https://app:pw-s3cr3t@db.example.com/x?a=1"
	clean := "SELECT v FROM kv WHERE k = ?"
	for range 4 {
		c.Value(secret)
		c.Value(clean)
	}
	once := "SELECT 1 WHERE id = ? -- seen once"
	c.Value(once)
	kept := 0
	for i := range c.slots {
		p := c.slots[i].kept.Load()
		if p == nil {
			continue
		}
		kept++
		switch *p {
		case clean:
			if unsafe.StringData(*p) == unsafe.StringData(clean) {
				t.Error("the memo holds the caller's string, not a copy")
			}
		case secret:
			t.Fatalf("the memo holds a value the policy redacts: %q", *p)
		case once:
			t.Errorf("the memo copied a value seen once: %q", *p)
		default:
			t.Errorf("the memo holds %q", *p)
		}
	}
	if kept != 1 {
		t.Errorf("the memo holds %d values, want 1 (the clean one)", kept)
	}
}

// A flood of distinct shaped values leaves the memo bounded, allocates nothing for
// values seen once, and a hit allocates nothing.
func TestCleanValuesBoundedAndAllocationFree(t *testing.T) {
	c := NewCleanValues(nil)
	for i := range 10 * cleanSlots {
		c.Value("SELECT * FROM t WHERE id = ? AND n = " + strconv.Itoa(i))
	}
	kept := 0
	for i := range c.slots {
		if c.slots[i].kept.Load() != nil {
			kept++
		}
	}
	if kept > cleanSlots {
		t.Fatalf("%d values kept, want at most %d", kept, cleanSlots)
	}
	q := "UPDATE kv SET v = ? WHERE k = ?"
	c.Value(q)
	c.Value(q)
	if n := testing.AllocsPerRun(100, func() { c.Value(q) }); n != 0 {
		t.Errorf("a memo hit allocates %v times", n)
	}
	unseen := make([]string, 200)
	for i := range unseen {
		unseen[i] = "SELECT * FROM u WHERE id = ? AND n = " + strconv.Itoa(i)
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() { c.Value(unseen[i]); i++ }); n != 0 {
		t.Errorf("a value seen once allocates %v times", n)
	}
}

func TestCleanValuesConcurrent(t *testing.T) {
	c := NewCleanValues(nil)
	m := Default()
	values := []string{"SELECT ? FROM a", "SELECT ? FROM b", "https://u:p4ss@h/x?token=t0k", "/a?b=c&password=x"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				s := values[(i+g)%len(values)]
				if got, want := c.Value(s), m.Value(s); got != want {
					t.Errorf("Value(%q) = %q, want %q", s, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCleanValues(b *testing.B) {
	q := "UPDATE kv SET v = ? WHERE k = ?"
	b.Run("impl=Value", func(b *testing.B) {
		m := Default()
		for b.Loop() {
			m.Value(q)
		}
	})
	b.Run("impl=CleanValues", func(b *testing.B) {
		c := NewCleanValues(nil)
		for b.Loop() {
			c.Value(q)
		}
	})
}
