package observe_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite"

	"github.com/vigil-go/vigil/observe"
)

// TestDatabaseUnderRequest follows HTTP requests that query a real (pure-Go) SQLite
// through observe.Middleware and checks every sink: the database spans are children of
// the request's server span with sanitized statements; the duration histogram, the
// error counter and the pool metrics are at MetricsHandler; the slow query line carries
// the request's trace id; and neither the DSN's password nor a literal appears anywhere.
func TestDatabaseUnderRequest(t *testing.T) {
	clearEnv(t)
	t.Setenv("VIGIL_DB_SLOW_QUERY", "1ns") // every operation is "slow"
	exp := tracetest.NewInMemoryExporter()
	logs := &syncBuffer{}
	cfg := quiet(logs)
	cfg.Tracing.Exporter = ""
	cfg.Tracing.SpanExporter = keptExporter{exp}
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())

	const pw = "pa55w0rd-xyz"
	// SQLite ignores the password parameter; it stands for a DSN's secret.
	c, err := o.DBConnector("sqlite", "file:observedb?mode=memory&cache=shared&_pwd="+pw)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	defer o.WatchDB(db, "orders")()
	if _, err := db.Exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, owner TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO orders VALUES (42, 'hunter2')"); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		var owner string
		err := db.QueryRowContext(r.Context(), "SELECT owner FROM orders WHERE id = ? AND owner <> 'hunter2x'", r.PathValue("id")).Scan(&owner)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		_, err := db.ExecContext(r.Context(), "UPDATE nosuchtable SET owner = 'hunter2' WHERE id = 31337")
		if err == nil {
			t.Error("update of a missing table succeeded")
		}
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(o.Middleware(mux))
	defer srv.Close()
	for _, path := range []string{"/orders/42", "/broken"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err := o.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := exp.GetSpans()
	servers := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindServer {
			servers[s.SpanContext.SpanID()] = s
		}
	}
	found := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		text := fmt.Sprint(s.Name, s.Attributes, s.Status, s.Events)
		if strings.Contains(text, pw) || strings.Contains(text, "hunter2") || strings.Contains(text, "31337") {
			t.Errorf("span %s shows a secret or literal: %s", s.Name, text)
		}
		if s.SpanKind != trace.SpanKindClient {
			continue
		}
		attrs := map[string]string{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		if attrs["db.system.name"] != "sqlite" {
			t.Errorf("%s: no db.system.name (%v)", s.Name, attrs)
		}
		if server, ok := servers[s.Parent.SpanID()]; ok {
			found[s.Name] = s
			if server.SpanContext.TraceID() != s.SpanContext.TraceID() {
				t.Errorf("%s: another trace than its parent's", s.Name)
			}
		}
	}
	sel, ok := found["SELECT orders"]
	if !ok {
		t.Fatalf("no SELECT span under a request; client spans under requests: %v", keysOf(found))
	}
	for _, kv := range sel.Attributes {
		if kv.Key == "db.query.text" && kv.Value.AsString() != "SELECT owner FROM orders WHERE id = ? AND owner <> ?" {
			t.Errorf("db.query.text %q", kv.Value.AsString())
		}
	}
	if servers[sel.Parent.SpanID()].Name != "GET /orders/{id}" {
		t.Errorf("SELECT's parent is %q", servers[sel.Parent.SpanID()].Name)
	}
	upd, ok := found["UPDATE nosuchtable"]
	if !ok || upd.Status.Code.String() != "Error" {
		t.Errorf("UPDATE span: %+v", upd.Status)
	}

	// Metrics.
	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`db_client_operation_duration_seconds_count{db_collection_name="orders",db_operation_name="SELECT",db_system_name="sqlite"} 1`,
		`db_client_operation_errors_total{db_collection_name="nosuchtable",db_operation_name="UPDATE",db_system_name="sqlite",error_type=`,
		`db_client_connection_count{db_client_connection_pool_name="orders",db_client_connection_state="idle"}`,
		`db_client_connection_max{db_client_connection_pool_name="orders"} 0`,
		`db_client_connection_waits_total{db_client_connection_pool_name="orders"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, pw) || strings.Contains(body, "hunter2") || strings.Contains(body, "31337") {
		t.Error("/metrics shows a secret or literal")
	}

	// The slow query line of the SELECT, with the request's trace id.
	line := logs.Find(t, "db.query.text", "SELECT owner FROM orders WHERE id = ? AND owner <> ?")
	if line == nil {
		t.Fatalf("no slow query line:\n%s", logs)
	}
	if line["msg"] != "slow database query" || line["trace_id"] != sel.SpanContext.TraceID().String() ||
		line["span_id"] != sel.SpanContext.SpanID().String() {
		t.Errorf("slow query line %v, want trace %s span %s", line, sel.SpanContext.TraceID(), sel.SpanContext.SpanID())
	}
	if s := logs.String(); strings.Contains(s, pw) || strings.Contains(s, "hunter2") || strings.Contains(s, "31337") {
		t.Errorf("logs show a secret or literal:\n%s", s)
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDatabaseFollowsDefault: a connector made with the package-level WrapConnector
// before Init records with the Init'd Observer, whose VIGIL_DB_COMMENT=true puts the
// span's traceparent into the statements.
func TestDatabaseFollowsDefault(t *testing.T) {
	clearEnv(t)
	t.Setenv("VIGIL_DB_COMMENT", "true")
	rd := &recordingDriver{}
	db := sql.OpenDB(observe.WrapConnector(rd))
	defer db.Close()

	exp := tracetest.NewInMemoryExporter()
	cfg := quiet(&syncBuffer{})
	cfg.Tracing.Exporter = ""
	cfg.Tracing.SpanExporter = keptExporter{exp}
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := observe.Start(context.Background(), "job")
	if _, err := db.ExecContext(ctx, "DELETE FROM carts WHERE age > 30"); err != nil {
		t.Fatal(err)
	}
	span.End()
	if err := o.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var del tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "DELETE carts" {
			del = s
		}
	}
	if !del.SpanContext.IsValid() || del.Parent.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("no DELETE span under the job's: %v", exp.GetSpans())
	}
	want := fmt.Sprintf("DELETE FROM carts WHERE age > 30 /*traceparent='00-%s-%s-01'*/", del.SpanContext.TraceID(), del.SpanContext.SpanID())
	if got := rd.last(); got != want {
		t.Errorf("the driver got %q, want %q", got, want)
	}
}

// recordingDriver is a connector whose connections remember the last statement.
type recordingDriver struct {
	mu sync.Mutex
	q  string
}

func (d *recordingDriver) last() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.q
}

func (d *recordingDriver) Connect(context.Context) (driver.Conn, error) { return recordingConn{d}, nil }
func (d *recordingDriver) Driver() driver.Driver                        { return nil }

type recordingConn struct{ d *recordingDriver }

func (c recordingConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (c recordingConn) Close() error                        { return nil }
func (c recordingConn) Begin() (driver.Tx, error)           { return nil, driver.ErrSkip }
func (c recordingConn) ExecContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Result, error) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.d.q = q
	return driver.RowsAffected(0), nil
}
