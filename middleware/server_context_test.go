package middleware_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/middleware"
)

// The request's context inside the handler is one vigil layer over the span's context:
// the logging attributes and the error scope are answered by the same value, with or
// without spans, and under a nested vigil middleware too.
func TestRequestIsOneContextLayer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mod    func(*middleware.HTTPConfig)
		nested bool
	}{
		{"full", nil, false},
		{"no spans, no log", func(c *middleware.HTTPConfig) { c.TracerProvider, c.Logger = nil, nil }, false},
		{"nested middleware", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, tt.mod)
			var name string
			var sameCtx bool
			var id string
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx := r.Context()
				name = fmt.Sprint(ctx)
				// Inside a request scope SetUser sets the request's user and returns ctx.
				sameCtx = verrors.SetUser(ctx, verrors.User{ID: "u-1"}) == ctx
				id = middleware.RequestID(ctx)
			})
			if tt.nested {
				h = s.h.Handler(h)
			}
			h = s.h.Handler(h)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
			if n := strings.Count(name, ".WithVigilRequest"); n != 1 {
				t.Errorf("context %s: %d vigil request layers, want 1", name, n)
			}
			if strings.Contains(name, ".WithRequest") {
				t.Errorf("context %s: a second layer for the error scope", name)
			}
			if !sameCtx {
				t.Error("SetUser inside the request derived a context: no error scope in the request's context")
			}
			if id == "" || id != rec.Header().Get("X-Request-Id") {
				t.Errorf("request id %q in the context, %q echoed", id, rec.Header().Get("X-Request-Id"))
			}
		})
	}
}

// The middleware's own allocations per request: its state (which is also the context,
// the logging attributes and the error scope), the request copy WithContext makes, and
// the request id. The error scope used to be a fourth.
func TestMiddlewareAllocations(t *testing.T) {
	s := newStack(t, func(c *middleware.HTTPConfig) { c.TracerProvider, c.Logger = nil, nil })
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := s.h.Handler(next)
	req := httptest.NewRequest("GET", "/x", nil)
	w := httptest.NewRecorder()
	serve := func(h http.Handler) func() {
		return func() {
			clear(w.Header())
			h.ServeHTTP(w, req)
		}
	}
	serve(h)() // the series exists from now on
	bare := testing.AllocsPerRun(200, serve(next))
	if got := testing.AllocsPerRun(200, serve(h)) - bare; got != 3 {
		t.Errorf("the middleware allocates %v times per request, want 3", got)
	}
}

// A capture with the request's context carries what the handler put in the request's
// error scope: the user it set, the records it logged (as breadcrumbs) and the request,
// scrubbed.
func TestRequestScopeReachesEvents(t *testing.T) {
	s, srv, _, rep := newReportingStack(t)
	bridge := slog.New(rep.Handler())
	h := s.h.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_ = verrors.SetUser(r.Context(), verrors.User{ID: "u-42"})
		bridge.InfoContext(r.Context(), "loaded cart", "items", 3)
		panic("cart exploded")
	}))
	req := httptest.NewRequest("GET", "/cart?token=SECRET-Q&page=2", nil)
	req.Header.Set("Authorization", "Bearer SECRET-H")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}

	evs := srv.WaitForEvents(t, 1, 5*time.Second)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.User.ID != "u-42" {
		t.Errorf("event user %+v, want the one the handler set", ev.User)
	}
	if !hasCrumb(ev.Breadcrumbs, "loaded cart") {
		t.Errorf("breadcrumbs %+v, want the handler's record", ev.Breadcrumbs)
	}
	if ev.Request == nil || !strings.HasSuffix(ev.Request.URL, "/cart") || !strings.Contains(ev.Request.QueryString, "page=2") {
		t.Fatalf("event request %+v, want the request's URL and query", ev.Request)
	}
	if id := ev.Contexts["attributes"]["request_id"]; id != rec.Header().Get("X-Request-Id") {
		t.Errorf("request_id %v in the event, %q echoed", id, rec.Header().Get("X-Request-Id"))
	}
	for _, b := range srv.RawBodies() {
		if strings.Contains(string(b), "SECRET") {
			t.Errorf("secret sent to Sentry: %s", b)
		}
	}
}

func hasCrumb(crumbs []*sentry.Breadcrumb, msg string) bool {
	for _, c := range crumbs {
		if c.Message == msg {
			return true
		}
	}
	return false
}

// permissiveWriter accepts any status code, as a writer of a handler's own may (net/http's
// panics on codes outside 100-999).
type permissiveWriter struct {
	h    http.Header
	code int
}

func (w *permissiveWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *permissiveWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *permissiveWriter) WriteHeader(code int)        { w.code = code }

// A status net/http would refuse is recorded under _OTHER, never wrapped around into a
// valid code (65736 is 200 in 16 bits), and the recorded count stays bounded.
func TestInvalidStatusCodes(t *testing.T) {
	for _, code := range []int{65736, 1 << 40, -200, 1000, 42} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			s := newStack(t, nil)
			h := s.h.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
			h.ServeHTTP(&permissiveWriter{}, httptest.NewRequest("GET", "/x", nil))
			series := gather(t, s.reg, middleware.MetricServerDuration)
			if len(series) != 1 {
				t.Fatalf("series %v, want one", series)
			}
			if got := series[0].labels["http_response_status_code"]; got != "_OTHER" {
				t.Errorf("status label %q, want _OTHER", got)
			}
			if got := series[0].labels["http_response_status_class"]; got != "_OTHER" {
				t.Errorf("status class %q, want _OTHER", got)
			}
		})
	}
}
