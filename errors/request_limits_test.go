package errors

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
)

// A request's data in an event follows the same rules as gRPC metadata (internal/pii
// for client IPs) and is bounded like span attributes, so one request with huge headers
// cannot push its event over Sentry's size limit.
func TestRequestDataRules(t *testing.T) {
	huge := strings.Repeat("é", 50<<10)
	req := httptest.NewRequest("GET", "http://shop.example/"+strings.Repeat("p", 10<<10)+"?q="+huge, nil)
	req.Header.Set("User-Agent", huge)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Real-Ip", "203.0.113.9")
	req.Header.Set("Cf-Connecting-Ip", "203.0.113.9")
	req.Header.Set("Authorization", "Bearer s3cr3t")
	for _, pii := range []bool{false, true} {
		out := requestData(req, scrub.Default(), pii)
		for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "Cf-Connecting-Ip"} {
			if _, ok := out.Headers[h]; ok != pii {
				t.Errorf("pii=%v: header %s present=%v", pii, h, ok)
			}
		}
		if out.Headers["Authorization"] != scrub.Redacted {
			t.Errorf("Authorization = %q", out.Headers["Authorization"])
		}
		for what, v := range map[string]string{"User-Agent": out.Headers["User-Agent"], "URL": out.URL, "query": out.QueryString} {
			if len(v) > limits.AttrValue || !strings.HasSuffix(v, limits.Ellipsis) {
				t.Errorf("%s: %d bytes, want at most %d ending in %q", what, len(v), limits.AttrValue, limits.Ellipsis)
			}
		}
	}
}
