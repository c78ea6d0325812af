package safefmt

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-go/vigil/internal/scrub"
)

// mutableErr's text changes between calls, as some error types' do.
type mutableErr struct{ msg *string }

func (e mutableErr) Error() string { return *e.msg }

// Cache.Text returns what Text returns, whether it hits or not: repeated errors and
// strings, a text that changed, another Matcher, a panicking method, values that are
// neither errors nor strings, secrets and over-long texts.
func TestCacheMatchesText(t *testing.T) {
	msg := "token=first-secret-1 failed"
	mut := mutableErr{&msg}
	strict := scrub.Shared([]string{"order"}, nil)
	long := errors.New(strings.Repeat("x", Limit+2*scanSlack) + " password=tail-secret")
	type step struct {
		v any
		m *scrub.Matcher
	}
	tests := []struct {
		name  string
		steps []step
		set   func(i int) // runs before step i
	}{
		{name: "storm", steps: []step{{fmt.Errorf("order 42: %w", errPlain), nil}, {fmt.Errorf("order 42: %w", errPlain), nil}, {fmt.Errorf("order 42: %w", errPlain), nil}}},
		{name: "distinct", steps: []step{{errors.New("order 1: x"), nil}, {errors.New("order 2: x"), nil}}},
		{name: "same error, new text", steps: []step{{mut, nil}, {mut, nil}, {mut, nil}},
			set: func(i int) {
				if i == 2 {
					msg = "password=second-secret-2 failed"
				}
			}},
		{name: "another matcher", steps: []step{{"order=42 failed", nil}, {"order=42 failed", strict}, {"order=42 failed", nil}}},
		{name: "panicking Error", steps: []step{{panicErr{}, nil}, {panicErr{}, nil}}},
		{name: "not text", steps: []step{{42, nil}, {map[string]any{"password": "map-secret-3"}, nil}, {42, nil}}},
		{name: "over the limit", steps: []step{{long, nil}, {long, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Cache
			for i, s := range tt.steps {
				if tt.set != nil {
					tt.set(i)
				}
				got, want := c.Text(s.v, s.m), Text(s.v, s.m)
				if got != want {
					t.Errorf("step %d: Cache.Text = %q, Text = %q", i, got, want)
				}
				if strings.Contains(got, "-secret") {
					t.Errorf("step %d: a secret is left: %q", i, got)
				}
			}
		})
	}
}

var errPlain = errors.New("payment declined")

// A hit neither scans nor allocates more than Text does.
func TestCacheHitAllocs(t *testing.T) {
	var c Cache
	err := fmt.Errorf("order 42: %w", errPlain)
	c.Text(err, nil)
	hit := testing.AllocsPerRun(100, func() { c.Text(err, nil) })
	plain := testing.AllocsPerRun(100, func() { Text(err, nil) })
	if hit > plain {
		t.Errorf("a hit allocates %v times, Text %v", hit, plain)
	}
}

// Concurrent callers with different texts each get their own text's result.
func TestCacheConcurrent(t *testing.T) {
	var c Cache
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				err := fmt.Errorf("worker %d: api_key=k-%d", g, i%3)
				if got, want := c.Text(err, nil), Text(err, nil); got != want {
					t.Errorf("got %q, want %q", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
