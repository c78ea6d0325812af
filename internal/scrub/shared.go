package scrub

import (
	"slices"
	"strings"
	"sync"
)

// maxShared bounds the cache of Shared matchers; configurations are few, so reaching it
// means lists built from untrusted input, which then get a fresh, uncached Matcher.
const maxShared = 64

var shared struct {
	mu sync.Mutex
	m  map[string]*Matcher
}

// Shared returns the Matcher for the built-in terms plus redact, with the names in allow
// exempted. Parts built from the same configuration receive the same *Matcher: lists that
// differ only in order, case, duplicates or separators ("api-key", "API_KEY") share one.
func Shared(redact, allow []string) *Matcher {
	r, a := normalizeList(redact), normalizeList(allow)
	if len(r) == 0 && len(a) == 0 {
		return defaultMatcher
	}
	key := strings.Join(r, ",") + "\x00" + strings.Join(a, ",")
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if m, ok := shared.m[key]; ok {
		return m
	}
	m := newMatcher(r, a)
	if shared.m == nil {
		shared.m = map[string]*Matcher{}
	}
	if len(shared.m) < maxShared {
		shared.m[key] = m
	}
	return m
}

// normalizeList returns the sorted, deduplicated normalized forms of names, without
// the empty ones.
func normalizeList(names []string) []string {
	var out []string
	for _, n := range names {
		if s := string(normalize(nil, n)); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
