package scrub

import (
	"net/url"
	"strings"
)

// Redacted replaces the value of every sensitive key.
const Redacted = "[REDACTED]"

// Matcher decides whether a name is sensitive. It is safe for concurrent use, and its
// Sensitive method neither locks nor allocates once a name has been seen.
type Matcher struct {
	extra [][]byte        // configured names, normalized; matched as a run of words
	allow map[string]bool // normalized whole names that are never sensitive

	memo memo // the class of each name decided, bounded
}

// New returns a Matcher for the built-in terms plus extra, each matched as a run of
// words anywhere in a name. Parts built from configuration use Shared instead.
func New(extra ...string) *Matcher { return newMatcher(normalizeList(extra), nil) }

// newMatcher takes lists already normalized.
func newMatcher(extra, allow []string) *Matcher {
	m := &Matcher{}
	for _, p := range extra {
		m.extra = append(m.extra, []byte(p))
	}
	for _, a := range allow {
		if m.allow == nil {
			m.allow = map[string]bool{}
		}
		m.allow[a] = true
	}
	return m
}

var defaultMatcher = New()

// Default is the Matcher of the built-in terms alone.
func Default() *Matcher { return defaultMatcher }

// Sensitive reports whether values named name must be redacted. A nil m is Default.
func (m *Matcher) Sensitive(name string) bool {
	if m == nil {
		m = defaultMatcher
	}
	if name == "" {
		return false
	}
	return m.class(name) >= wholeOnly
}

// param reports whether the URL or form parameter name is sensitive: as Sensitive, and
// also the parameter-only terms.
func (m *Matcher) param(name string) bool {
	return name != "" && m.class(name) >= paramOnly
}

func (m *Matcher) class(name string) class {
	if c, ok := m.memo.load(name); ok {
		return c
	}
	c := m.classify(name)
	m.memo.store(name, c)
	return c
}

// textKey reports whether a key found in free text is sensitive. Whole-name terms count
// only for a parameter (param: the key follows '?', '&' or '#'), since elsewhere the
// word before a '=' or ':' is rarely the whole name ("exit code: 2"). The memo is left
// alone: the words of error messages would take the places of attribute names, and most
// are decided about as fast as they are looked up.
func (m *Matcher) textKey(key string, param bool) bool {
	c := m.classify(key)
	return c == secret || param && c >= paramOnly
}

// Query returns the raw query with the values of sensitive parameters replaced.
// Unparseable input is redacted whole rather than passed through. A query with nothing
// to redact is returned as is, without allocating.
func (m *Matcher) Query(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	if m == nil {
		m = defaultMatcher
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
		if hasValue && m.param(name) {
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

// URL returns u as a string with its userinfo password (the whole userinfo when it has
// no password) and the values of sensitive query and fragment parameters redacted; a
// fragment is read as a query, as OAuth's implicit flow writes "#access_token=...".
// Nothing else is dropped.
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
	frag := ""
	if c.Fragment != "" || c.RawFragment != "" {
		frag = "#" + m.Query(c.EscapedFragment())
		c.Fragment, c.RawFragment = "", ""
	}
	s := c.String() + frag
	// url.URL escapes the brackets of the placeholder; keep it readable.
	return strings.ReplaceAll(s, url.QueryEscape(Redacted), Redacted)
}
