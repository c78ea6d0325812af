package scrub

import "strings"

// Value returns an attribute's string value with the secrets a value can carry by its
// shape redacted: a URL's userinfo password and secret query or fragment parameters
// (anything after "://" or '?'), and JWT-shaped tokens. It is Text for values that
// look like URLs or tokens, and costs one byte scan for everything else, so every
// sink can apply it to every string value (log attributes, span attributes, event
// extras). Prose such as "token=abc" inside an ordinary value is left to Text, which
// error and panic text go through.
func (m *Matcher) Value(s string) string {
	if !valueShape(s) {
		return s
	}
	return m.Text(s)
}

// valueShape reports whether s may be a URL or hold a token: it has "://", a '?' or
// "eyJ" (the start of a JWT), and 8 bytes or more. A short value is read eight bytes at
// a time, and only a word holding a ':', '?' or 'J' (rarer than the 'e') is looked at
// closer; a long one takes the vectorized searches.
func valueShape(s string) bool {
	if len(s) < 8 {
		return false
	}
	if len(s) > 64 {
		return strings.Contains(s, "://") || strings.IndexByte(s, '?') >= 0 || strings.Contains(s, "eyJ")
	}
	for i := 0; i < len(s); i += 8 {
		j := min(i, len(s)-8) // the last word overlaps the one before
		x := uint64(s[j]) | uint64(s[j+1])<<8 | uint64(s[j+2])<<16 | uint64(s[j+3])<<24 |
			uint64(s[j+4])<<32 | uint64(s[j+5])<<40 | uint64(s[j+6])<<48 | uint64(s[j+7])<<56
		if hasByte(x, ':')|hasByte(x, '?')|hasByte(x, 'J') != 0 && shapeAt(s, j, j+8) {
			return true
		}
	}
	return false
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByte is non-zero when a byte of x is c (it may also flag a byte that follows a
// match, which shapeAt then rules out).
func hasByte(x uint64, c byte) uint64 {
	y := x ^ (uint64(c) * lsb)
	return (y - lsb) & ^y & msb
}

// shapeAt reports whether a '?', the ':' of "://" or the 'J' of "eyJ" is in s[i:j].
func shapeAt(s string, i, j int) bool {
	for ; i < j; i++ {
		switch s[i] {
		case '?':
			return true
		case ':':
			if i+2 < len(s) && s[i+1] == '/' && s[i+2] == '/' {
				return true
			}
		case 'J':
			if i >= 2 && s[i-2] == 'e' && s[i-1] == 'y' {
				return true
			}
		}
	}
	return false
}
