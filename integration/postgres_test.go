//go:build integration

package integration

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/observe"
)

// keptSpans keeps the spans across Shutdown (InMemoryExporter forgets them).
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }

// TestPostgres drives the real PostgreSQL run.sh started through pgx's database/sql
// driver wrapped by observe.DBConnector, under HTTP requests through observe.Middleware,
// and checks what each sink holds: client spans that are the requests' children, with
// the server's address, sanitized statements and SQLSTATE error types; the duration
// histogram, error counter and pool metrics; the slow query line with its trace id; the
// sqlcommenter comment as the server itself saw it (pg_stat_activity); and neither the
// DSN's password nor a literal anywhere.
func TestPostgres(t *testing.T) {
	dsn := os.Getenv("VIGIL_IT_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("VIGIL_IT_POSTGRES_DSN not set: run integration/run.sh, which starts PostgreSQL")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("VIGIL_IT_POSTGRES_DSN: %v", err)
	}
	// A password the server ignores (trust authentication), which must never show.
	const pw = "pw-Never-Shown-7"
	u.User = url.UserPassword(u.User.Username(), pw)
	port, _ := strconv.Atoi(u.Port())

	exp := tracetest.NewInMemoryExporter()
	var logs logtest.Buffer
	var cfg observe.Config
	cfg.NoGlobals = true
	cfg.Logging.Output = &logs
	cfg.Metrics.DisableHostCollector = true
	cfg.Tracing.SpanExporter = keptSpans{exp}
	cfg.DB.SlowQuery = 150 * time.Millisecond
	cfg.DB.Comment = true
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())

	c, err := o.DBConnector("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxOpenConns(4)
	defer o.WatchDB(db, "shop")()
	ctx := context.Background()
	for _, q := range []string{
		"DROP TABLE IF EXISTS it_orders",
		"CREATE TABLE it_orders (id bigint PRIMARY KEY, owner text NOT NULL, total numeric(10, 2))",
		"INSERT INTO it_orders VALUES (42, 'hunter2', 31337.5)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	var seen string // the statement as the server saw it, comment included
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		tx, err := db.BeginTx(r.Context(), nil)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer tx.Rollback()
		var owner string
		if err := tx.QueryRowContext(r.Context(), "SELECT owner FROM it_orders WHERE id = $1 AND owner <> 'hunter2x'", r.PathValue("id")).Scan(&owner); err != nil {
			http.Error(w, "not found", 404)
			return
		}
		if err := tx.QueryRowContext(r.Context(), "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()").Scan(&seen); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := tx.Commit(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		// pg_sleep takes at least its argument: the line is certain, whatever the load.
		_, err := db.ExecContext(r.Context(), "SELECT pg_sleep(0.2)")
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		_, err1 := db.ExecContext(r.Context(), "UPDATE it_missing SET owner = 'hunter2' WHERE id = 7")
		_, err2 := db.ExecContext(r.Context(), "SELECT 'hunter2'::int")
		if err1 == nil || err2 == nil {
			t.Errorf("the failing statements succeeded: %v, %v", err1, err2)
		}
		http.Error(w, "broken", 500)
	})
	srv := httptest.NewServer(o.Middleware(mux))
	defer srv.Close()
	for _, path := range []string{"/orders/42", "/slow", "/broken"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/orders/42" && resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}

	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metricsText := rec.Body.String()
	if err := o.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Spans: the requests' children, with the server's address.
	type stub = tracetest.SpanStub
	servers := map[trace.SpanID]stub{}
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			servers[s.SpanContext.SpanID()] = s
		}
	}
	under := map[string][]stub{} // "route > span" -> spans
	for _, s := range exp.GetSpans() {
		all := fmt.Sprint(s.Name, s.Attributes, s.Status, s.Events)
		if strings.Contains(all, pw) || strings.Contains(all, "hunter2") || strings.Contains(all, "31337") {
			t.Errorf("span %s shows the password or a literal: %s", s.Name, all)
		}
		if s.SpanKind != trace.SpanKindClient {
			continue
		}
		a := map[string]string{}
		for _, kv := range s.Attributes {
			a[string(kv.Key)] = kv.Value.String()
		}
		if a["db.system.name"] != "postgresql" || a["server.address"] != "127.0.0.1" || a["server.port"] != strconv.Itoa(port) {
			t.Errorf("%s: attributes %v", s.Name, a)
		}
		if p, ok := servers[s.Parent.SpanID()]; ok {
			under[p.Name+" > "+s.Name] = append(under[p.Name+" > "+s.Name], s)
		}
	}
	for _, want := range []string{"GET /orders/{id} > BEGIN", "GET /orders/{id} > SELECT it_orders",
		"GET /orders/{id} > SELECT pg_stat_activity", "GET /orders/{id} > COMMIT", "GET /slow > SELECT",
		"GET /broken > UPDATE it_missing", "GET /broken > SELECT"} {
		if len(under[want]) == 0 {
			t.Errorf("no span %q; have %v", want, keysOf(under))
		}
	}
	sel := under["GET /orders/{id} > SELECT it_orders"]
	if len(sel) == 1 {
		s := sel[0]
		for _, kv := range s.Attributes {
			if kv.Key == "db.query.text" && kv.Value.AsString() != "SELECT owner FROM it_orders WHERE id = $1 AND owner <> ?" {
				t.Errorf("db.query.text %q", kv.Value.AsString())
			}
		}
	}
	if act := under["GET /orders/{id} > SELECT pg_stat_activity"]; len(act) == 1 {
		sc := act[0].SpanContext
		want := fmt.Sprintf("/*traceparent='00-%s-%s-01'*/", sc.TraceID(), sc.SpanID())
		if !strings.HasSuffix(seen, want) {
			t.Errorf("the server saw %q, want the comment %s", seen, want)
		}
	}
	for _, s := range append(under["GET /broken > UPDATE it_missing"], under["GET /broken > SELECT"]...) {
		a := map[string]string{}
		for _, kv := range s.Attributes {
			a[string(kv.Key)] = kv.Value.String()
		}
		if s.Status.Code.String() != "Error" || (a["error.type"] != "42P01" && a["error.type"] != "22P02") {
			t.Errorf("%s: status %v, error.type %q", s.Name, s.Status, a["error.type"])
		}
	}

	// Metrics.
	for _, want := range []string{
		`db_client_operation_duration_seconds_count{db_collection_name="it_orders",db_operation_name="SELECT",db_system_name="postgresql"} 1`,
		`db_client_operation_duration_seconds_count{db_collection_name="",db_operation_name="COMMIT",db_system_name="postgresql"} 1`,
		`db_client_operation_errors_total{db_collection_name="it_missing",db_operation_name="UPDATE",db_system_name="postgresql",error_type="42P01"} 1`,
		`db_client_operation_errors_total{db_collection_name="",db_operation_name="SELECT",db_system_name="postgresql",error_type="22P02"} 1`,
		`db_client_connection_max{db_client_connection_pool_name="shop"} 4`,
		`db_client_connection_count{db_client_connection_pool_name="shop",db_client_connection_state="idle"}`,
	} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metricsText, pw) || strings.Contains(metricsText, "hunter2") {
		t.Error("/metrics shows the password or a literal")
	}

	// The slow query line.
	line := logs.Find(t, "db.query.text", "SELECT pg_sleep(?)")
	slow := under["GET /slow > SELECT"]
	if line == nil || len(slow) != 1 {
		t.Fatalf("no slow query line (%d slow spans):\n%s", len(slow), logs.String())
	}
	if line["msg"] != "slow database query" || line["trace_id"] != slow[0].SpanContext.TraceID().String() {
		t.Errorf("slow query line %v", line)
	}
	if d, _ := line["duration_ms"].(float64); d < 200 {
		t.Errorf("duration_ms %v", line["duration_ms"])
	}
	if s := logs.String(); strings.Contains(s, pw) || strings.Contains(s, "hunter2") || strings.Contains(s, "31337") {
		t.Errorf("logs show the password or a literal:\n%s", s)
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
