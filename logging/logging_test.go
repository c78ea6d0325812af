package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/logging"
)

// writes records every Write call separately, to prove one write per record.
type writes struct {
	mu    sync.Mutex
	calls [][]byte
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, append([]byte(nil), p...))
	return len(p), nil
}

// chunks returns a copy of every Write.
func (w *writes) chunks() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.calls...)
}

// lines parses every Write as exactly one JSON object ending in a newline.
func (w *writes) lines(t *testing.T) []map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []map[string]any
	for _, c := range w.calls {
		if bytes.Count(c, []byte("\n")) != 1 || c[len(c)-1] != '\n' {
			t.Fatalf("write is not exactly one line: %q", c)
		}
		var m map[string]any
		if err := json.Unmarshal(c, &m); err != nil {
			t.Fatalf("line is not JSON: %v: %s", err, c)
		}
		out = append(out, m)
	}
	return out
}

func newLogger(t *testing.T, cfg logging.Config) (*slog.Logger, *writes) {
	t.Helper()
	w := &writes{}
	cfg.Output = w
	l, err := logging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, w
}

func TestSlogConformance(t *testing.T) {
	var buf bytes.Buffer
	h, err := logging.NewHandler(logging.Config{Output: &buf})
	if err != nil {
		t.Fatal(err)
	}
	err = slogtest.TestHandler(h, func() []map[string]any {
		var ms []map[string]any
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			ms = append(ms, m)
		}
		return ms
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKeysAndServiceFields(t *testing.T) {
	l, w := newLogger(t, logging.Config{Service: "checkout", Version: "1.2.3", Environment: "prod"})
	l.Info("hello", "n", 3, "ok", true, "f", 1.5, "d", time.Second, "s", "x")
	m := w.lines(t)[0]
	want := map[string]any{
		"level": "INFO", "msg": "hello", "service": "checkout", "service_version": "1.2.3",
		"environment": "prod", "n": 3.0, "ok": true, "f": 1.5, "d": float64(time.Second), "s": "x",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	ts, ok := m["time"].(string)
	if !ok {
		t.Fatalf("no time: %v", m)
	}
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("time %q: %v", ts, err)
	}
	if _, ok := m["trace_id"]; ok {
		t.Error("trace_id without a span in the context")
	}
}

func TestTraceCorrelation(t *testing.T) {
	l, w := newLogger(t, logging.Config{})
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
	l.InfoContext(ctx, "in span")
	l.InfoContext(context.Background(), "no span")
	lines := w.lines(t)
	if lines[0]["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || lines[0]["span_id"] != "00f067aa0ba902b7" {
		t.Errorf("ids not correlated: %v", lines[0])
	}
	if _, ok := lines[1]["trace_id"]; ok {
		t.Errorf("trace_id without span: %v", lines[1])
	}
}

func TestContextAttrs(t *testing.T) {
	l, w := newLogger(t, logging.Config{})
	ctx := logging.WithAttrs(context.Background(), slog.String("request_id", "r-1"))
	ctx = logging.WithAttrs(ctx, slog.String("route", "GET /orders/{id}"))
	l.WithGroup("g").InfoContext(ctx, "m", "a", 1)
	m := w.lines(t)[0]
	if m["request_id"] != "r-1" || m["route"] != "GET /orders/{id}" {
		t.Errorf("context attrs missing at top level: %v", m)
	}
	if g, _ := m["g"].(map[string]any); g["a"] != 1.0 {
		t.Errorf("group content: %v", m)
	}
	if got := logging.Attrs(ctx); len(got) != 2 {
		t.Errorf("Attrs = %v", got)
	}
}

func TestRedaction(t *testing.T) {
	l, w := newLogger(t, logging.Config{RedactKeys: []string{"ssn"}})
	l = l.With("api_key", "k-123", slog.Group("db", "Password", "p4ss", "host", "h"))
	l.Info("m",
		"Authorization", "Bearer abc",
		"X-Auth-Token", "t0k",
		"user_ssn", "123-45",
		slog.Group("req", slog.Group("headers", "Cookie", "sid=1", "Accept", "json")),
		slog.Group("credentials", "user", "u", "pass", "p"),
		"name", "visible",
	)
	line, _ := json.Marshal(w.lines(t)[0])
	for _, secret := range []string{"k-123", "p4ss", "Bearer abc", "t0k", "123-45", "sid=1", `"p"`} {
		if bytes.Contains(line, []byte(secret)) {
			t.Errorf("secret %q leaked: %s", secret, line)
		}
	}
	for _, kept := range []string{`"Authorization":"[REDACTED]"`, `"Cookie":"[REDACTED]"`, `"host":"h"`, `"Accept":"json"`, `"name":"visible"`, `"credentials":"[REDACTED]"`} {
		if !bytes.Contains(line, []byte(kept)) {
			t.Errorf("want %s in %s", kept, line)
		}
	}
}

type panicValuer struct{}

func (panicValuer) LogValue() slog.Value { panic("boom") }

type cyclic struct {
	Name string
	Next *cyclic
}

type selfValuer struct{}

func (s selfValuer) LogValue() slog.Value { return slog.AnyValue(s) }

type badErr struct{ p *int }

func (e *badErr) Error() string { return string(rune(*e.p)) }

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { panic("marshal boom") }

type multiLineJSON struct{}

func (multiLineJSON) MarshalJSON() ([]byte, error) { return []byte("{\n\"a\": 1\n}"), nil }

func TestHostileValuesNeverCrash(t *testing.T) {
	c := &cyclic{Name: "a"}
	c.Next = c
	m := map[string]any{}
	m["self"] = m
	var typedNil *badErr
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := logging.New(logging.Config{Output: &buf, Format: format})
			if err != nil {
				t.Fatal(err)
			}
			l.Info("hostile",
				"panics", panicValuer{}, "cycle", c, "map", m, "self", selfValuer{},
				"typed_nil", error(typedNil), "json", badJSON{}, "multi", multiLineJSON{},
				"newline", "a\nb\r\"c\"\u2028", "bad_utf8", "\xff\xfe")
			out := buf.String()
			if strings.Count(out, "\n") != 1 {
				t.Fatalf("not one line: %q", out)
			}
			if format == "json" {
				var got map[string]any
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("invalid JSON %v: %s", err, out)
				}
				if got["newline"] != "a\nb\r\"c\"\u2028" {
					t.Errorf("newline value = %q", got["newline"])
				}
				if got["multi"].(map[string]any)["a"] != 1.0 {
					t.Errorf("multi = %v", got["multi"])
				}
				for _, k := range []string{"panics", "json"} {
					if s, _ := got[k].(string); !strings.Contains(s, "!") && !strings.Contains(s, "panic") {
						t.Errorf("%s = %v, want an error marker", k, got[k])
					}
				}
				// Cycles are cut where they close; the rest of the value is kept.
				if next := got["cycle"].(map[string]any)["Next"]; next != "!CYCLE" {
					t.Errorf("cycle.Next = %v", next)
				}
				if self := got["map"].(map[string]any)["self"]; self != "!CYCLE" {
					t.Errorf("map.self = %v", self)
				}
				if got["typed_nil"] != "<nil>" { // as fmt prints it
					t.Errorf("typed_nil = %v", got["typed_nil"])
				}
			}
		})
	}
}

