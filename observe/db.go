package observe

import (
	"database/sql"
	"database/sql/driver"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-go/vigil/dbsql"
)

// DBConfig configures the database/sql instrumentation: DBConnector, WrapConnector and
// WatchDB (see package dbsql for what they record).
type DBConfig struct {
	// SlowQuery is the duration from which a database operation is logged at WARN with
	// its sanitized statement and trace id (VIGIL_DB_SLOW_QUERY); 0 means 500ms, a
	// negative value (the variable's 0) turns the lines off.
	SlowQuery time.Duration
	// Comment appends a sqlcommenter comment with the span's traceparent to each
	// statement run directly (VIGIL_DB_COMMENT=true), so the database's own logs lead to
	// the trace; statements then differ in text, which defeats plan caches keyed by it.
	Comment bool
}

// dbParts is an Observer's database instrumentation, built at its first use: a program
// without a database defines none of its families.
type dbParts struct {
	once sync.Once
	in   *dbsql.Instrumentation
}

func (o *Observer) dbsql() *dbsql.Instrumentation {
	o.db.once.Do(func() {
		cfg := dbsql.Config{
			Registry:   o.registry,
			Logger:     o.base,
			SlowQuery:  o.cfg.DB.SlowQuery,
			Comment:    o.cfg.DB.Comment,
			RedactKeys: o.redactKeys(),
			AllowKeys:  o.allowKeys(),
		}
		if o.tracer != nil {
			cfg.TracerProvider = o.tracer.TracerProvider()
		}
		in, err := dbsql.New(cfg)
		if err != nil {
			// A family of the same name defined by the program: keep the spans and the
			// slow query lines.
			o.base.Error("vigil: database metrics not defined; spans and slow query lines only", slog.Any("error", err))
			cfg.Registry = nil
			in, _ = dbsql.New(cfg)
		}
		o.db.in = in
	})
	return o.db.in
}

// DBConnector opens the connector of the database/sql driver registered as driverName
// for dsn and wraps it with o's instrumentation; pass it to sql.OpenDB:
//
//	c, err := o.DBConnector("pgx", dsn)
//	if err != nil { ... }
//	db := sql.OpenDB(c)
//	defer o.WatchDB(db, "orders")()
//
// Every statement, transaction step and new connection gets a client span (a child of
// the request's), the db_client_operation_duration_seconds histogram and, on failure,
// db_client_operation_errors_total; slow ones a log line. The DSN is not kept, and its
// password is cut out of every error text vigil records and of the error returned.
func (o *Observer) DBConnector(driverName, dsn string, opts ...dbsql.Option) (driver.Connector, error) {
	return o.dbsql().Connector(driverName, dsn, opts...)
}

// WrapConnector wraps a driver's connector (pgx's stdlib.GetConnector,
// mysql.NewConnector, ...) with o's instrumentation; see DBConnector.
func (o *Observer) WrapConnector(c driver.Connector, opts ...dbsql.Option) driver.Connector {
	return o.dbsql().Wrap(c, opts...)
}

// WatchDB exposes db's pool statistics (open, idle and used connections, waits, closes)
// under name at o's MetricsHandler until unwatch is called; a second WatchDB under the
// same name replaces the first.
func (o *Observer) WatchDB(db *sql.DB, name string) (unwatch func()) {
	return o.dbsql().Watch(db, name)
}

// DBConnector is Observer.DBConnector on the default Observer, resolved at each
// operation like Middleware: a connector made before Init records with the Init'd
// Observer from then on.
func DBConnector(driverName, dsn string, opts ...dbsql.Option) (driver.Connector, error) {
	return dbsql.ConnectorFunc(driverName, dsn, defaultDB, opts...)
}

// WrapConnector is Observer.WrapConnector on the default Observer, resolved at each
// operation.
func WrapConnector(c driver.Connector, opts ...dbsql.Option) driver.Connector {
	return dbsql.WrapFunc(c, defaultDB, opts...)
}

// WatchDB is Observer.WatchDB on the default Observer at the time of the call: call it
// after Init.
func WatchDB(db *sql.DB, name string) (unwatch func()) { return Default().WatchDB(db, name) }

func defaultDB() *dbsql.Instrumentation { return Default().dbsql() }
