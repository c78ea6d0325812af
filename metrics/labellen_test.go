package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-go/vigil/internal/limits"
)

// hostile returns n label values of size bytes each, unique in their first bytes (so
// truncation does not merge them) and ending in a multi-byte rune.
func hostile(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		p := fmt.Sprintf("v%05d-", i)
		out[i] = p + strings.Repeat("é", (size-len(p))/2)
	}
	return out
}

// Label values are bounded in length as series are in number: 1,000 distinct 64 KiB
// values (a client's header copied into a label) keep /metrics small. Before the bound
// the histogram case alone exposed 1,000 series x 14 lines x 64 KiB, about 900 MiB.
func TestLongLabelValuesAreTruncated(t *testing.T) {
	const n, size = 1000, 64 << 10
	values := hostile(n, size)
	tests := []struct {
		name   string
		record func(r *Registry, v string)
		lines  int // exposition lines per series
	}{
		{"counter", func(r *Registry, v string) {
			must[*Counter](t)(r.Counter("hostile_total", "", "agent", "route")).With(v, "/a").Inc()
		}, 1},
		{"gauge", func(r *Registry, v string) {
			must[*Gauge](t)(r.Gauge("hostile", "", "agent")).With(v).Set(1)
		}, 1},
		{"histogram", func(r *Registry, v string) {
			must[*Histogram](t)(r.Histogram("hostile_bytes", "", "agent")).With(v).Observe(10)
		}, 14}, // 11 default buckets, +Inf, sum, count
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestRegistry(t, Config{})
			for _, v := range values {
				tt.record(r, v)
			}
			rec := httptest.NewRecorder()
			r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			body, _ := io.ReadAll(rec.Body)
			// Each line: the name, the truncated value (escaping is not needed for these
			// runes), the other labels and the number, well under 200 bytes of overhead.
			bound := n * tt.lines * (limits.LabelValue + 200)
			if len(body) > bound {
				t.Errorf("/metrics is %d bytes, want at most %d", len(body), bound)
			}
			series := 0
			for _, line := range strings.Split(string(body), "\n") {
				if !strings.HasPrefix(line, "hostile") {
					continue // comments, and the registry's own families
				}
				if !utf8.ValidString(line) {
					t.Fatalf("invalid UTF-8 in %q", line[:80])
				}
				i := strings.Index(line, `agent="`)
				if i < 0 {
					t.Fatalf("no agent label: %q", line)
				}
				v := line[i+len(`agent="`):]
				v = v[:strings.IndexByte(v, '"')]
				if len(v) > limits.LabelValue || !strings.HasSuffix(v, limits.Ellipsis) {
					t.Fatalf("label value of %d bytes %q…: want at most %d, ending in %q", len(v), v[:20], limits.LabelValue, limits.Ellipsis)
				}
				series++
			}
			if series != n*tt.lines {
				t.Errorf("%d lines, want %d (distinct values stay distinct series)", series, n*tt.lines)
			}
			t.Logf("%s: /metrics is %d bytes for %d values of %d bytes (bound %d; without the bound about %d)",
				tt.name, len(body), n, size, bound, n*tt.lines*size)
		})
	}
}

// The truncation is applied to the value a series is found by, so a long value maps to
// the same series every time, and a short value is not copied.
func TestLongLabelValueSameSeries(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	c := must[*Counter](t)(r.Counter("agents_total", "", "agent"))
	long := strings.Repeat("a", 10_000)
	c.With(long).Inc()
	c.With(long).Inc()
	c.With(long + "different tail").Inc() // same first 253 bytes: the same series
	want := limits.Truncate(long, limits.LabelValue)
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); !strings.Contains(body, `agents_total{agent="`+want+`"} 3`) {
		t.Errorf("want one series with count 3, got:\n%s", body)
	}
	short := strings.Repeat("b", limits.LabelValue)
	s := c.With(short)
	if n := testing.AllocsPerRun(100, func() { c.With(short) }); n != 0 {
		t.Errorf("With of a value within the bound allocates %v times", n)
	}
	s.Inc()
}
