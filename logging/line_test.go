package logging_test

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/logging"
)

// TestLinesMatchHandler writes the same record through Lines and through the handler,
// and checks the lines say the same (the time aside): presets, Logger.With, context
// attributes, secret keys and values, hostile text.
func TestLinesMatchHandler(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	spanCtx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
	keys := []string{"http.request.method", "url.path", "http.response.status_code", "duration_ms", "panic", "session_token"}
	const (
		kMethod = iota
		kPath
		kStatus
		kDuration
		kPanic
		kToken
	)
	write := func(l *logging.Line) {
		l.Known(kMethod, "GET")
		l.String(kPath, "/x/https://u:pw@h/?token=abc\n\"")
		l.Int(kStatus, 200)
		l.Float(kDuration, 1.5)
		l.Bool(kPanic, true)
		l.String(kToken, "s3cr3t")
	}
	attrs := []slog.Attr{
		slog.String("http.request.method", "GET"),
		slog.String("url.path", "/x/https://u:pw@h/?token=abc\n\""),
		slog.Int("http.response.status_code", 200),
		slog.Float64("duration_ms", 1.5),
		slog.Bool("panic", true),
		slog.String("session_token", "s3cr3t"),
	}
	for _, tc := range []struct {
		name   string
		cfg    logging.Config
		with   []any
		ctx    context.Context
		redact []string
	}{
		{name: "vigil", cfg: logging.Config{Service: "svc"}, ctx: spanCtx},
		{name: "no span", cfg: logging.Config{Service: "svc", Version: "1"}, ctx: context.Background()},
		{name: "with", cfg: logging.Config{}, with: []any{"component", "http", "password", "x"}, ctx: spanCtx},
		{name: "ctx attrs", cfg: logging.Config{}, ctx: logging.WithAttrs(spanCtx, slog.String("request_id", "r1"), slog.String("user", "u"))},
		{name: "otel", cfg: logging.Config{Fields: "otel", Service: "svc"}, ctx: spanCtx},
		{name: "ecs", cfg: logging.Config{Fields: "ecs"}, ctx: logging.WithAttrs(spanCtx, slog.String("request_id", "r1"))},
		{name: "gcp", cfg: logging.Config{Fields: "gcp:p"}, ctx: spanCtx},
		{name: "datadog", cfg: logging.Config{Fields: "datadog"}, ctx: spanCtx},
		{name: "redact keys", cfg: logging.Config{RedactKeys: []string{"url_path"}}, ctx: spanCtx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast, fw := newLogger(t, tc.cfg)
			slow, sw := newLogger(t, tc.cfg)
			if tc.with != nil {
				fast, slow = fast.With(tc.with...), slow.With(tc.with...)
			}
			ls := logging.NewLines(fast.Handler(), keys...)
			if ls == nil {
				t.Fatal("NewLines = nil for a JSON handler")
			}
			l, ok := ls.Begin(tc.ctx, slog.LevelWarn, "http request")
			if !ok {
				t.Fatal("Begin refused")
			}
			write(&l)
			if err := l.End(); err != nil {
				t.Fatal(err)
			}
			_ = slow.Handler().Handle(tc.ctx, record(slog.LevelWarn, "http request", attrs))
			got, want := fw.lines(t), sw.lines(t)
			if len(got) != 1 || len(want) != 1 {
				t.Fatalf("lines: %d and %d", len(got), len(want))
			}
			for _, k := range []string{"time", "timestamp", "@timestamp"} {
				delete(got[0], k)
				delete(want[0], k)
			}
			if !reflect.DeepEqual(got[0], want[0]) {
				t.Errorf("Lines wrote\n%v\nthe handler\n%v", got[0], want[0])
			}
			if got[0]["session_token"] != "[REDACTED]" {
				t.Errorf("secret key not redacted: %v", got[0])
			}
		})
	}
}

func record(level slog.Level, msg string, attrs []slog.Attr) slog.Record {
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

// TestLinesFallBack: NewLines refuses what it cannot write as the handler would, and
// Begin refuses disabled levels and context attributes that break the key rule.
func TestLinesFallBack(t *testing.T) {
	text, _ := logging.NewHandler(logging.Config{Format: "text"})
	if logging.NewLines(text, "a") != nil {
		t.Error("NewLines accepted a text handler")
	}
	fan, _ := logging.NewHandler(logging.Config{Handlers: []slog.Handler{slog.DiscardHandler}})
	if logging.NewLines(fan, "a") != nil {
		t.Error("NewLines accepted a fan-out")
	}
	l, _ := newLogger(t, logging.Config{})
	if logging.NewLines(l.Handler().WithGroup("g"), "a") != nil {
		t.Error("NewLines accepted a group")
	}
	if logging.NewLines(l.Handler(), "msg") != nil || logging.NewLines(l.Handler(), "a", "a") != nil {
		t.Error("NewLines accepted a reserved or repeated key")
	}
	if logging.NewLines(l.With("a", 1).Handler(), "a") != nil {
		t.Error("NewLines accepted a key of Logger.With")
	}
	ls := logging.NewLines(l.Handler(), "a", "b")
	if _, ok := ls.Begin(context.Background(), slog.LevelDebug, "m"); ok {
		t.Error("Begin accepted a disabled level")
	}
	ctx := logging.WithAttrs(context.Background(), slog.String("b", "x"))
	if _, ok := ls.Begin(ctx, slog.LevelInfo, "m"); ok {
		t.Error("Begin accepted a context attribute with a line key")
	}
	ctx = logging.WithAttrs(context.Background(), slog.String("level", "x"))
	if _, ok := ls.Begin(ctx, slog.LevelInfo, "m"); ok {
		t.Error("Begin accepted a context attribute with a reserved key")
	}
}

// panicOnce is an Output whose first Write panics.
type panicOnce struct {
	writes
	done bool
}

func (p *panicOnce) Write(b []byte) (int, error) {
	if !p.done {
		p.done = true
		panic("disk on fire")
	}
	return p.writes.Write(b)
}

// TestPanickingOutputKeepsLogging: an Output that panics loses its line, not the
// logger: later records, through Lines and through the handler, are written.
func TestPanickingOutputKeepsLogging(t *testing.T) {
	out := &panicOnce{}
	l, err := logging.New(logging.Config{Output: out})
	if err != nil {
		t.Fatal(err)
	}
	ls := logging.NewLines(l.Handler(), "k")
	func() {
		defer func() { _ = recover() }()
		line, _ := ls.Begin(context.Background(), slog.LevelInfo, "lost")
		line.Int(0, 1)
		_ = line.End()
	}()
	line, _ := ls.Begin(context.Background(), slog.LevelInfo, "kept")
	line.Int(0, 2)
	_ = line.End()
	l.Info("also kept")
	if got := out.lines(t); len(got) != 2 || got[0]["msg"] != "kept" || got[1]["msg"] != "also kept" {
		t.Errorf("lines after a panicking write: %v", got)
	}
}
