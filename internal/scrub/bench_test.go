package scrub

import (
	"strconv"
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
