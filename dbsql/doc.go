// Package dbsql records what a program asks of its database through database/sql, with
// any driver: a client span per statement, transaction step and connection, a duration
// histogram and an error counter by operation and table, the pool's statistics, a log
// line for each slow operation, and, when asked, a comment in each statement that leads
// from the database's own logs to the trace.
//
// The program keeps calling sql.OpenDB; it passes it a wrapped connector:
//
//	in, err := dbsql.New(dbsql.Config{TracerProvider: tp, Registry: reg, Logger: logger})
//	c, err := in.Connector("pgx", dsn) // dsn: the program's own setting, e.g. "postgres://app@db/orders"
//	db := sql.OpenDB(c)
//	defer in.Watch(db, "orders")()
//
// Package observe does this with the program's Observer: observe.DBConnector,
// observe.WrapConnector, observe.WatchDB.
//
// # Spans
//
// Each statement run (Exec, Query, and each execution of a prepared statement), each
// BEGIN, COMMIT and ROLLBACK, and each new connection (CONNECT) is a span of kind client
// named "{db.operation.name} {db.collection.name}" ("SELECT orders"), or the operation
// alone, or db.system.name when the statement's operation is not a known keyword. A
// query's span ends when its rows are closed, so it covers reading them. Its attributes
// follow OpenTelemetry's database conventions:
//
//	db.system.name      always: "postgresql", "mysql", "sqlite", ..., "other_sql"
//	db.operation.name   SELECT, INSERT, UPDATE, ... from a fixed set of keywords
//	db.collection.name  the first table the statement names (schema.table as written)
//	db.query.text       the statement with every literal replaced by ?
//	server.address      from the DSN (Connector) or WithServer
//	server.port
//	error.type          on failure: the SQLSTATE where the driver reports one, else the
//	                    error's Go type
//
// A failed operation's span has status Error with the driver's message, its literals
// replaced and secrets cut out. Preparing a statement has no span of its own, unless it
// fails.
//
// # Statements
//
// db.query.text never holds a literal: strings (with every prefix and escape of the
// dialect), numbers, hex and bit strings and dollar-quoted bodies become ?, lists of
// them (?), rows of VALUES one (?). Comments are dropped and white space collapsed;
// placeholders ($1, ?, :name, @p1) and identifiers stay. Where the reading of a string
// depends on a setting vigil cannot see (a backslash inside it, for a system whose
// escaping is not known), the text ends there. The reading of each distinct statement
// is remembered, so a repeated statement costs one map lookup; see internal/limits for
// the bounds.
//
// # Metrics
//
// With a Registry, every operation is observed in db_client_operation_duration_seconds
// (a Timer: milliseconds in StatsD) by db_system_name, db_operation_name and
// db_collection_name, with the span as exemplar; failures are counted in
// db_client_operation_errors_total with error_type too. No label holds statement
// text, and each family has the registry's series cap. Watch adds the pool's
// sql.DBStats at each scrape, by db_client_connection_pool_name:
// db_client_connection_count (by db_client_connection_state: idle, used),
// db_client_connection_max, db_client_connection_waits_total,
// db_client_connection_wait_time_seconds_total and db_client_connection_closed_total (by
// reason). They are Prometheus collectors: StatsD does not receive them.
//
// # Slow operations
//
// An operation that takes Config.SlowQuery or longer (500ms by default) is logged at
// WARN as "slow database query" with db.system.name, db.operation.name,
// db.collection.name, db.query.text and duration_ms, through the Logger, under the
// operation's context: vigil's handler adds its trace_id and span_id.
//
// # Comments
//
// With Config.Comment, each statement run directly gets a sqlcommenter comment with the
// span's W3C traceparent, /*traceparent='00-…-…-01'*/, before a final semicolon, so
// that pg_stat_activity, the slow query log or an audit log names the trace. Prepared
// statements and statements that already hold a comment are left alone.
//
// # Secrets
//
// The DSN is never kept. Its password (read from the usual forms) is cut out of every
// error text dbsql records and out of the error Connector returns; the error the driver
// returns to the program is not changed.
//
// # Drivers
//
// The wrapper implements every optional interface of database/sql/driver and, where
// the driver lacks one, does what database/sql does in its absence, so a driver behaves
// as it does bare. A statement the driver declines (driver.ErrSkip, which database/sql
// answers by preparing it and running it prepared) keeps one span, which covers both.
// Pings have no span: a readiness probe does not start a trace. Unwrap gives back the
// driver's own connection in sql.Conn.Raw.
package dbsql
