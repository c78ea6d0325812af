package scrub

import (
	"strings"
	"testing"
)

func TestValue(t *testing.T) {
	tests := []struct {
		in, secret string // secret must not survive; "" means in is returned unchanged
	}{
		{"https://deploy:s3cr3t@git.example.com/org/repo.git", "s3cr3t"},
		{"postgres://app:pw-s3cr3t@db:5432/orders?sslmode=disable", "pw-s3cr3t"},
		{"/orders?api_key=s3cr3t-q&page=2", "s3cr3t-q"},
		{"https://cb.example.com/#access_token=s3cr3t-frag", "s3cr3t-frag"},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlczNjcjN0", "c2lnbmF0dXJlczNjcjN0"},
		{"GET /orders/42", ""},
		{"token=abc is prose, left to Text", ""},
		{"https://example.com/a?page=2", ""},
		{"short", ""},
	}
	for _, tc := range tests {
		got := Default().Value(tc.in)
		if tc.secret == "" {
			if got != tc.in {
				t.Errorf("Value(%q) = %q, want it unchanged", tc.in, got)
			}
			continue
		}
		if strings.Contains(got, tc.secret) {
			t.Errorf("Value(%q) = %q: the secret survived", tc.in, got)
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("Value(%q) = %q: want %s in place of the secret", tc.in, got, Redacted)
		}
	}
}

func TestValueDoesNotAllocateForPlainValues(t *testing.T) {
	m := Default()
	for _, s := range []string{"GET /orders/42", "Mozilla/5.0 (X11; Linux x86_64)", "2026-12-02T10:00:00Z"} {
		if n := testing.AllocsPerRun(100, func() { _ = m.Value(s) }); n != 0 {
			t.Errorf("Value(%q): %v allocations, want 0", s, n)
		}
	}
}

// TestValueShape checks the word-at-a-time pre-scan against the plain searches it
// replaces, at every position and length up to past the vectorized threshold.
func TestValueShape(t *testing.T) {
	for _, pat := range []string{"://", "?", "eyJ", ":/", "ey", ":", "e", "/"} {
		for n := 0; n <= 70; n++ {
			for at := 0; at+len(pat) <= n; at++ {
				b := []byte(strings.Repeat("a", n))
				copy(b[at:], pat)
				s := string(b)
				want := len(s) >= 8 && (strings.Contains(s, "://") || strings.Contains(s, "?") || strings.Contains(s, "eyJ"))
				if got := valueShape(s); got != want {
					t.Fatalf("valueShape(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
}
