package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/logging"
)

// strictDecode parses one JSON line as a store that rejects duplicate fields does:
// a key repeated in any object is an error.
func strictDecode(line []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	v, err := strictValue(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object: %s", line)
	}
	return m, nil
}

func strictValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string)
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("key %q twice in one object", k)
			}
			if m[k], err = strictValue(dec); err != nil {
				return nil, err
			}
		}
		_, err := dec.Token() // '}'
		return m, err
	case json.Delim('['):
		var a []any
		for dec.More() {
			v, err := strictValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token() // ']'
		return a, err
	}
	if n, ok := tok.(json.Number); ok {
		f, _ := n.Float64()
		return f, nil
	}
	return tok, nil
}

// strictLines decodes every line of out strictly.
func strictLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var ms []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m, err := strictDecode([]byte(line))
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		ms = append(ms, m)
	}
	return ms
}

func TestStrictDecodeRejectsDuplicates(t *testing.T) {
	for _, line := range []string{`{"a":1,"a":2}`, `{"g":{"x":1,"x":2}}`, `{"l":[{"k":1,"k":1}]}`} {
		if _, err := strictDecode([]byte(line)); err == nil {
			t.Errorf("%s accepted", line)
		}
	}
	if _, err := strictDecode([]byte(`{"a":1,"g":{"a":1}}`)); err != nil {
		t.Error(err)
	}
}

func spanCtx() context.Context {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
}

// TestKeyRule checks that each key is once per object, that vigil's own keys keep
// their values and that a colliding user attribute is kept under attr.KEY.
func TestKeyRule(t *testing.T) {
	ctxReq := logging.WithAttrs(spanCtx(), slog.String("request_id", "r-1"))
	tests := []struct {
		name string
		cfg  logging.Config
		log  func(l *slog.Logger)
		want map[string]any // key: value; a nil value means absent
	}{
		{"record attrs named like vigil's", logging.Config{Service: "svc"}, func(l *slog.Logger) {
			l.InfoContext(ctxReq, "real", "level", "user-level", "msg", "user-msg", "time", "t", "service", "s",
				"trace_id", "t-1", "span_id", "s-1", "request_id", "mine")
		}, map[string]any{
			"level": "INFO", "msg": "real", "service": "svc", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
			"span_id": "00f067aa0ba902b7", "request_id": "r-1",
			"attr.level": "user-level", "attr.msg": "user-msg", "attr.time": "t", "attr.service": "s",
			"attr.trace_id": "t-1", "attr.span_id": "s-1", "attr.request_id": "mine",
		}},
		{"logger attrs named like vigil's", logging.Config{}, func(l *slog.Logger) {
			l.With("level", "w", "request_id", "w-req").InfoContext(ctxReq, "m")
		}, map[string]any{"level": "INFO", "attr.level": "w", "request_id": "r-1", "attr.request_id": "w-req"}},
		{"context attr named like vigil's", logging.Config{}, func(l *slog.Logger) {
			l.InfoContext(logging.WithAttrs(context.Background(), slog.String("level", "c")), "m")
		}, map[string]any{"level": "INFO", "attr.level": "c"}},
		{"context attr twice: the last", logging.Config{}, func(l *slog.Logger) {
			l.InfoContext(logging.WithAttrs(ctxReq, slog.String("request_id", "r-2")), "m")
		}, map[string]any{"request_id": "r-2", "attr.request_id": nil}},
		{"record attr twice: the last", logging.Config{}, func(l *slog.Logger) {
			l.Info("m", "a", 1, "b", 2, "a", 3)
		}, map[string]any{"a": 3.0, "b": 2.0}},
		{"logger and record attr: the record's", logging.Config{}, func(l *slog.Logger) {
			l.With("a", 1).With("a", 2, "b", 1).Info("m", "a", 3)
		}, map[string]any{"a": 3.0, "b": 1.0}},
		{"group member twice", logging.Config{}, func(l *slog.Logger) {
			l.Info("m", slog.Group("g", "x", 1, "x", 2, slog.Group("h", "y", 1, "y", 2)))
		}, map[string]any{"g": map[string]any{"x": 2.0, "h": map[string]any{"y": 2.0}}}},
		{"inline group at the top", logging.Config{}, func(l *slog.Logger) {
			l.Info("m", slog.Group("", "level", "i", "k", 1), "k", 2)
		}, map[string]any{"level": "INFO", "attr.level": "i", "k": 2.0}},
		{"renamed onto a user's attr.level: the last", logging.Config{}, func(l *slog.Logger) {
			l.Info("m", "attr.level", "first", "level", "second")
		}, map[string]any{"level": "INFO", "attr.level": "second"}},
		{"in a WithGroup, only the group's keys count", logging.Config{}, func(l *slog.Logger) {
			l.With("a", 0).WithGroup("g").With("a", 1).InfoContext(ctxReq, "m", "a", 2, "level", "in-group")
		}, map[string]any{"a": 0.0, "level": "INFO", "g": map[string]any{"a": 2.0, "level": "in-group"}}},
		{"WithGroup named like vigil's", logging.Config{}, func(l *slog.Logger) {
			l.WithGroup("level").Info("m", "x", 1)
		}, map[string]any{"level": "INFO", "attr.level": map[string]any{"x": 1.0}}},
		{"logger attr and group of one name", logging.Config{}, func(l *slog.Logger) {
			l.With("g", "flat").WithGroup("g").Info("m", "x", 1)
		}, map[string]any{"g": map[string]any{"x": 1.0}}},
		{"source", logging.Config{AddSource: true}, func(l *slog.Logger) {
			l.Info("m", "source", "user")
		}, map[string]any{"attr.source": "user"}},
		{"no source configured: source is the user's", logging.Config{}, func(l *slog.Logger) {
			l.Info("m", "source", "user")
		}, map[string]any{"source": "user", "attr.source": nil}},
		{"redaction holds under a new name", logging.Config{}, func(l *slog.Logger) {
			l.Info("m", "password", "p1", "password", "p2")
		}, map[string]any{"password": "[REDACTED]"}},
		{"ecs: its own keys win", logging.Config{Fields: "ecs"}, func(l *slog.Logger) {
			l.InfoContext(ctxReq, "m", "log.level", "x", "message", "y", "http.request.id", "z")
		}, map[string]any{"log.level": "info", "message": "m", "attr.log.level": "x", "attr.message": "y",
			"http.request.id": "r-1", "attr.http.request.id": "z", "request_id": nil}},
	}
	for _, tt := range tests {
		for _, format := range []string{"json", "fanout"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				cfg := tt.cfg
				if format == "fanout" {
					// A user's handler in the fan-out gets the same attributes.
					if cfg.Fields != "" || strings.Contains(tt.name, "source") {
						t.Skip("the fan-out's handlers write time, level, msg and source under slog's keys")
					}
					cfg.Output = io.Discard
					cfg.Handlers = []slog.Handler{slog.NewJSONHandler(&buf, nil)}
				} else {
					cfg.Output = &buf
				}
				l, err := logging.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				tt.log(l)
				m := strictLines(t, buf.String())[0]
				for k, v := range tt.want {
					if format == "fanout" && strings.HasSuffix(k, "service") {
						continue // the fan-out adds no service fields
					}
					got, ok := m[k]
					if v == nil {
						if ok {
							t.Errorf("%s = %#v, want it absent", k, got)
						}
						continue
					}
					if fmt.Sprint(got) != fmt.Sprint(v) {
						t.Errorf("%s = %#v, want %#v\n%s", k, got, v, buf.String())
					}
				}
			})
		}
	}
}

