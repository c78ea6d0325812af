package scrub

import (
	"net/http"
	"testing"
)

func TestHeader(t *testing.T) {
	h := http.Header{"X-Auth-Token": {"a"}, "Accept": {"text/html"}, "Cookie": {"s=1"}}
	got := New().Header(h)
	if got.Get("X-Auth-Token") != Redacted || got.Get("Cookie") != Redacted || got.Get("Accept") != "text/html" {
		t.Errorf("Header = %v", got)
	}
	if h.Get("X-Auth-Token") != "a" {
		t.Error("Header modified its argument")
	}
}

func TestJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"user":"ann","password":"p","nested":{"api_key":{"a":1},"n":[1,{"token":"t"}]}}`,
			`{"user":"ann","password":"[REDACTED]","nested":{"api_key":"[REDACTED]","n":[1,{"token":"[REDACTED]"}]}}`},
		{`[{"Session-Id":"x"},2,"s",true,null]`, `[{"Session-Id":"[REDACTED]"},2,"s",true,null]`},
		{`{"amount":1.50e3}`, `{"amount":1.50e3}`},
		{`{"password":`, `"[REDACTED]"`},
		{`{"a":1} trailing`, `"[REDACTED]"`},
		{``, ``},
	}
	for _, tc := range tests {
		if got := string(New().JSON([]byte(tc.in))); got != tc.want {
			t.Errorf("JSON(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestBody(t *testing.T) {
	m := New("pin")
	tests := []struct{ ct, in, want string }{
		{"application/json; charset=utf-8", `{"pin":"1234"}`, `{"pin":"[REDACTED]"}`},
		{"application/vnd.api+json", `{"token":"x"}`, `{"token":"[REDACTED]"}`},
		{"application/x-www-form-urlencoded", "user=ann&password=hunter2", "user=ann&password=[REDACTED]"},
		{"text/plain", "hello", "hello"},
		{"application/octet-stream", "\x00\x01", Redacted},
	}
	for _, tc := range tests {
		if got := string(m.Body(tc.ct, []byte(tc.in))); got != tc.want {
			t.Errorf("Body(%s, %q) = %q, want %q", tc.ct, tc.in, got, tc.want)
		}
	}
}
