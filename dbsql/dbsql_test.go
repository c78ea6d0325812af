package dbsql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite"

	"github.com/vigil-go/vigil/dbsql"
	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
)

// rig is an Instrumentation recording into a span recorder, a registry and a log buffer.
type rig struct {
	in   *dbsql.Instrumentation
	rec  *tracetest.SpanRecorder
	tp   *sdktrace.TracerProvider
	reg  *metrics.Registry
	logs *logtest.Buffer
}

func newRig(t *testing.T, cfg dbsql.Config) *rig {
	t.Helper()
	r := &rig{rec: tracetest.NewSpanRecorder(), logs: &logtest.Buffer{}}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.rec))
	t.Cleanup(func() { _ = r.tp.Shutdown(context.Background()) })
	var err error
	r.reg, err = metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.reg.Shutdown(context.Background()) })
	log, err := logging.New(logging.Config{Output: r.logs})
	if err != nil {
		t.Fatal(err)
	}
	cfg.TracerProvider, cfg.Registry, cfg.Logger = r.tp, r.reg, log
	if r.in, err = dbsql.New(cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

// spans returns the ended client spans, by name.
func (r *rig) spans() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.rec.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			out = append(out, s)
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

// series returns the family's metric with exactly the given label values.
func series(t *testing.T, r *rig, family string, labels map[string]string) *dto.Metric {
	t.Helper()
	fams, err := r.reg.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != family {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

// exposition is the registry's whole text exposition.
func exposition(t *testing.T, r *rig) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestSQLite runs a session against a real (pure-Go) SQLite under a parent span and
// checks what each sink holds.
func TestSQLite(t *testing.T) {
	r := newRig(t, dbsql.Config{SlowQuery: time.Nanosecond}) // every operation is "slow"
	c, err := r.in.Connector("sqlite", "file:dbsqltest?mode=memory&cache=shared")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxOpenConns(3)
	unwatch := r.in.Watch(db, "main")
	defer unwatch()

	ctx, parent := r.tp.Tracer("test").Start(context.Background(), "GET /orders/{id}")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.ExecContext(ctx, "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT, total REAL)"))
	must(db.ExecContext(ctx, "INSERT INTO orders (id, note, total) VALUES (?, ?, ?)", 1, "hunter2", 9.5))
	must(db.ExecContext(ctx, "INSERT INTO orders (id, note, total) VALUES (2, 'hunter2', 31337)"))
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM orders WHERE note = 'hunter2' AND total < 99999").Scan(&n); err != nil || n != 2 {
		t.Fatalf("count: %d, %v", n, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	must(tx.ExecContext(ctx, "UPDATE orders SET total = total + 1 WHERE id = 1"))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	st, err := db.PrepareContext(ctx, "SELECT note FROM orders WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	var note string
	if err := st.QueryRowContext(ctx, 1).Scan(&note); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = db.ExecContext(ctx, "INSERT INTO missing (a) VALUES ('hunter2')")
	if err == nil {
		t.Fatal("insert into a missing table succeeded")
	}
	_, err = db.ExecContext(ctx, "INSERT INTO orders (id, note) VALUES (1, 'hunter2')") // duplicate key
	if err == nil {
		t.Fatal("duplicate insert succeeded")
	}
	parent.End()

	// Spans: children of the parent, sanitized, named by operation and table.
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range r.spans() {
		byName[s.Name()] = append(byName[s.Name()], s)
		if s.Parent().SpanID() != parent.SpanContext().SpanID() && s.Name() != "CONNECT" {
			t.Errorf("%s: parent %s, want the request's %s", s.Name(), s.Parent().SpanID(), parent.SpanContext().SpanID())
		}
		a := attrs(s)
		if a["db.system.name"] != "sqlite" {
			t.Errorf("%s: db.system.name %q", s.Name(), a["db.system.name"])
		}
		for k, v := range a {
			if strings.Contains(v, "hunter2") || strings.Contains(v, "31337") {
				t.Errorf("%s: %s = %q shows a literal", s.Name(), k, v)
			}
		}
		if strings.Contains(s.Status().Description, "hunter2") {
			t.Errorf("%s: status %q shows a literal", s.Name(), s.Status().Description)
		}
	}
	for name, want := range map[string]int{"CREATE orders": 1, "INSERT orders": 3, "SELECT orders": 2, "UPDATE orders": 1,
		"BEGIN": 1, "COMMIT": 1, "INSERT missing": 1} {
		if got := len(byName[name]); got != want {
			t.Errorf("%d spans named %q, want %d (all: %v)", got, name, want, keys(byName))
		}
	}
	sel := attrs(byName["SELECT orders"][0])
	if sel["db.query.text"] != "SELECT count(*) FROM orders WHERE note = ? AND total < ?" ||
		sel["db.operation.name"] != "SELECT" || sel["db.collection.name"] != "orders" {
		t.Errorf("SELECT span attributes: %v", sel)
	}
	if got := attrs(byName["SELECT orders"][1])["db.query.text"]; got != "SELECT note FROM orders WHERE id = ?" {
		t.Errorf("prepared SELECT text %q", got)
	}
	var failed int
	for _, s := range append(byName["INSERT missing"], byName["INSERT orders"]...) {
		if s.Status().Code == codes.Error {
			failed++
			if attrs(s)["error.type"] == "" {
				t.Errorf("%s: failed without error.type", s.Name())
			}
		}
	}
	if failed != 2 {
		t.Errorf("%d failed spans, want 2", failed)
	}

	// The histogram by operation and table; the error counter.
	if m := series(t, r, dbsql.MetricDuration, map[string]string{"db_system_name": "sqlite",
		"db_operation_name": "INSERT", "db_collection_name": "orders"}); m == nil || m.GetHistogram().GetSampleCount() != 3 {
		t.Errorf("INSERT orders duration series: %v", m)
	}
	if m := series(t, r, dbsql.MetricDuration, map[string]string{"db_operation_name": "SELECT", "db_collection_name": "orders"}); m == nil || m.GetHistogram().GetSampleCount() != 2 {
		t.Errorf("SELECT orders duration series: %v", m)
	}
	if m := series(t, r, dbsql.MetricErrors, map[string]string{"db_operation_name": "INSERT", "db_collection_name": "missing"}); m == nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("INSERT missing error series: %v", m)
	}
	// Pool metrics.
	if m := series(t, r, dbsql.MetricConnectionsMax, map[string]string{"db_client_connection_pool_name": "main"}); m == nil || m.GetGauge().GetValue() != 3 {
		t.Errorf("pool max: %v", m)
	}
	if m := series(t, r, dbsql.MetricConnections, map[string]string{"db_client_connection_pool_name": "main",
		"db_client_connection_state": "idle"}); m == nil || m.GetGauge().GetValue() < 1 {
		t.Errorf("idle connections: %v", m)
	}
	if n, err := testutil.GatherAndCount(r.reg.Gatherer(), dbsql.MetricConnectionWaits, dbsql.MetricConnectionClosed); err != nil || n != 4 {
		t.Errorf("waits and closed series: %d, %v", n, err)
	}
	out := exposition(t, r)
	if strings.Contains(out, "hunter2") || strings.Contains(out, "31337") {
		t.Errorf("the exposition shows a literal:\n%s", out)
	}

	// The slow query lines, with the trace id and the sanitized statement.
	line := r.logs.Find(t, "db.query.text", "SELECT count(*) FROM orders WHERE note = ? AND total < ?")
	if line == nil {
		t.Fatalf("no slow query line for the SELECT:\n%s", r.logs)
	}
	if line["msg"] != "slow database query" || line["level"] != "WARN" || line["trace_id"] != parent.SpanContext().TraceID().String() ||
		line["db.collection.name"] != "orders" || line["duration_ms"] == nil {
		t.Errorf("slow query line: %v", line)
	}
	if strings.Contains(r.logs.String(), "hunter2") || strings.Contains(r.logs.String(), "31337") {
		t.Errorf("a log line shows a literal:\n%s", r.logs)
	}

	unwatch()
	if series(t, r, dbsql.MetricConnectionsMax, nil) != nil {
		t.Error("pool metrics stay after unwatch")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestComment checks the sqlcommenter comment: the span's traceparent on statements run
// directly, none on prepared ones, none when off.
func TestComment(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			r := newRig(t, dbsql.Config{Comment: on})
			c, err := r.in.Connector("vigilfake", "fake")
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(c)
			defer db.Close()
			fake.take()
			ctx, parent := r.tp.Tracer("test").Start(context.Background(), "request")
			if _, err := db.ExecContext(ctx, "UPDATE t SET a = 1;"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "UPDATE t /* mine */ SET a = 2"); err != nil {
				t.Fatal(err)
			}
			st, err := db.PrepareContext(ctx, "DELETE FROM t")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.ExecContext(ctx); err != nil {
				t.Fatal(err)
			}
			st.Close()
			parent.End()
			got := fake.take()
			var upd sdktrace.ReadOnlySpan
			for _, s := range r.spans() {
				if s.Name() == "UPDATE t" {
					upd = s
					break
				}
			}
			want := []string{"UPDATE t SET a = 1;", "UPDATE t /* mine */ SET a = 2", "prepared: DELETE FROM t"}
			if on {
				sc := upd.SpanContext()
				want[0] = fmt.Sprintf("UPDATE t SET a = 1 /*traceparent='00-%s-%s-01'*/;", sc.TraceID(), sc.SpanID())
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("the driver got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if a := attrs(upd)["db.query.text"]; a != "UPDATE t SET a = ?;" {
				t.Errorf("db.query.text %q", a)
			}
		})
	}
}

// TestSecretsNeverLeave: a DSN password, quoted by the driver's errors, reaches no span,
// log line, metric or returned construction error; the server comes from the DSN.
func TestSecretsNeverLeave(t *testing.T) {
	const pw = "s3cr3t-pw"
	r := newRig(t, dbsql.Config{SlowQuery: time.Nanosecond})
	dsn := "postgres://bob:" + pw + "@db.example:5433/shop"
	c, err := r.in.Connector("vigilfake", dsn, dbsql.WithSystem("postgresql"))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	_, err = db.ExecContext(context.Background(), "UPDATE users SET password = 'hunter2' WHERE FAIL = 1")
	if err == nil || !strings.Contains(err.Error(), pw) {
		t.Fatalf("the driver's own error reaches the caller unchanged: %v", err)
	}
	spans := r.spans()
	var upd sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == "UPDATE users" {
			upd = s
		}
		all := fmt.Sprint(s.Attributes(), s.Status(), s.Events())
		if strings.Contains(all, pw) || strings.Contains(all, "hunter2") {
			t.Errorf("span %s shows a secret: %s", s.Name(), all)
		}
	}
	if upd == nil || upd.Status().Code != codes.Error {
		t.Fatalf("no failed UPDATE span among %d", len(spans))
	}
	a := attrs(upd)
	if a["server.address"] != "db.example" || a["server.port"] != "5433" || a["db.system.name"] != "postgresql" {
		t.Errorf("attributes %v", a)
	}
	if !strings.Contains(upd.Status().Description, "fake: cannot run") {
		t.Errorf("status %q", upd.Status().Description)
	}
	if s := r.logs.String(); strings.Contains(s, pw) || strings.Contains(s, "hunter2") || !strings.Contains(s, "slow database query") {
		t.Errorf("logs:\n%s", s)
	}
	if s := exposition(t, r); strings.Contains(s, pw) || strings.Contains(s, "hunter2") {
		t.Errorf("exposition:\n%s", s)
	}

	// A driver that quotes the DSN when refusing it.
	_, err = r.in.Connector("vigilfakebaddsn", dsn)
	if err == nil || strings.Contains(err.Error(), pw) || !errors.Is(err, errBadDSN) {
		t.Errorf("Connector error %v", err)
	}
	_, err = r.in.Connector("nosuchdriver", dsn)
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("Connector error %v", err)
	}
}

// TestDriverFallbacks: a declined statement (ErrSkip) is run prepared and recorded once;
// a driver with none of the optional interfaces works as it does bare.
func TestDriverFallbacks(t *testing.T) {
	r := newRig(t, dbsql.Config{})
	for _, name := range []string{"vigilfake", "vigilfakelegacy"} {
		c, err := r.in.Connector(name, "fake")
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(c)
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, "DELETE FROM SKIP WHERE a = ?", 1); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT n FROM SKIP").Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s: %d, %v", name, n, err)
		}
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		// As database/sql does for a driver without BeginTx: no read-only transaction
		// under a context that can end.
		ctx2, cancel := context.WithCancel(ctx)
		if tx, err := db.BeginTx(ctx2, &sql.TxOptions{ReadOnly: true}); err == nil {
			_ = tx.Rollback()
			t.Errorf("%s: a read-only transaction on a driver without BeginTx", name)
		}
		cancel()
		db.Close()
	}
	count := map[string]int{}
	for _, s := range r.spans() {
		count[s.Name()]++
	}
	if count["DELETE SKIP"] != 2 || count["SELECT SKIP"] != 2 || count["ROLLBACK"] != 2 {
		t.Errorf("spans %v", count)
	}
}