// TestKeyRuleRandom logs records built at random from keys that collide in every way,
// with and without derived loggers and context attributes, and parses each line with
// a decoder that rejects duplicate keys.
func TestKeyRuleRandom(t *testing.T) {
	keys := []string{"time", "level", "msg", "service", "trace_id", "span_id", "request_id", "source",
		"attr.level", "a", "b", "g", "", "password"}
	rng := rand.New(rand.NewPCG(1, 2))
	attr := func(depth int) slog.Attr {
		k := keys[rng.IntN(len(keys))]
		if depth < 2 && rng.IntN(4) == 0 {
			var members []any
			for range rng.IntN(4) {
				members = append(members, slog.String(keys[rng.IntN(len(keys))], "v"))
			}
			return slog.Group(k, members...)
		}
		return slog.Int(k, rng.IntN(100))
	}
	attrs := func(n int) []any {
		var out []any
		for range n {
			out = append(out, attr(0))
		}
		return out
	}
	for _, fields := range []string{"vigil", "otel", "ecs", "gcp:p", "datadog"} {
		var buf bytes.Buffer
		l, err := logging.New(logging.Config{Output: &buf, Fields: fields, Service: "svc", Version: "1", Environment: "e", AddSource: true})
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			ctx := spanCtx()
			for range rng.IntN(3) {
				a := attr(1)
				ctx = logging.WithAttrs(ctx, a)
			}
			ll := l
			for range rng.IntN(3) {
				if rng.IntN(2) == 0 {
					ll = ll.With(attrs(rng.IntN(3))...)
				} else {
					ll = ll.WithGroup(keys[rng.IntN(len(keys))])
				}
			}
			ll.InfoContext(ctx, "m", attrs(rng.IntN(6))...)
		}
		for _, m := range strictLines(t, buf.String()) {
			if len(m) < 3 {
				t.Fatalf("%s: short line %v", fields, m)
			}
		}
	}
}

func TestKeyRuleText(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(logging.Config{Output: &buf, Format: "text", Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	l.With("service", "w").InfoContext(spanCtx(), "m", "level", "x", "trace_id", "t", "a", 1, "a", 2)
	out := buf.String()
	for _, want := range []string{" level=INFO ", " service=svc ", "attr.service=w", "attr.level=x", "trace_id=4bf92f3577b34da6a3ce929d0e0e4736", "attr.trace_id=t", " a=2"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in %q", want, out)
		}
	}
	for _, once := range []string{" level=", " service=", " trace_id=", " a="} {
		if n := strings.Count(out, once); n != 1 {
			t.Errorf("%q %d times in %q", once, n, out)
		}
	}
}
