package safefmt

import (
	"sync"

	"github.com/vigil-go/vigil/internal/scrub"
)

// Cache is Text with a memory of the last text it scrubbed. A storm of one error is
// formatted again on every capture, and scanning its text for secrets costs more than
// reading it: when v's text is the one Cache saw last, under the same Matcher, the result
// made then is returned. The text is still read from v every time (Error is called as
// Text calls it, panics contained), so a value whose text changed is scrubbed anew, and
// the result is always what Text(v, m) returns.
//
// It remembers one entry (at most Limit bytes and a little more of input). The zero Cache
// is ready to use and safe for concurrent use; a caller that finds it busy does not wait
// and formats as Text does.
type Cache struct {
	mu   sync.Mutex
	m    *scrub.Matcher
	raw  string // the input as Text scans it
	text string // Text's result for raw under m
}

// Text returns Text(v, m), from the cache when v is a string or an error whose text is
// the one seen last.
func (c *Cache) Text(v any, m *scrub.Matcher) string {
	var raw string
	switch x := v.(type) {
	case string:
		raw = x
	case error:
		raw = callString(x, x.Error, "Error")
	default:
		return Text(v, m)
	}
	if len(raw) > Limit+scanSlack {
		raw = cut(raw, Limit+scanSlack)
	}
	if c.mu.TryLock() {
		hit, text := c.m == m && c.raw == raw, c.text
		c.mu.Unlock()
		if hit {
			return text
		}
	}
	text := boundText(raw, m)
	if c.mu.TryLock() {
		c.m, c.raw, c.text = m, raw, text
		c.mu.Unlock()
	}
	return text
}
