package benchmarks

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/XSAM/otelsql"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite"
)

// The database/sql comparison: one statement through the bare driver (a pure-Go
// SQLite in memory), through otelsql (XSAM) and through vigil's dbsql (observe's
// DBConnector). Each instrumented side records what the other does: one client span per
// statement into the same kind of dropping exporter, sampled under a sampled parent as in
// a request, and a duration histogram (otelsql's through an OpenTelemetry SDK
// MeterProvider, vigil's in its registry). otelsql runs with its sql.rows and
// reset-session spans off, as vigil has no such spans; everything else is its default
// (db.query.text raw, span names by method). The figure is each side's overhead per
// statement over the bare driver's time; the goal is vigil's at most half of otelsql's.
//
// Leaves: BenchmarkSQL/op=query|exec/impl=bare|otelsql|vigil. Each leaf builds its own
// *sql.DB, so a process running one leaf holds nothing of the others.

// sqlOps are the statements measured.
var sqlOps = []struct {
	name string
	run  func(ctx context.Context, db *sql.DB) error
}{
	// A point read: QueryContext and the scan of one row.
	{"query", func(ctx context.Context, db *sql.DB) error {
		var v string
		return db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 1).Scan(&v)
	}},
	// A write of one row.
	{"exec", func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", "one", 1)
		return err
	}},
}

// sqlParent is a context holding a sampled remote span: every side's span is a sampled
// child, as under a request, without a parent span to create per statement.
func sqlParent() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
	return trace.ContextWithRemoteSpanContext(context.Background(), sc)
}

// sqlDB opens impl's database with the table the statements use. The pool holds one
// connection: a memory database is per connection.
func sqlDB(tb testing.TB, impl string, spans *spanSink) *sql.DB {
	tb.Helper()
	const dsn = "file:bench?mode=memory"
	var (
		db  *sql.DB
		err error
	)
	switch impl {
	case "bare":
		db, err = sql.Open("sqlite", dsn)
	case "otelsql":
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tb.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		db, err = otelsql.Open("sqlite", dsn,
			otelsql.WithTracerProvider(sdkProvider(tb, 1, spans)),
			otelsql.WithMeterProvider(mp),
			otelsql.WithAttributes(attribute.String("db.system.name", "sqlite")),
			otelsql.WithSpanOptions(otelsql.SpanOptions{OmitRows: true, OmitConnResetSession: true}))
	case "vigil":
		o := newObserver(tb, vigilSinks{spans: spans})
		c, cerr := o.DBConnector("sqlite", dsn)
		if cerr != nil {
			tb.Fatal(cerr)
		}
		db = sql.OpenDB(c)
	default:
		tb.Fatalf("unknown impl %q", impl)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	for _, q := range []string{"CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO kv VALUES (1, 'one')"} {
		if _, err := db.Exec(q); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

func BenchmarkSQL(b *testing.B) {
	for _, op := range sqlOps {
		b.Run("op="+op.name, func(b *testing.B) {
			for _, impl := range []string{"bare", "otelsql", "vigil"} {
				b.Run("impl="+impl, func(b *testing.B) {
					db := sqlDB(b, impl, &spanSink{})
					ctx := sqlParent()
					b.ReportAllocs()
					for b.Loop() {
						if err := op.run(ctx, db); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// TestSQLSides checks that every side runs the statements and that the instrumented
// ones produce a span per statement.
func TestSQLSides(t *testing.T) {
	for _, impl := range []string{"bare", "otelsql", "vigil"} {
		t.Run(impl, func(t *testing.T) {
			spans := &spanSink{}
			t.Run("run", func(t *testing.T) {
				db := sqlDB(t, impl, spans)
				ctx := sqlParent()
				for _, op := range sqlOps {
					for range 10 {
						if err := op.run(ctx, db); err != nil {
							t.Fatal(fmt.Errorf("%s: %w", op.name, err))
						}
					}
				}
			}) // its cleanups flush and shut the providers down
			if got := spans.count(); impl != "bare" && got < 20 {
				t.Errorf("%d spans for 20 statements", got)
			}
		})
	}
}
