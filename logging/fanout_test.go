package logging_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-go/vigil/logging"
)

// recorder is a user's slog.Handler that keeps what it is given.
type recorder struct {
	mu    *sync.Mutex
	recs  *[]slog.Record
	level slog.Level
}

func newRecorder(level slog.Level) recorder {
	return recorder{mu: new(sync.Mutex), recs: new([]slog.Record), level: level}
}

func (r recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.recs = append(*r.recs, rec.Clone())
	return nil
}
func (r recorder) WithAttrs([]slog.Attr) slog.Handler { panic("the fan-out applies WithAttrs itself") }
func (r recorder) WithGroup(string) slog.Handler      { panic("the fan-out applies WithGroup itself") }

func (r recorder) attrs(i int) map[string]slog.Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]slog.Value{}
	(*r.recs)[i].Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
	return m
}

type dbError struct{ DSN string }

func (e *dbError) Error() string { return "connect " + e.DSN + ": refused" }

// TestFanoutRedactedAndCorrelated: a user's handler never sees a secret, and its
// records carry the correlation fields the JSON line has.
func TestFanoutRedactedAndCorrelated(t *testing.T) {
	var user bytes.Buffer
	rec := newRecorder(slog.LevelInfo)
	l, err := logging.New(logging.Config{Output: io.Discard, RedactKeys: []string{"ssn"},
		Handlers: []slog.Handler{slog.NewJSONHandler(&user, nil), slog.NewTextHandler(&user, nil), rec}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := logging.WithAttrs(spanCtx(), slog.String("request_id", "r-1"), slog.String("tenant", "acme"))
	cause := &dbError{DSN: "postgres://app:hunter2@db/orders"}
	l.With("api_key", "k-123", slog.Group("db", "Password", "p4ss", "host", "h")).
		ErrorContext(ctx, "query failed", "err", cause, "user_ssn", "123-45",
			"req", map[string]any{"headers": map[string]string{"Authorization": "Bearer abc.def"}},
			"level", "user-level")

	out := user.String()
	for _, secret := range []string{"hunter2", "k-123", "p4ss", "123-45", "abc.def"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q reached a user's handler:\n%s", secret, out)
		}
	}
	m := strictLines(t, strings.SplitN(out, "\n", 2)[0]+"\n")[0]
	for k, v := range map[string]any{
		"trace_id": tidHex, "span_id": sidHex, "request_id": "r-1", "tenant": "acme", "level": "ERROR",
		"attr.level": "user-level", "api_key": "[REDACTED]", "user_ssn": "[REDACTED]",
		"err": "connect postgres://app:[REDACTED]@db/orders: refused",
	} {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if db, _ := m["db"].(map[string]any); db["Password"] != "[REDACTED]" || db["host"] != "h" {
		t.Errorf("db = %v", m["db"])
	}
	if !strings.Contains(out, `trace_id=`+tidHex) || !strings.Contains(out, "api_key=[REDACTED]") {
		t.Errorf("text handler: %s", out)
	}

	// The error stays an error, but nothing of the original is reachable from it.
	e, ok := rec.attrs(0)["err"].Any().(error)
	if !ok {
		t.Fatalf("err is %T, want an error", rec.attrs(0)["err"].Any())
	}
	var db *dbError
	if errors.As(e, &db) || errors.Unwrap(e) != nil {
		t.Errorf("the original error is reachable: %#v", e)
	}
}

func TestFanoutGroupsPresetsAndLevels(t *testing.T) {
	var user bytes.Buffer
	errorsOnly := newRecorder(slog.LevelError)
	l, err := logging.New(logging.Config{Output: io.Discard, Fields: "datadog",
		Handlers: []slog.Handler{slog.NewJSONHandler(&user, nil), errorsOnly}})
	if err != nil {
		t.Fatal(err)
	}
	l.With("a", 0).WithGroup("g").With("b", 1).InfoContext(spanCtx(), "m", "c", 2)
	m := strictLines(t, user.String())[0]
	if m["dd.trace_id"] != "11803532876627986230" || m["dd.span_id"] != "67667974448284343" || m["a"] != 0.0 {
		t.Errorf("line = %v", m)
	}
	if g, _ := m["g"].(map[string]any); g["b"] != 1.0 || g["c"] != 2.0 {
		t.Errorf("g = %v", m["g"])
	}
	if len(*errorsOnly.recs) != 0 {
		t.Errorf("a handler at Error got an Info record")
	}
}

// TestBridgesGetRecordsAsLogged: vigil's own bridges (the Sentry one) apply the policy
// themselves and need the error as logged, with its type and chain.
func TestBridgesGetRecordsAsLogged(t *testing.T) {
	bridge := newRecorder(slog.LevelError)
	user := newRecorder(slog.LevelError)
	l, err := logging.New(logging.Config{Output: io.Discard, Handlers: []slog.Handler{user}, Bridges: []slog.Handler{bridge}})
	if err != nil {
		t.Fatal(err)
	}
	cause := &dbError{DSN: "postgres://app:hunter2@db/orders"}
	l.Error("query failed", "err", cause)
	if got := bridge.attrs(0)["err"].Any(); got != cause {
		t.Errorf("bridge got %#v, want the error as logged", got)
	}
	if _, isDB := user.attrs(0)["err"].Any().(*dbError); isDB {
		t.Error("a user's handler got the raw error")
	}
}
