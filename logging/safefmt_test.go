package logging_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/logging"
)

type credentials struct {
	User     string `json:"user"`
	Password string `json:"pass"`
	Secret   string // no tag: the field name decides
	Region   string `json:"region,omitempty"`
}

// TestUserValuesRedacted logs the values users log (request headers, structs, maps,
// errors carrying URLs) and checks what lands on the line, in both formats.
func TestUserValuesRedacted(t *testing.T) {
	hdr := http.Header{"Authorization": {"Bearer SECRET-A"}, "X-Auth-Key": {"SECRET-B"}, "Accept": {"text/html"}}
	urlErr := &url.Error{Op: "Get", URL: "https://api.example.com/v1/items?api_key=SECRET-C&page=2", Err: errors.New("timeout")}
	tests := []struct {
		name   string
		attr   slog.Attr
		secret string
		keep   string // a non-secret part of the value that must survive
	}{
		{"header map", slog.Any("headers", hdr), "SECRET-A", "text/html"},
		{"header in group", slog.Group("req", slog.Any("headers", hdr)), "SECRET-A", "text/html"},
		{"struct with tagged password", slog.Any("creds", credentials{User: "ann", Password: "SECRET-D", Secret: "SECRET-E"}), "SECRET-D", "ann"},
		{"struct field name", slog.Any("creds", &credentials{User: "ann", Secret: "SECRET-E"}), "SECRET-E", "ann"},
		{"nested map", slog.Any("body", map[string]any{"user": map[string]any{"name": "ann", "password": "SECRET-F"}}), "SECRET-F", "ann"},
		{"slice of maps", slog.Any("rows", []map[string]string{{"id": "1", "session_id": "SECRET-G"}}), "SECRET-G", `1`},
		{"configured name", slog.Any("acct", map[string]string{"acctnum": "SECRET-H", "plan": "pro"}), "SECRET-H", "pro"},
		{"url.Error", slog.Any("err", urlErr), "SECRET-C", "api.example.com"},
		{"wrapped url.Error", slog.Any("error", errors.Join(errors.New("sync"), urlErr)), "SECRET-C", "sync"},
		{"url", slog.Any("url", &url.URL{Scheme: "https", User: url.UserPassword("bob", "SECRET-I"), Host: "db", RawQuery: "token=SECRET-J&x=1"}), "SECRET-", "bob"},
	}
	for _, format := range []string{"json", "text"} {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				var buf logtest.Buffer
				l, err := logging.New(logging.Config{Output: &buf, Format: format, RedactKeys: []string{"acctnum"}})
				if err != nil {
					t.Fatal(err)
				}
				l.LogAttrs(t.Context(), slog.LevelInfo, "m", tt.attr)
				out := buf.String()
				if format == "json" {
					buf.Lines(t) // valid JSON, one line
				}
				if strings.Contains(out, tt.secret) {
					t.Errorf("secret on the line: %s", out)
				}
				if !strings.Contains(out, tt.keep) {
					t.Errorf("%q lost: %s", tt.keep, out)
				}
			})
		}
	}
}

// TestDefaultLoggerSelfContainingMap is the crash from issue 13: a map that contains
// itself, logged through the default logger. fmt would overflow the stack (fatal).
func TestDefaultLoggerSelfContainingMap(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf logtest.Buffer
			l, err := logging.New(logging.Config{Output: &buf, Format: format})
			if err != nil {
				t.Fatal(err)
			}
			prev := slog.Default()
			slog.SetDefault(l)
			defer slog.SetDefault(prev)

			v := map[string]any{"password": "SECRET", "n": 1}
			v["self"] = v
			slog.Error("msg", "err", v)
			slog.Error("msg", "list", []any{v, v})

			out := buf.String()
			if strings.Count(out, "\n") != 2 || !strings.Contains(out, "!CYCLE") || strings.Contains(out, "SECRET") {
				t.Errorf("output: %s", out)
			}
		})
	}
}
