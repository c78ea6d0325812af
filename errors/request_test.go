package errors_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/sentrytest"
)

// ownRequest is a context type of a middleware's own with an embedded error scope, as
// the HTTP middleware's per-request state is.
type ownRequest struct {
	parent context.Context
	scope  verrors.RequestScope
}

func (c *ownRequest) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *ownRequest) Done() <-chan struct{}       { return c.parent.Done() }
func (c *ownRequest) Err() error                  { return c.parent.Err() }
func (c *ownRequest) Value(key any) any {
	if v := c.scope.Value(key); v != nil {
		return v
	}
	return c.parent.Value(key)
}

type parentKey struct{}

// A scope embedded in a context type of its own behaves as WithRequest's: SetUser sets
// the request's user, the bridge keeps breadcrumbs, captures carry the scrubbed request,
// and other keys reach the parent. Without Init the scope has no request and captures
// still work.
func TestRequestScopes(t *testing.T) {
	parent := context.WithValue(context.Background(), parentKey{}, "p")
	for _, tt := range []struct {
		name    string
		ctx     func(*http.Request) context.Context
		wantReq bool
	}{
		{"WithRequest", func(r *http.Request) context.Context { return verrors.WithRequest(parent, r) }, true},
		{"embedded", func(r *http.Request) context.Context {
			c := &ownRequest{parent: parent}
			c.scope.Init(r)
			return c
		}, true},
		{"embedded without Init", func(*http.Request) context.Context { return &ownRequest{parent: parent} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := sentrytest.NewServer(t)
			r, _ := newReporter(t, verrors.Config{DSN: srv.DSN()})
			req := httptest.NewRequest("GET", "http://shop.example/cart?token=SECRET-Q&page=2", nil)
			req.Header.Set("Authorization", "Bearer SECRET-H")
			ctx := tt.ctx(req)

			if got := verrors.SetUser(ctx, verrors.User{ID: "u-9"}); got != ctx {
				t.Error("SetUser in a request scope derived a context")
			}
			if ctx.Value(parentKey{}) != "p" {
				t.Error("the parent's value is lost")
			}
			slog.New(r.Handler()).InfoContext(ctx, "step one")
			r.Capture(ctx, stderrors.New("cart failed"))
			ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]

			if ev.User.ID != "u-9" {
				t.Errorf("user %+v", ev.User)
			}
			if len(ev.Breadcrumbs) != 1 || ev.Breadcrumbs[0].Message != "step one" {
				t.Errorf("breadcrumbs %+v", ev.Breadcrumbs)
			}
			if !tt.wantReq {
				if ev.Request != nil && ev.Request.URL != "" {
					t.Errorf("request %+v from a scope without one", ev.Request)
				}
				return
			}
			if q := ev.Request; q == nil || q.URL != "http://shop.example/cart" || q.QueryString != "token=[REDACTED]&page=2" || q.Headers["Authorization"] != "[REDACTED]" {
				t.Errorf("request %+v", q)
			}
			for _, b := range srv.RawBodies() {
				if strings.Contains(string(b), "SECRET") {
					t.Errorf("secret sent: %s", b)
				}
			}
		})
	}
}

// A RequestScope answers its own key only.
func TestRequestScopeValueOtherKeys(t *testing.T) {
	var rs verrors.RequestScope
	for _, k := range []any{nil, parentKey{}, "scope", 0} {
		if v := rs.Value(k); v != nil {
			t.Errorf("Value(%#v) = %v, want nil", k, v)
		}
	}
	if s := fmt.Sprint(verrors.WithRequest(context.Background(), nil)); s != "context.Background.WithRequest" {
		t.Errorf("WithRequest's context prints as %q", s)
	}
}

// A middleware whose per-request state is the request's context embeds a RequestScope
// rather than calling WithRequest, which would add a second context layer.
func ExampleRequestScope() {
	r := httptest.NewRequest("GET", "/cart", nil)
	c := &ownRequest{parent: r.Context()} // one allocation per request, scope included
	c.scope.Init(r)
	ctx := verrors.SetUser(c, verrors.User{ID: "u-1"})
	fmt.Println(ctx == context.Context(c))
	// Output: true
}
