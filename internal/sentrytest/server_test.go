package sentrytest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		types []string
		last  string
	}{
		{"length", "{\"event_id\":\"e1\"}\n{\"type\":\"event\",\"length\":13}\n{\"message\":1}\n", []string{"event"}, `{"message":1}`},
		{"length without trailing newline", "{}\n{\"type\":\"event\",\"length\":2}\n{}", []string{"event"}, "{}"},
		{"length spanning a newline", "{}\n{\"type\":\"attachment\",\"length\":3}\na\nb\n", []string{"attachment"}, "a\nb"},
		{"newline terminated", "{}\n{\"type\":\"event\"}\n{\"a\":2}\n{\"type\":\"client_report\"}\n{}\n", []string{"event", "client_report"}, "{}"},
		{"empty envelope", "{\"dsn\":\"x\"}\n", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := Decode([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if len(env.Items) != len(tc.types) {
				t.Fatalf("%d items, want %d", len(env.Items), len(tc.types))
			}
			for i, typ := range tc.types {
				if env.Items[i].Type != typ {
					t.Errorf("item %d type %q, want %q", i, env.Items[i].Type, typ)
				}
			}
			if n := len(env.Items); n > 0 && string(env.Items[n-1].Payload) != tc.last {
				t.Errorf("last payload %q, want %q", env.Items[n-1].Payload, tc.last)
			}
		})
	}
	for _, bad := range []string{"", "not json\n", "{}\n{\"type\":\"event\",\"length\":10}\nshort"} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) succeeded", bad)
		}
	}
}

// The server decodes what sentry-go's own transport sends.
func TestServerDecodesSentryGo(t *testing.T) {
	s := NewServer(t)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: s.DSN(), Transport: sentry.NewHTTPSyncTransport()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	hub := sentry.NewHub(client, sentry.NewScope())
	hub.Scope().SetTag("k", "v")
	id := hub.CaptureMessage("hello")
	ev := s.WaitForEvents(t, 1, 5*time.Second)[0]
	if ev.EventID != *id || ev.Message != "hello" || ev.Tags["k"] != "v" {
		t.Errorf("event %s %q %v", ev.EventID, ev.Message, ev.Tags)
	}
}

func TestRateLimitAndHang(t *testing.T) {
	s := NewServer(t)
	s.RateLimit(map[string]string{"Retry-After": "30"})
	resp, err := http.Post(s.URL()+"/api/42/envelope/", "application/x-sentry-envelope", strings.NewReader("{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" {
		t.Errorf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	s.Hang()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/api/42/envelope/", strings.NewReader("{}\n"))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("a hung request got an answer")
	}
	if s.Requests() != 2 || len(s.Events()) != 0 {
		t.Errorf("requests %d events %d", s.Requests(), len(s.Events()))
	}
}
