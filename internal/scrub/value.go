package scrub

import "strings"

// Value returns an attribute's string value with the secrets a value can carry by its
// shape redacted: a URL's userinfo password and secret query or fragment parameters
// (anything after "://" or '?'), and JWT-shaped tokens. It is Text for values that
// look like URLs or tokens, and costs a few byte scans for everything else, so every
// sink can apply it to every string value (log attributes, span attributes, event
// extras). Prose such as "token=abc" inside an ordinary value is left to Text, which
// error and panic text go through.
func (m *Matcher) Value(s string) string {
	if len(s) < 8 || !strings.Contains(s, "://") && strings.IndexByte(s, '?') < 0 && !strings.Contains(s, "eyJ") {
		return s
	}
	return m.Text(s)
}
