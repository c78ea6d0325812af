package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/middleware"
)

// Every value a client controls is bounded on the span and the access line
// (limits.AttrValue), and the route as a label is (limits.LabelValue).
func TestClientValuesAreBounded(t *testing.T) {
	huge := strings.Repeat("é", 50<<10) // 100 KiB
	tests := []struct {
		name   string
		build  func() *http.Request
		attr   attribute.Key // on the server span
		field  string        // on the access line
		maxLen int
	}{
		{"user agent", func() *http.Request {
			r := httptest.NewRequest("GET", "/orders/1", nil)
			r.Header.Set("User-Agent", "bot/"+huge)
			return r
		}, "user_agent.original", "user_agent.original", limits.AttrValue},
		{"path", func() *http.Request { return httptest.NewRequest("GET", "/"+strings.Repeat("p", 100<<10), nil) },
			"url.path", "url.path", limits.AttrValue},
		{"query", func() *http.Request {
			return httptest.NewRequest("GET", "/orders/1?q="+strings.Repeat("q", 100<<10)+"&token=s3cr3t", nil)
		}, "url.query", "url.query", limits.AttrValue},
		{"method", func() *http.Request { return httptest.NewRequest(strings.Repeat("M", 100<<10), "/orders/1", nil) },
			"http.request.method_original", "http.request.method_original", limits.AttrValue},
		{"host", func() *http.Request {
			r := httptest.NewRequest("GET", "/orders/1", nil)
			r.Host = strings.Repeat("h", 100<<10) + ".example"
			return r
		}, "server.address", "", limits.AttrValue},
		{"remote address", func() *http.Request {
			r := httptest.NewRequest("GET", "/orders/1", nil)
			r.RemoteAddr = strings.Repeat("r", 100<<10)
			return r
		}, "client.address", "client.address", limits.AttrValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, nil)
			rec := httptest.NewRecorder()
			s.h.Handler(demoMux(t)).ServeHTTP(rec, tt.build())
			spans := s.exp.GetSpans().Snapshots()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			v, ok := attrs(spans[0])[tt.attr]
			if !ok {
				t.Fatalf("no %s attribute: %v", tt.attr, spans[0].Attributes())
			}
			checkBounded(t, "span "+string(tt.attr), v.AsString(), tt.maxLen)
			if tt.field == "" {
				return
			}
			lines := accessLines(t, s.logs)
			if len(lines) != 1 {
				t.Fatalf("%d access lines", len(lines))
			}
			got, _ := lines[0][tt.field].(string)
			checkBounded(t, "access line "+tt.field, got, tt.maxLen)
			if tt.name == "query" && strings.Contains(got, "s3cr3t") {
				t.Errorf("query lost its redaction when bounded: %q", got[len(got)-40:])
			}
		})
	}
}

func checkBounded(t *testing.T, what, v string, n int) {
	t.Helper()
	if len(v) > n || !strings.HasSuffix(v, limits.Ellipsis) || !utf8.ValidString(v) {
		t.Errorf("%s: %d bytes (want at most %d, valid UTF-8, ending in %q)", what, len(v), n, limits.Ellipsis)
	}
}

// A route function that returns raw paths (a misuse the docs warn about) meets 1,000
// requests with unique 64 KiB paths: series are capped in number by the registry and in
// length by the label bound, so /metrics stays small.
func TestHostileRoutesKeepMetricsSmall(t *testing.T) {
	s := newStack(t, func(c *middleware.HTTPConfig) {
		c.Logger, c.TracerProvider = nil, nil
		c.Route = func(r *http.Request) string { return r.URL.Path }
	})
	h := s.h.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	const n = 1000
	tail := strings.Repeat("x", 64<<10)
	for i := range n {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = fmt.Sprintf("/%05d/%s", i, tail) // set, not parsed: -race makes parsing 64 MiB slow
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	rec := httptest.NewRecorder()
	s.reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	// Three histogram families of 14 buckets plus 2 lines each per route, a line at most
	// a label value and 250 bytes of names, other labels and numbers.
	const bound = n * 3 * 16 * (limits.LabelValue + 250)
	if len(body) > bound {
		t.Errorf("/metrics is %d bytes after %d hostile routes; want at most %d", len(body), n, bound)
	}
	for _, sm := range gather(t, s.reg, middleware.MetricServerDuration) {
		if r := sm.labels["http_route"]; len(r) > limits.LabelValue {
			t.Fatalf("http_route label of %d bytes", len(r))
		}
	}
	t.Logf("/metrics: %d bytes after %d requests with unique 64 KiB routes (bound %d; unbounded it would be about %d)",
		len(body), n, bound, n*3*16*(64<<10))
}

// The secret policy's configured lists reach the query on the span and the access line:
// RedactKeys adds names, AllowKeys exempts names that only look secret.
func TestQueryFollowsConfiguredPolicy(t *testing.T) {
	tests := []struct {
		name          string
		redact, allow []string
		want          string
	}{
		{"built-in", nil, nil, "sig=[REDACTED]&tenant=acme&q=1"},
		{"redact", []string{"tenant"}, nil, "sig=[REDACTED]&tenant=[REDACTED]&q=1"},
		{"allow", nil, []string{"sig"}, "sig=abc&tenant=acme&q=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, func(c *middleware.HTTPConfig) { c.RedactKeys, c.AllowKeys = tt.redact, tt.allow })
			s.h.Handler(demoMux(t)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/orders/1?sig=abc&tenant=acme&q=1", nil))
			if got := attrs(s.exp.GetSpans().Snapshots()[0])["url.query"].AsString(); got != tt.want {
				t.Errorf("url.query = %q, want %q", got, tt.want)
			}
			if got := accessLines(t, s.logs)[0]["url.query"]; got != tt.want {
				t.Errorf("access line query = %v, want %q", got, tt.want)
			}
		})
	}
}

// The client side bounds the URL it records: a proxy forwards its own client's path.
func TestTransportURLBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	s := newStack(t, nil)
	client := &http.Client{Transport: s.h.Transport(nil)}
	resp, err := client.Get(srv.URL + "/" + strings.Repeat("p", 100<<10) + "?api_key=s3cr3t")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	spans := s.exp.GetSpans().Snapshots()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	full := attrs(spans[0])["url.full"].AsString()
	checkBounded(t, "url.full", full, limits.AttrValue)
	if strings.Contains(full, "s3cr3t") {
		t.Error("url.full kept the secret")
	}
}
