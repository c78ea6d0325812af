// Package jsonstr encodes JSON strings for vigil's log handler, and lets a value that is
// logged many times (a captured error's stack) carry its encoding, computed once.
package jsonstr

import (
	"unicode/utf8"
)

// safe[c] is true for ASCII bytes that need no escaping inside a JSON string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plain[c] is true for the bytes that need no escaping inside a JSON string: ASCII
// from space up, except the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Append appends s as a JSON string. Control characters (newlines among them)
// are escaped, so a record always stays on one line; invalid UTF-8 becomes U+FFFD.
// Keys and most values are plain ASCII: they are checked eight bytes at a time, then
// byte by byte, and copied in one append.
func Append(buf []byte, s string) []byte {
	i := 0
	if len(s) >= 8 {
		// Whole words, then the last eight bytes (overlapping the words checked).
		for ; i+8 <= len(s); i += 8 {
			if !plainWord(word(s, i)) {
				break
			}
		}
		if i+8 > len(s) && plainWord(word(s, len(s)-8)) {
			i = len(s)
		}
	}
	for i < len(s) && plain[s[i]] {
		i++
	}
	buf = append(buf, '"')
	if i == len(s) {
		buf = append(buf, s...)
		return append(buf, '"')
	}
	return appendFrom(buf, s, i)
}

// word loads s[i:i+8] (one load: the compiler merges the bytes).
func word(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// plainWord reports whether the eight bytes of x are ASCII that needs no escaping: no
// control character, quote, backslash or non-ASCII byte (SWAR: each test sets a byte's
// high bit where the condition holds).
func plainWord(x uint64) bool {
	ctl := (x - 0x20*lsb) & ^x // byte < 0x20 (or >= 0x80, caught below anyway)
	quote := x ^ ('"' * lsb)   // zero byte where '"'
	slash := x ^ ('\\' * lsb)  // zero byte where '\\'
	zero := ((quote - lsb) & ^quote) | ((slash - lsb) & ^slash)
	return (x|ctl|zero)&msb == 0
}

// appendFrom is Append from s[i], the first byte that needs a look, on; the opening
// quote is in buf already.
func appendFrom(buf []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		// Skip eight plain bytes at a time: long values (stacks, bodies) are mostly plain.
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			// Valid JSON, but line terminators to JavaScript and some log shippers.
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain8 reports whether the first eight bytes of s are ASCII that needs no escaping.
func plain8(s string) bool { return plainWord(word(s, 0)) }

const hex = "0123456789abcdef"

// Quoted is a string together with its JSON encoding. vigil's JSON log handler appends
// the encoding as is; other handlers see a fmt.Stringer and a json.Marshaler.
type Quoted struct {
	raw, json string
}

// Quote encodes s once.
func Quote(s string) *Quoted { return &Quoted{raw: s, json: string(Append(nil, s))} }

// String returns the original string.
func (q *Quoted) String() string { return q.raw }

// JSON returns the encoding, quotes included.
func (q *Quoted) JSON() string { return q.json }

// MarshalJSON returns the encoding.
func (q *Quoted) MarshalJSON() ([]byte, error) { return []byte(q.json), nil }
