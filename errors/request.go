package errors

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/limits"
	piirule "github.com/vigil-go/vigil/internal/pii"
	"github.com/vigil-go/vigil/internal/scrub"
)

// maxBreadcrumbs bounds the log records a request scope keeps for its next event.
const maxBreadcrumbs = 30

// scope is a request's error scope. It only keeps pointers: everything Sentry needs
// (headers, breadcrumbs, user) is turned into event data when, and only if, something is
// captured. It lives inside a context of its own (WithRequest) or inside the middleware's
// per-request state (RequestScope), which answers scopeKey with it.
type scope struct {
	req *http.Request

	mu     sync.Mutex
	user   *User
	crumbs []crumb // a ring once full; next is the oldest slot
	next   int
	panics []reportedPanic // reported in this request, for dedup with sentry-go middleware
}

type scopeKey struct{}

func scopeFrom(ctx context.Context) *scope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// RequestScope is a request's error scope for a context type of its own. A middleware
// whose per-request state is already the request's context.Context embeds one, calls
// Init, and asks the scope's Value first in its own Value method: the request then
// costs one context value and one allocation, not a second of each for WithRequest.
// Captures and the slog bridge with that context behave as with WithRequest.
//
// Its fields are private; the zero value is an empty scope with no request.
type RequestScope struct {
	s scope
}

// Init makes rs the scope of req. It must run before the context holding rs is used.
func (rs *RequestScope) Init(req *http.Request) { rs.s.req = req }

// Value returns the scope for the scope's own context key and nil for every other key,
// so a context type that embeds rs answers:
//
//	if v := c.scope.Value(key); v != nil {
//		return v
//	}
//	return c.parent.Value(key)
func (rs *RequestScope) Value(key any) any {
	if _, ok := key.(scopeKey); ok {
		return &rs.s
	}
	return nil
}

// requestContext is the context WithRequest returns: the parent and a scope.
type requestContext struct {
	context.Context
	scope RequestScope
}

// Value makes the scope findable from any context derived from this one.
func (c *requestContext) Value(key any) any {
	if v := c.scope.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

func (c *requestContext) String() string { return contextName(c.Context) + ".WithRequest" }

// contextName names a context as the context package's String methods do.
func contextName(c context.Context) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return reflect.TypeOf(c).String()
}

// WithRequest returns a context in which captures carry req's method, URL, scrubbed
// headers and query, and in which the slog bridge collects breadcrumbs. It costs one
// allocation and does not read req until something is captured. A middleware with a
// context type of its own embeds a RequestScope instead.
func WithRequest(ctx context.Context, req *http.Request) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	c := &requestContext{Context: ctx}
	c.scope.Init(req)
	return c
}

// User identifies who was affected by an error.
type User struct {
	ID, Username, Email, IPAddress string
	// Data holds further fields (plan, tenant, ...); sensitive names are scrubbed.
	Data map[string]string
}

type userKey struct{}

// SetUser attaches u to the events captured with ctx. Inside a request (a context from
// WithRequest, or a middleware's RequestScope) it sets the user of the whole request, so captures made by the middleware
// with the outer context see it too, and ctx is returned unchanged.
func SetUser(ctx context.Context, u User) context.Context {
	if s := scopeFrom(ctx); s != nil {
		s.mu.Lock()
		s.user = &u
		s.mu.Unlock()
		return ctx
	}
	return context.WithValue(ctx, userKey{}, &u)
}

func userFrom(ctx context.Context) *User {
	if s := scopeFrom(ctx); s != nil {
		s.mu.Lock()
		u := s.user
		s.mu.Unlock()
		if u != nil {
			return u
		}
	}
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// crumb is a log record kept for a later event; it is converted only if one is sent.
type crumb struct {
	rec slog.Record
	h   *bridge // the handler state (WithAttrs, WithGroup) the record was logged through
}

func (s *scope) addCrumb(r slog.Record, h *bridge) {
	c := crumb{rec: r.Clone(), h: h}
	s.mu.Lock()
	if len(s.crumbs) < maxBreadcrumbs {
		s.crumbs = append(s.crumbs, c)
	} else {
		s.crumbs[s.next] = c
		s.next = (s.next + 1) % maxBreadcrumbs
	}
	s.mu.Unlock()
}

// takeCrumbs returns the kept records, oldest first.
func (s *scope) takeCrumbs() []crumb {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]crumb, 0, len(s.crumbs))
	out = append(out, s.crumbs[s.next:]...)
	return append(out, s.crumbs[:s.next]...)
}

// requestData snapshots req for an event, on the capturing goroutine (the sender must not
// read a request the handler may still be using): URL without userinfo, query scrubbed
// separately, headers scrubbed, cookies never sent (the Cookie header is a secret name).
func requestData(req *http.Request, m *scrub.Matcher, pii bool) *sentry.Request {
	if req == nil {
		return nil
	}
	// Every value is the client's, bounded as on spans (limits.AttrValue): one request
	// with huge headers must not push its event over Sentry's size limit.
	out := &sentry.Request{Method: limits.Truncate(req.Method, limits.AttrValue), Headers: map[string]string{}}
	if req.URL != nil {
		scheme := "http"
		if req.TLS != nil || strings.EqualFold(req.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		host := req.Host
		if host == "" {
			host = req.URL.Host
		}
		out.URL = limits.Truncate(scheme+"://"+host+req.URL.EscapedPath(), limits.AttrValue)
		out.QueryString = limits.Truncate(m.Query(req.URL.RawQuery), limits.AttrValue)
	}
	for k, vs := range req.Header {
		switch {
		case m.Sensitive(k):
			out.Headers[k] = scrub.Redacted
		case !pii && piirule.IPHeader(k): // the same rule as gRPC metadata (internal/pii)
		default:
			out.Headers[k] = limits.Truncate(strings.Join(vs, ", "), limits.AttrValue)
		}
	}
	if req.Host != "" {
		out.Headers["Host"] = limits.Truncate(req.Host, limits.AttrValue)
	}
	if pii && req.RemoteAddr != "" {
		out.Env = map[string]string{"REMOTE_ADDR": req.RemoteAddr}
	}
	return out
}

// breadcrumbs converts kept records into Sentry breadcrumbs on the sending goroutine.
func breadcrumbs(crumbs []crumb, m *scrub.Matcher) []*sentry.Breadcrumb {
	if len(crumbs) == 0 {
		return nil
	}
	out := make([]*sentry.Breadcrumb, 0, len(crumbs))
	for _, c := range crumbs {
		data := map[string]any{}
		c.h.collect(c.rec, m, data)
		out = append(out, &sentry.Breadcrumb{
			Type:      "default",
			Category:  "log",
			Level:     sentryLevel(c.rec.Level),
			Message:   m.Text(c.rec.Message),
			Data:      data,
			Timestamp: c.rec.Time,
		})
	}
	return out
}

func sentryLevel(l slog.Level) sentry.Level {
	switch {
	case l >= slog.LevelError+4:
		return sentry.LevelFatal
	case l >= slog.LevelError:
		return sentry.LevelError
	case l >= slog.LevelWarn:
		return sentry.LevelWarning
	case l >= slog.LevelInfo:
		return sentry.LevelInfo
	}
	return sentry.LevelDebug
}
