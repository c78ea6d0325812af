package errors

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/limits"
	piirule "github.com/vigil-go/vigil/internal/pii"
	"github.com/vigil-go/vigil/internal/scrub"
)

// maxBreadcrumbs bounds the log records a request scope keeps for its next event.
const maxBreadcrumbs = 30

// scope is a request's error scope. WithRequest costs one allocation: the scope is itself
// the derived context, and it only keeps pointers. Everything Sentry needs (headers,
// breadcrumbs, user) is turned into event data when, and only if, something is captured.
type scope struct {
	context.Context
	req *http.Request

	mu     sync.Mutex
	user   *User
	crumbs []crumb // a ring once full; next is the oldest slot
	next   int
	panics []reportedPanic // reported in this request, for dedup with sentry-go middleware
}

type scopeKey struct{}

// Value makes the scope findable from any context derived from it.
func (s *scope) Value(key any) any {
	if key == (scopeKey{}) {
		return s
	}
	return s.Context.Value(key)
}

func scopeFrom(ctx context.Context) *scope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// WithRequest returns a context in which captures carry req's method, URL, scrubbed
// headers and query, and in which the slog bridge collects breadcrumbs. The middleware
// calls it once per request; it does not read req until something is captured.
func WithRequest(ctx context.Context, req *http.Request) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return &scope{Context: ctx, req: req}
}

// User identifies who was affected by an error.
type User struct {
	ID, Username, Email, IPAddress string
	// Data holds further fields (plan, tenant, ...); sensitive names are scrubbed.
	Data map[string]string
}

type userKey struct{}

// SetUser attaches u to the events captured with ctx. Inside a request (a context from
// WithRequest) it sets the user of the whole request, so captures made by the middleware
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