func TestLevels(t *testing.T) {
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	l, w := newLogger(t, logging.Config{Level: lv})
	l.Info("dropped")
	l.Warn("kept")
	lv.Set(slog.LevelDebug)
	l.Debug("kept too")
	lines := w.lines(t)
	if len(lines) != 2 || lines[0]["level"] != "WARN" || lines[1]["level"] != "DEBUG" {
		t.Errorf("lines = %v", lines)
	}
}

func TestAddSource(t *testing.T) {
	l, w := newLogger(t, logging.Config{AddSource: true})
	l.Info("m")
	src, _ := w.lines(t)[0]["source"].(map[string]any)
	if !strings.HasSuffix(src["file"].(string), "logging_test.go") || src["line"].(float64) == 0 {
		t.Errorf("source = %v", src)
	}
}

func TestTextFormat(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(logging.Config{Output: &buf, Format: "text", Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := logging.WithAttrs(context.Background(), slog.String("request_id", "r-9"))
	l.InfoContext(ctx, "hi", "password", "hunter2", slog.Group("g", "token", "t"), "err", errors.New("bad"))
	out := buf.String()
	for _, want := range []string{"msg=hi", "service=svc", "request_id=r-9", "password=[REDACTED]", "g.token=[REDACTED]", "err=bad"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in %q", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("secret leaked: %q", out)
	}
}

// TestConfigFields checks the fields alone; the VIGIL_LOG_* variables that fill them are
// package observe's (TestSettingsEveryVariable there).
func TestConfigFields(t *testing.T) {
	tests := []struct {
		name      string
		cfg       logging.Config
		debugOn   bool
		wantText  bool
		wantError string
	}{
		{name: "defaults", debugOn: false},
		{name: "level", cfg: logging.Config{Level: slog.LevelDebug}, debugOn: true},
		{name: "format text, any case", cfg: logging.Config{Format: "TEXT"}, wantText: true},
		{name: "bad format", cfg: logging.Config{Format: "yaml"}, wantError: `logging: Format="yaml"`},
		{name: "empty redact key", cfg: logging.Config{RedactKeys: []string{" "}}, wantError: `logging: RedactKeys[0]`},
		{name: "empty allow key", cfg: logging.Config{AllowKeys: []string{""}}, wantError: `logging: AllowKeys[0]`},
		{name: "redact keys", cfg: logging.Config{RedactKeys: []string{"ssn", "pin"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.cfg.Output = &buf
			l, err := logging.New(tt.cfg)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("err = %v, want it to name %s", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Enabled(context.Background(), slog.LevelDebug); got != tt.debugOn {
				t.Errorf("debug enabled = %v, want %v", got, tt.debugOn)
			}
			l.Info("m", "pin", "1234")
			isText := !strings.HasPrefix(buf.String(), "{")
			if isText != tt.wantText {
				t.Errorf("text = %v, want %v: %s", isText, tt.wantText, buf.String())
			}
			if len(tt.cfg.RedactKeys) > 0 && strings.Contains(buf.String(), "1234") {
				t.Errorf("redact key not honoured: %s", buf.String())
			}
		})
	}
}

func TestFanout(t *testing.T) {
	var a, b bytes.Buffer
	other := slog.NewJSONHandler(&b, nil)
	l, err := logging.New(logging.Config{Output: &a, Handlers: []slog.Handler{other}})
	if err != nil {
		t.Fatal(err)
	}
	l.Error("both")
	if !strings.Contains(a.String(), "both") || !strings.Contains(b.String(), "both") {
		t.Errorf("fan-out: %q / %q", a.String(), b.String())
	}
}

func TestConcurrentWritesStayWhole(t *testing.T) {
	l, w := newLogger(t, logging.Config{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				l.Info("concurrent", "g", g, "i", i, "pad", strings.Repeat("x", 300))
			}
		}()
	}
	wg.Wait()
	if n := len(w.lines(t)); n != 1600 {
		t.Errorf("lines = %d", n)
	}
}

// A secret can sit in a value whose key says nothing: a URL with a password, a JWT.
// Every format and every handler in the fan-out sheds it, in the message too.
func TestSecretsCarriedByValues(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXMzY3IzdA"
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var user writes
			l, w := newLogger(t, logging.Config{Format: format,
				Handlers: []slog.Handler{slog.NewJSONHandler(&user, nil)}})
			l.Info("cloning https://deploy:s3cr3t-msg@git.example.com/r.git",
				"target", "https://deploy:s3cr3t-attr@git.example.com/r.git",
				"next", "/orders?api_key=s3cr3t-query&page=2",
				slog.Group("auth", "bearer_value", jwt),
				"plain", "GET /orders/42")
			for name, out := range map[string][]byte{"line": bytes.Join(w.chunks(), nil), "user handler": bytes.Join(user.chunks(), nil)} {
				for _, secret := range []string{"s3cr3t-msg", "s3cr3t-attr", "s3cr3t-query", "c2lnbmF0dXJlLXMzY3IzdA"} {
					if bytes.Contains(out, []byte(secret)) {
						t.Errorf("%s: secret %q leaked: %s", name, secret, out)
					}
				}
				for _, kept := range []string{"git.example.com", "page=2", "GET /orders/42"} {
					if !bytes.Contains(out, []byte(kept)) {
						t.Errorf("%s: want %q kept in %s", name, kept, out)
					}
				}
			}
		})
	}
}
