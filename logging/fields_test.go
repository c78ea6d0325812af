package logging_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/logging"
)

const (
	tidHex = "4bf92f3577b34da6a3ce929d0e0e4736"
	sidHex = "00f067aa0ba902b7"
)

// TestFieldPresets asserts the exact keys and values of a line with trace context,
// service fields, a request id and a user attribute under each preset.
func TestFieldPresets(t *testing.T) {
	src := "*" // any function, file and line
	tests := []struct {
		fields string
		want   map[string]any
	}{
		{"", map[string]any{
			"time": "", "level": "WARN", "msg": "disk low", "service": "checkout", "service_version": "1.2.3",
			"environment": "prod", "trace_id": tidHex, "span_id": sidHex, "request_id": "r-1", "free": 42.0,
			"source": map[string]any{"function": src, "file": src, "line": src},
		}},
		{"otel", map[string]any{
			"timestamp": "", "severity_text": "WARN", "severity_number": 13.0, "body": "disk low",
			"service.name": "checkout", "service.version": "1.2.3", "deployment.environment.name": "prod",
			"trace_id": tidHex, "span_id": sidHex, "trace_flags": 1.0, "request_id": "r-1", "free": 42.0,
			"code.function.name": src, "code.file.path": src, "code.line.number": src,
		}},
		{"ecs", map[string]any{
			"@timestamp": "", "log.level": "warn", "message": "disk low", "service.name": "checkout",
			"service.version": "1.2.3", "service.environment": "prod", "ecs.version": logging.ECSVersion,
			"trace.id": tidHex, "span.id": sidHex, "http.request.id": "r-1", "free": 42.0,
			"log.origin.function": src, "log.origin.file.name": src, "log.origin.file.line": src,
		}},
		{"gcp", map[string]any{
			"time": "", "severity": "WARNING", "message": "disk low",
			"serviceContext": map[string]any{"service": "checkout", "version": "1.2.3"}, "environment": "prod",
			"logging.googleapis.com/trace": tidHex, "logging.googleapis.com/spanId": sidHex,
			"logging.googleapis.com/trace_sampled": true, "request_id": "r-1", "free": 42.0,
			"logging.googleapis.com/sourceLocation": map[string]any{"function": src, "file": src, "line": src},
		}},
		{"gcp:my-project", map[string]any{
			"time": "", "severity": "WARNING", "message": "disk low",
			"serviceContext": map[string]any{"service": "checkout", "version": "1.2.3"}, "environment": "prod",
			"logging.googleapis.com/trace":         "projects/my-project/traces/" + tidHex,
			"logging.googleapis.com/spanId":        sidHex,
			"logging.googleapis.com/trace_sampled": true, "request_id": "r-1", "free": 42.0,
			"logging.googleapis.com/sourceLocation": map[string]any{"function": src, "file": src, "line": src},
		}},
		{"datadog", map[string]any{
			"timestamp": "", "status": "warn", "message": "disk low", "service": "checkout", "version": "1.2.3",
			"env": "prod", "dd.trace_id": "11803532876627986230", "dd.span_id": "67667974448284343",
			"request_id": "r-1", "free": 42.0,
			"logger.method_name": src, "logger.file_name": src, "logger.line": src,
		}},
	}
	for _, tt := range tests {
		t.Run("fields="+tt.fields, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := logging.New(logging.Config{Output: &buf, Fields: tt.fields, AddSource: true,
				Service: "checkout", Version: "1.2.3", Environment: "prod"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := logging.WithAttrs(spanCtx(), slog.String("request_id", "r-1"))
			l.WarnContext(ctx, "disk low", "free", 42)
			m := strictLines(t, buf.String())[0]
			checkExact(t, "", m, tt.want)
		})
	}
}

// checkExact compares got with want key by key: the same keys, the same values; "" in
// want is any time in RFC 3339, "*" any non-empty value.
func checkExact(t *testing.T, prefix string, got, want map[string]any) {
	t.Helper()
	var gk, wk []string
	for k := range got {
		gk = append(gk, k)
	}
	for k := range want {
		wk = append(wk, k)
	}
	slices.Sort(gk)
	slices.Sort(wk)
	if !slices.Equal(gk, wk) {
		t.Errorf("%skeys = %v\nwant %v", prefix, gk, wk)
	}
	for k, w := range want {
		g := got[k]
		switch w := w.(type) {
		case map[string]any:
			gm, ok := g.(map[string]any)
			if !ok {
				t.Errorf("%s%s = %#v, want an object", prefix, k, g)
				continue
			}
			checkExact(t, prefix+k+".", gm, w)
		case string:
			switch w {
			case "":
				if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(g)); err != nil {
					t.Errorf("%s%s = %#v, want a time", prefix, k, g)
				}
			case "*":
				if fmt.Sprint(g) == "" || g == nil {
					t.Errorf("%s%s is empty", prefix, k)
				}
			default:
				if g != w {
					t.Errorf("%s%s = %#v, want %#v", prefix, k, g, w)
				}
			}
		default:
			if g != w {
				t.Errorf("%s%s = %#v, want %#v", prefix, k, g, w)
			}
		}
	}
}

func TestFieldLevels(t *testing.T) {
	levels := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelError + 4, slog.LevelInfo + 2}
	tests := []struct {
		fields, key string
		want        []any
	}{
		{"vigil", "level", []any{"DEBUG", "INFO", "WARN", "ERROR", "ERROR+4", "INFO+2"}},
		{"otel", "severity_number", []any{5.0, 9.0, 13.0, 17.0, 21.0, 11.0}},
		{"ecs", "log.level", []any{"debug", "info", "warn", "error", "error+4", "info+2"}},
		{"gcp", "severity", []any{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "INFO"}},
		{"datadog", "status", []any{"debug", "info", "warn", "error", "critical", "info"}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l, err := logging.New(logging.Config{Output: &buf, Fields: tt.fields, Level: slog.LevelDebug})
		if err != nil {
			t.Fatal(err)
		}
		for _, lv := range levels {
			l.Log(context.Background(), lv, "m")
		}
		for i, m := range strictLines(t, buf.String()) {
			if m[tt.key] != tt.want[i] {
				t.Errorf("%s: %v: %s = %#v, want %#v", tt.fields, levels[i], tt.key, m[tt.key], tt.want[i])
			}
		}
	}
}

func TestParseFields(t *testing.T) {
	for in, want := range map[string]string{
		"vigil": "vigil", " OTel ": "otel", "ECS": "ecs", "gcp": "gcp", "GCP:my-proj": "gcp:my-proj", "datadog": "datadog",
	} {
		if got, err := logging.ParseFields(in); err != nil || got != want {
			t.Errorf("ParseFields(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "elastic", "ecs:x", "gcp:", "gcp:a/b", `gcp:a"b`} {
		if _, err := logging.ParseFields(in); err == nil {
			t.Errorf("ParseFields(%q) accepted", in)
		}
	}
	_, err := logging.New(logging.Config{Output: io.Discard, Fields: "splunk"})
	if err == nil || !strings.Contains(err.Error(), `Fields="splunk"`) {
		t.Errorf("New with a bad preset: %v", err)
	}
}
