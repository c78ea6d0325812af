package limits_test

import (
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/vigil-go/vigil/internal/limits"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short", "abc", 10, "abc"},
		{"exact", "abcdef", 6, "abcdef"},
		{"cut", "abcdefghij", 8, "abcde…"},
		{"zero", "abc", 0, ""},
		{"negative", "abc", -1, ""},
		{"too small for the marker", "abcdefghij", 4, "abcd"},
		{"rune kept whole", "ab€€€€", 9, "ab€…"},   // € is 3 bytes: "ab€" + "…" = 8
		{"rune not split", "abc€€€€", 10, "abc€…"}, // 6 + 3 = 9; a 10th byte would split €
		{"two-byte runes", strings.Repeat("é", 10), 8, "éé…"},
		{"empty", "", 5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := limits.Truncate(tt.s, tt.n)
			if got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
			}
			if tt.n >= 0 && len(got) > tt.n {
				t.Errorf("len = %d > %d", len(got), tt.n)
			}
			if !utf8.ValidString(got) {
				t.Errorf("invalid UTF-8: %q", got)
			}
		})
	}
}

func TestTruncateProperties(t *testing.T) {
	inputs := []string{strings.Repeat("a", 5000), strings.Repeat("日本語", 700), strings.Repeat("😀x", 500), "\xff\xfe" + strings.Repeat("\x80", 20)}
	for _, s := range inputs {
		for n := 0; n < 60; n++ {
			got := limits.Truncate(s, n)
			if len(got) > n {
				t.Fatalf("Truncate(len %d, %d) is %d bytes", len(s), n, len(got))
			}
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("Truncate(%q…, %d) = %q: invalid UTF-8", s[:10], n, got)
			}
			if n >= 6 && len(s) > n && !strings.HasSuffix(got, limits.Ellipsis) {
				t.Fatalf("Truncate(%q…, %d) = %q: no marker", s[:10], n, got)
			}
		}
	}
}

func TestTruncateAllocs(t *testing.T) {
	s := strings.Repeat("a", limits.AttrValue)
	if n := testing.AllocsPerRun(100, func() { _ = limits.Truncate(s, limits.AttrValue) }); n != 0 {
		t.Errorf("Truncate of a value within the bound: %v allocations, want 0", n)
	}
	long := s + "b"
	if n := testing.AllocsPerRun(100, func() { _ = limits.Truncate(long, limits.AttrValue) }); n != 1 {
		t.Errorf("Truncate of a long value: %v allocations, want 1", n)
	}
}

// The result must not share memory with a long input: a span or series holding a
// truncated user agent must not keep the whole 100 KiB value alive.
func TestTruncateCopies(t *testing.T) {
	s := strings.Repeat("x", 100<<10)
	got := limits.Truncate(s, limits.AttrValue)
	if unsafe.StringData(got) == unsafe.StringData(s) {
		t.Error("the truncated value shares the input's memory")
	}
}
