package errors_test

import (
	"context"
	stderrors "errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/sentrytest"
)

type account struct {
	User     string `json:"user"`
	Password string `json:"pass"`
}

// TestEventsCarryNoSecrets sends hostile and secret-bearing values every way a value
// reaches an event (the captured value, attributes, the slog bridge, breadcrumbs) and
// checks the bytes Sentry receives.
func TestEventsCarryNoSecrets(t *testing.T) {
	self := map[string]any{"password": "SECRET-1", "n": 1}
	self["self"] = self
	urlErr := &url.Error{Op: "Post", URL: "https://api.example.com/pay?api_key=SECRET-2&v=1", Err: stderrors.New("EOF")}
	hdr := http.Header{"Authorization": {"Bearer SECRET-3"}, "Accept": {"*/*"}}

	tests := []struct {
		name string
		send func(r *verrors.Reporter)
		keep string // visible in the event: the value was not dropped whole
	}{
		{"panic value that contains itself", func(r *verrors.Reporter) {
			r.Capture(context.Background(), self)
		}, "!CYCLE"},
		{"url.Error", func(r *verrors.Reporter) {
			r.Capture(context.Background(), urlErr)
		}, "api.example.com"},
		{"panic text", func(r *verrors.Reporter) {
			r.Capture(context.Background(), "refresh failed: token=SECRET-4")
		}, "refresh failed"},
		{"attributes", func(r *verrors.Reporter) {
			r.Capture(context.Background(), stderrors.New("boom"),
				slog.Any("headers", hdr), slog.Any("account", account{"ann", "SECRET-5"}),
				slog.Any("acct", map[string]any{"acctnum": "SECRET-6", "plan": "pro"}), slog.Any("cyclic", self))
		}, "ann"},
		{"bridge error value that contains itself", func(r *verrors.Reporter) {
			slog.New(r.Handler()).Error("charge failed", "err", self, "payload", map[string]string{"token": "SECRET-7", "id": "ord-1"})
		}, "ord-1"},
		{"bridge message", func(r *verrors.Reporter) {
			slog.New(r.Handler()).Error("calling https://bob:SECRET-8@db.internal/x", "err", urlErr)
		}, "db.internal"},
		{"breadcrumbs", func(r *verrors.Reporter) {
			ctx := verrors.WithRequest(context.Background(), httptest.NewRequest("GET", "/x", nil))
			l := slog.New(r.Handler())
			l.InfoContext(ctx, "login with password=SECRET-9", "form", map[string]any{"password": "SECRET-10", "user": "ann"}, "self", self)
			l.ErrorContext(ctx, "failed", "err", stderrors.New("nope"))
		}, "ann"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sentrytest.NewServer(t)
			r, logs := newReporter(t, verrors.Config{DSN: srv.DSN(), RedactKeys: []string{"acctnum"}})
			tt.send(r)
			srv.WaitForEvents(t, 1, 5*time.Second)
			var body strings.Builder
			for _, b := range srv.RawBodies() {
				body.Write(b)
			}
			if got := body.String(); strings.Contains(got, "SECRET") {
				i := strings.Index(got, "SECRET")
				t.Errorf("secret sent to Sentry: …%s…", got[max(0, i-80):min(len(got), i+40)])
			} else if !strings.Contains(got, tt.keep) {
				t.Errorf("%q missing from the event", tt.keep)
			}
			// The capture line's own text; attributes are the Logger's to redact.
			for _, l := range logs.Lines(t) {
				if e, _ := l["error"].(string); strings.Contains(e, "SECRET") {
					t.Errorf("secret in the capture log: %s", e)
				}
			}
		})
	}
}
