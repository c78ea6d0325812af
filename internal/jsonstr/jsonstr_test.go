package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAppend checks that every string encodes to one valid JSON string on one line
// that decodes back to the input (invalid UTF-8 replaced by U+FFFD).
func FuzzAppend(f *testing.F) {
	for _, s := range []string{
		"", "plain ascii that is long enough for the word loop", "quote\"inside and \\ backslash",
		"new\nline\r\tand\x00nul\x1f", "\xff\xfe bad utf8 \xc3", "\u2028\u2029 separators",
		"12345678\"", "1234567\n89", "héllo wörld ✓ 🎉", strings.Repeat("abcdefgh", 20) + "\x01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Append(nil, s)
		if strings.ContainsAny(string(out), "\n\r") {
			t.Fatalf("raw line break in %q", out)
		}
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("invalid JSON %q: %v", out, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if !utf8.ValidString(s) {
			// ToValidUTF8 folds a run of bad bytes into one; we replace each byte.
			want = strings.Map(func(r rune) rune { return r }, s)
		}
		if got != want {
			t.Fatalf("round trip: got %q want %q (encoded %s)", got, want, out)
		}
	})
}

func BenchmarkAppendLong(b *testing.B) {
	s := strings.Repeat("github.com/vigil-go/vigil/errors.(*Reporter).Capture\n\t/src/errors/errors.go:120\n", 20)
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = Append(buf[:0], s)
	}
}
