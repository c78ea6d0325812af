package scrub

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkSensitiveKnown is the hot path: a name decided before, looked up lock-free.
func BenchmarkSensitiveKnown(b *testing.B) {
	m := New()
	names := []string{"http.response.status_code", "Authorization", "user_agent", "X-Auth-Token"}
	for _, n := range names {
		m.Sensitive(n)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Sensitive(names[i%len(names)])
	}
}

// BenchmarkSensitiveFill decides maxCached distinct new names on a fresh Matcher: the
// cost of filling the memo, which hostile or high-cardinality keys reach quickly.
func BenchmarkSensitiveFill(b *testing.B) {
	names := make([]string, maxCached)
	for i := range names {
		names[i] = "attr_" + strconv.Itoa(i) + "_name"
	}
	b.ReportAllocs()
	for b.Loop() {
		m := New()
		for _, n := range names {
			m.Sensitive(n)
		}
	}
}

// BenchmarkSensitiveParallel reads known names from every CPU at once.
func BenchmarkSensitiveParallel(b *testing.B) {
	m := New()
	names := []string{"http.response.status_code", "Authorization", "user_agent", "X-Auth-Token"}
	for _, n := range names {
		m.Sensitive(n)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			m.Sensitive(names[i%len(names)])
		}
	})
}

// BenchmarkText measures Text on the messages it sees most: error text with nothing to
// redact, and one with a URL carrying a key.
func BenchmarkText(b *testing.B) {
	m := New()
	for _, bc := range []struct{ name, s string }{
		{"plain", "connection pool exhausted after 30 retries"},
		{"url_error", `Get "https://api.example.com/v1/orders?page=2": dial tcp 10.0.0.1:443: connect: connection refused`},
		{"secret", `Get "https://api.example.com/v1/orders?api_key=k123&page=2": context deadline exceeded`},
		{"attr_url", "https://api.example.com/v1/orders/123"},
		{"attr_time", "2026-12-02T10:57:11Z"},
		{"attr_path", "/orders/{id}"},
		{"long_clean", strings.Repeat("order 12 failed: upstream returned status 503; ", 100)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.s)))
			for b.Loop() {
				m.Text(bc.s)
			}
		})
	}
}
