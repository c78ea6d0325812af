// Package scrub holds the one set of rules that decides which names carry secrets.
// Logging, Sentry events, spans and metric labels all ask it, so a key that is redacted in
// one place is redacted everywhere.
//
// A name is sensitive when, lower-cased and with '-', '_', '.' and ' ' removed, it contains
// one of the patterns (also normalized that way). So "X-Auth-Token", "x_csrf_token",
// "X-Amz-Security-Token", "X-Amz-Signature", "api-key" and "db.password" all match.
package scrub

import (
	"bytes"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Redacted replaces the value of every sensitive key.
const Redacted = "[REDACTED]"

// DefaultPatterns are always sensitive; configured patterns add to them.
var DefaultPatterns = []string{
	"password", "passwd", "pwd", "secret", "token", "apikey", "authorization",
	"cookie", "session", "credential", "signature", "privatekey", "csrf", "xsrf",
}

// maxCached bounds the memo of decided names, so hostile keys cannot grow memory.
const maxCached = 4096

// Matcher decides whether a name is sensitive. It is safe for concurrent use and
// its Sensitive method does not allocate once a name has been seen.
type Matcher struct {
	patterns [][]byte
	allow    map[string]bool // normalized whole names that are never sensitive
	mu       sync.Mutex
	memo     atomic.Pointer[map[string]bool]
}

// New returns a Matcher for the default patterns plus extra.
func New(extra ...string) *Matcher { return newMatcher(extra, nil) }

func newMatcher(extra, allow []string) *Matcher {
	m := &Matcher{}
	for _, a := range allow {
		if m.allow == nil {
			m.allow = map[string]bool{}
		}
		m.allow[string(normalize(nil, a))] = true
	}
	seen := map[string]bool{}
	for _, p := range append(append([]string{}, DefaultPatterns...), extra...) {
		n := normalize(nil, p)
		if len(n) == 0 || seen[string(n)] {
			continue
		}
		seen[string(n)] = true
		m.patterns = append(m.patterns, n)
	}
	empty := map[string]bool{}
	m.memo.Store(&empty)
	return m
}

var defaultMatcher = New()

// Default is the Matcher of DefaultPatterns alone.
func Default() *Matcher { return defaultMatcher }

// Sensitive reports whether values named name must be redacted.
func (m *Matcher) Sensitive(name string) bool {
	if m == nil {
		m = defaultMatcher
	}
	if name == "" {
		return false
	}
	memo := *m.memo.Load()
	if v, ok := memo[name]; ok {
		return v
	}
	v := m.match(name)
	if len(memo) < maxCached {
		m.remember(name, v)
	}
	return v
}

func (m *Matcher) match(name string) bool {
	var stack [64]byte
	n := normalize(stack[:0], name)
	if m.allow[string(n)] {
		return false
	}
	for _, p := range m.patterns {
		if bytes.Contains(n, p) {
			return true
		}
	}
	return false
}

// remember adds a decision to the copy-on-write memo; readers never lock.
func (m *Matcher) remember(name string, v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.memo.Load()
	if len(old) >= maxCached {
		return
	}
	next := make(map[string]bool, len(old)+1)
	for k, b := range old {
		next[k] = b
	}
	next[strings.Clone(name)] = v
	m.memo.Store(&next)
}

func normalize(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// Query returns the raw query with the values of sensitive parameters replaced.
// Unparseable input is redacted whole rather than passed through. A query with nothing
// to redact is returned as is, without allocating.
func (m *Matcher) Query(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	var b strings.Builder // used only once something is redacted
	done := 0
	for start := 0; start <= len(rawQuery); {
		end := strings.IndexByte(rawQuery[start:], '&')
		if end < 0 {
			end = len(rawQuery)
		} else {
			end += start
		}
		part := rawQuery[start:end]
		k, _, hasValue := strings.Cut(part, "=")
		name := k
		if strings.ContainsAny(k, "%+") {
			u, err := url.QueryUnescape(k)
			if err != nil {
				return Redacted
			}
			name = u
		}
		if hasValue && m.Sensitive(name) {
			if b.Len() == 0 {
				b.Grow(len(rawQuery))
			}
			b.WriteString(rawQuery[done:start])
			b.WriteString(k)
			b.WriteString("=")
			b.WriteString(Redacted)
			done = end
		}
		start = end + 1
	}
	if done == 0 {
		return rawQuery
	}
	b.WriteString(rawQuery[done:])
	return b.String()
}

// URL returns u as a string with its userinfo password and sensitive query values redacted.
func (m *Matcher) URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), Redacted)
		} else {
			c.User = url.User(Redacted)
		}
	}
	c.RawQuery = m.Query(c.RawQuery)
	c.ForceQuery = false
	s := c.String()
	// url.URL escapes the brackets of the placeholder; keep it readable.
	return strings.ReplaceAll(s, url.QueryEscape(Redacted), Redacted)
}
