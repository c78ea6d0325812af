package middleware_test

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	"github.com/vigil-go/vigil/middleware"
)

// Scanners send random paths, methods and user agents; the series count must depend
// only on the routes, the standard methods and the statuses.
func TestCardinalityBounded(t *testing.T) {
	s := newStack(t, func(c *middleware.HTTPConfig) { c.Logger = nil; c.TracerProvider = nil })
	h := s.h.Handler(demoMux(t))
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND", "HACK", "get"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 10_000 {
		var path string
		switch rng.IntN(3) {
		case 0:
			path = fmt.Sprintf("/orders/%d", rng.Int())
		case 1:
			path = fmt.Sprintf("/%x/%x", rng.Uint64(), rng.Uint64())
		default:
			path = fmt.Sprintf("/wp-admin/%d.php", i)
		}
		req := httptest.NewRequest(methods[rng.IntN(len(methods))], path, nil)
		req.Header.Set("User-Agent", fmt.Sprintf("bot/%d", rng.Int()))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	dur := gather(t, s.reg, middleware.MetricServerDuration)
	// Routes: /orders/{id} (200 for GET and HEAD, 405 otherwise) and unmatched (404/405),
	// times at most 10 methods: far below the 10,000 requests.
	if len(dur) > 30 {
		t.Fatalf("%d duration series after 10,000 random requests: %v", len(dur), dur)
	}
	for _, sm := range dur {
		if r := sm.labels["http_route"]; r != "/orders/{id}" && r != "unmatched" {
			t.Errorf("route label %q", r)
		}
	}
	t.Logf("%d series", len(dur))
}
