package scrub

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// CleanValues is Value with a memory of the values it found clean, for a sink that
// sees the same shaped values again and again: a SQL statement's text with its '?'
// placeholders, a URL template. Such a value costs Value a full Text scan each time;
// found in the memo, it costs a hash and a comparison.
//
// The memo holds only values that Value returned unchanged, so it holds nothing the
// policy would redact. It is bounded: cleanSlots values of at most maxCleanLen bytes,
// each a copy (never a slice of a larger buffer). A value is copied into the memo only
// when it is seen a second time, so a stream of unique values (URLs with ids in their
// queries) costs no allocation. It is safe for concurrent use.
type CleanValues struct {
	m     *Matcher
	seed  maphash.Seed
	slots [cleanSlots]cleanSlot
}

// cleanSlot is one direct-mapped slot: the hash of the last shaped value seen there,
// and the clean value kept there, if any.
type cleanSlot struct {
	seen atomic.Uint64
	kept atomic.Pointer[string]
}

const (
	cleanSlots  = 256  // a power of two
	maxCleanLen = 4096 // longer values are scanned every time
)

// NewCleanValues returns an empty memo for m's policy (nil: Default).
func NewCleanValues(m *Matcher) *CleanValues {
	if m == nil {
		m = defaultMatcher
	}
	return &CleanValues{m: m, seed: maphash.MakeSeed()}
}

// Value returns c's Matcher's Value(s).
func (c *CleanValues) Value(s string) string {
	if !valueShape(s) {
		return s // the cheap answer: no scan to save
	}
	if len(s) > maxCleanLen {
		return c.m.Text(s)
	}
	h := maphash.String(c.seed, s)
	slot := &c.slots[h&(cleanSlots-1)]
	if p := slot.kept.Load(); p != nil && *p == s {
		return s
	}
	out := c.m.Text(s)
	if out != s {
		return out
	}
	if slot.seen.Swap(h) == h {
		v := strings.Clone(s)
		slot.kept.Store(&v)
	}
	return s
}
