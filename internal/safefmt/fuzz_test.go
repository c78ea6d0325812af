package safefmt

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSafeFormat builds values of many shapes from the input (strings, numbers, nested
// maps and slices, cycles, secret keys, panicking methods) and checks that formatting
// never panics, always gives valid JSON, stays bounded and never shows a secret value
// under a secret key.
func FuzzSafeFormat(f *testing.F) {
	f.Add("hello", 3, uint8(0))
	f.Add("password", 40, uint8(1))
	f.Add("\x00\"\\\u2028é\xff", 1, uint8(2))
	f.Add(strings.Repeat("k", 5000), 7, uint8(3))
	f.Fuzz(func(t *testing.T, s string, n int, shape uint8) {
		v := build(s, n, shape)
		b := AppendJSON(nil, v, nil)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON for shape %d: %q", shape, b)
		}
		if len(b) > Limit+2048 {
			t.Fatalf("%d bytes", len(b))
		}
		if strings.Contains(string(b), "SECRETVALUE") {
			t.Fatalf("secret shown: %s", b)
		}
		txt := Text(v, nil)
		if len(txt) > Limit {
			t.Fatalf("Text: %d bytes", len(txt))
		}
		if !utf8.ValidString(txt) && utf8.ValidString(s) {
			t.Fatalf("Text cut a rune: %q", txt)
		}
		if strings.Contains(txt, "SECRETVALUE") {
			t.Fatalf("secret shown by Text: %s", txt)
		}
	})
}

func build(s string, n int, shape uint8) any {
	n = n % 64
	if n < 0 {
		n = -n
	}
	switch shape % 8 {
	case 0:
		return s
	case 1:
		m := map[string]any{s: n, "password": "SECRETVALUE"}
		m["self"] = m
		return m
	case 2:
		sl := make([]any, 0, n+1)
		for i := range n {
			sl = append(sl, strings.Repeat(s, i))
		}
		sl = append(sl, sl)
		return sl
	case 3:
		var v any = map[string]string{"Authorization": "SECRETVALUE", s: s}
		for range n {
			v = map[string]any{s: v}
		}
		return v
	case 4:
		return []any{panicErr{}, panicJSON{}, panicMarshalText{}, panicStringer(1), badJSON{}, json.RawMessage(s)}
	case 5:
		return login{User: s, Password: "SECRETVALUE", Note: s, Count: n}
	case 6:
		nd := &node{Name: s}
		cur := nd
		for range n {
			cur.Next = &node{Name: s}
			cur = cur.Next
		}
		cur.Next = nd
		return nd
	}
	return []byte(strings.Repeat(s, n))
}
