package dbsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/metrics"
)

// Metric names, after OpenTelemetry's database semantic conventions in Prometheus form.
const (
	MetricDuration = "db_client_operation_duration_seconds"
	MetricErrors   = "db_client_operation_errors_total"
)

// Attribute keys of the spans (and the names of the slow query line's fields).
const (
	AttrSystem     = attribute.Key("db.system.name")
	AttrOperation  = attribute.Key("db.operation.name")
	AttrCollection = attribute.Key("db.collection.name")
	AttrQueryText  = attribute.Key("db.query.text")
	AttrErrorType  = attribute.Key("error.type")
	attrServerAddr = attribute.Key("server.address")
	attrServerPort = attribute.Key("server.port")
)

// DefaultSlowQuery is the slow query threshold when Config.SlowQuery is 0.
const DefaultSlowQuery = 500 * time.Millisecond

// durationBuckets are the semantic conventions' advice for db.client.operation.duration.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

// Config says where the telemetry goes. Every field is optional: the zero Config traces
// through OpenTelemetry's global TracerProvider and records no metrics and no log lines.
type Config struct {
	// TracerProvider starts the client spans; nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Registry receives the duration histogram, the error counter and, through Watch,
	// the pool metrics; nil records none.
	Registry *metrics.Registry
	// Logger writes the slow query lines (level WARN, with the trace id the logger's
	// handler takes from the context); nil writes none.
	Logger *slog.Logger
	// SlowQuery is the duration from which an operation is logged; 0 means
	// DefaultSlowQuery, a negative value turns the lines off.
	SlowQuery time.Duration
	// Comment appends a sqlcommenter comment with the span's traceparent to each
	// statement run directly (not to prepared statements), so the database's own logs
	// (pg_stat_statements, the slow log) lead to the trace. It makes each statement's
	// text unique: a server or driver that caches plans by text caches none.
	Comment bool
	// RedactKeys and AllowKeys add to the secret names applied to error text.
	RedactKeys, AllowKeys []string
}

// Instrumentation records the operations of the connectors it wraps. Build one with
// New and share it: its families are defined once.
type Instrumentation struct {
	tracer   trace.Tracer
	reg      *metrics.Registry
	duration *metrics.Timer
	errors   *metrics.Counter
	logger   *slog.Logger
	slow     time.Duration
	comment  bool
	scrub    *scrub.Matcher

	poolMu sync.Mutex
	pools  map[string]*poolCollector
}

// New returns an Instrumentation for cfg. It fails only when cfg.Registry already has a
// family of one of the metric names with another definition.
func New(cfg Config) (*Instrumentation, error) {
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	in := &Instrumentation{
		tracer:  tp.Tracer("github.com/vigil-go/vigil/dbsql"),
		reg:     cfg.Registry,
		logger:  cfg.Logger,
		slow:    cfg.SlowQuery,
		comment: cfg.Comment,
		scrub:   scrub.Shared(cfg.RedactKeys, cfg.AllowKeys),
	}
	if in.slow == 0 {
		in.slow = DefaultSlowQuery
	}
	if cfg.Registry != nil {
		var err error
		in.duration, err = cfg.Registry.NewTimer(metrics.Opts{Name: MetricDuration,
			Help:    "Duration of database client operations.",
			Labels:  []string{"db_system_name", "db_operation_name", "db_collection_name"},
			Buckets: durationBuckets})
		if err != nil {
			return nil, fmt.Errorf("dbsql: defining %s: %w", MetricDuration, err)
		}
		in.errors, err = cfg.Registry.NewCounter(metrics.Opts{Name: MetricErrors,
			Help:   "Database client operations that failed, by error type (SQLSTATE where the driver reports one).",
			Labels: []string{"db_system_name", "db_operation_name", "db_collection_name", "error_type"}})
		if err != nil {
			return nil, fmt.Errorf("dbsql: defining %s: %w", MetricErrors, err)
		}
	}
	return in, nil
}

// Option adjusts what a wrapped connector says about its database.
type Option func(*target)

// WithSystem sets db.system.name ("postgresql", "mysql", "sqlite", ...) where the driver
// is not one vigil recognizes; it also chooses how statements are read (see Wrap).
func WithSystem(name string) Option { return func(t *target) { t.system = name } }

// WithServer sets server.address and server.port (0: none) on every span.
func WithServer(address string, port int) Option {
	return func(t *target) { t.host, t.port = address, port }
}

// Wrap returns a connector that records every operation of c's connections; pass it to
// sql.OpenDB. The database system is recognized from c's driver (pgx, lib/pq, MySQL,
// SQLite, SQL Server, Oracle, ClickHouse, ...) unless WithSystem names it; an
// unrecognized one is "other_sql", whose statements are read with the most cautious
// rules.
func (in *Instrumentation) Wrap(c driver.Connector, opts ...Option) driver.Connector {
	return WrapFunc(c, func() *Instrumentation { return in }, opts...)
}

// Connector opens the connector of the driver registered as driverName for dsn (as
// sql.Open would) and wraps it; the system is recognized from the driver's name. The
// server address and port are read from dsn where its form is a common one; the DSN
// itself is kept nowhere, and its password is cut out of every error text vigil
// records, and out of the error Connector returns.
func (in *Instrumentation) Connector(driverName, dsn string, opts ...Option) (driver.Connector, error) {
	return ConnectorFunc(driverName, dsn, func() *Instrumentation { return in }, opts...)
}

// WrapFunc is Wrap with the Instrumentation chosen at each operation by current, for a
// wrapper that follows a changing default (observe's package-level functions). current
// must be cheap and must not return nil.
func WrapFunc(c driver.Connector, current func() *Instrumentation, opts ...Option) driver.Connector {
	t := &target{}
	for _, o := range opts {
		o(t)
	}
	if t.system == "" {
		t.system = systemOfDriver(c.Driver())
	}
	return newConnector(c, current, t)
}

// ConnectorFunc is Connector with the Instrumentation chosen at each operation, as in
// WrapFunc.
func ConnectorFunc(driverName, dsn string, current func() *Instrumentation, opts ...Option) (driver.Connector, error) {
	info := parseDSN(dsn)
	t := &target{host: info.host, port: info.port, password: info.password}
	for _, o := range opts {
		o(t)
	}
	d, err := lookupDriver(driverName, dsn)
	if err != nil {
		return nil, &dsnError{err: err, text: cleanText(t, scrub.Default(), err.Error())}
	}
	if t.system == "" {
		if t.system = systemOfName(driverName); t.system == "" {
			t.system = systemOfDriver(d)
		}
	}
	var base driver.Connector
	if dc, ok := d.(driver.DriverContext); ok {
		base, err = dc.OpenConnector(dsn)
		if err != nil {
			return nil, &dsnError{err: err, text: cleanText(t, scrub.Default(), err.Error())}
		}
	} else {
		base = dsnConnector{dsn: dsn, d: d}
	}
	return newConnector(base, current, t), nil
}

// dsnError is a driver's complaint about a DSN, with the password and other secrets cut
// out of its text; errors.Is and errors.As still see the driver's error.
type dsnError struct {
	err  error
	text string
}

func (e *dsnError) Error() string { return "dbsql: " + e.text }
func (e *dsnError) Unwrap() error { return e.err }

// lookupDriver finds a registered driver by name the one way database/sql allows:
// sql.Open looks it up (and checks dsn) without connecting.
func lookupDriver(name, dsn string) (driver.Driver, error) {
	db, err := sql.Open(name, dsn)
	if err != nil {
		return nil, err
	}
	d := db.Driver()
	_ = db.Close()
	return d, nil
}

// dsnConnector is database/sql's own fallback for drivers without OpenConnector.
type dsnConnector struct {
	dsn string
	d   driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// target is what one wrapped connector knows about its database.
type target struct {
	system   string
	host     string
	port     int
	password string // from the DSN, only to cut it out of error text
	dialect  dialect
	attrs    []attribute.KeyValue // system and server, on every span
}

func (t *target) finish() {
	if t.system == "" {
		t.system = "other_sql"
	}
	t.dialect = dialectOf(t.system)
	t.attrs = []attribute.KeyValue{AttrSystem.String(t.system)}
	if t.host != "" {
		t.attrs = append(t.attrs, attrServerAddr.String(limits.Truncate(t.host, limits.AttrValue)))
		if t.port > 0 {
			t.attrs = append(t.attrs, attrServerPort.Int(t.port))
		}
	}
}

// state is one connector's recording state for one Instrumentation: the statements it
// has read.
type state struct {
	in *Instrumentation
	t  *target

	cache   sync.Map // query string -> *op
	entries atomic.Int32

	begin, commit, rollback, connect *op
}

// op is everything an operation's telemetry needs that depends only on its statement:
// read once per statement, so an operation costs one map lookup before its span.
type op struct {
	statement
	spanName  string
	startOpts []trace.SpanStartOption
	// attrs are set after the start: passed as a start option, the SDK would copy them
	// once more.
	attrs     []attribute.KeyValue
	timer     atomic.Pointer[metrics.Timer] // the bound series, once observed
	slowAttrs []slog.Attr
}

// observe records d in o's series, bound at the first observation so that an
// operation never run has no series.
func (s *state) observe(ctx context.Context, o *op, d time.Duration) {
	t := o.timer.Load()
	if t == nil {
		t = s.in.duration.With(s.t.system, o.op, o.table)
		o.timer.Store(t)
	}
	t.ObserveContext(ctx, d)
}

func newState(in *Instrumentation, t *target) *state {
	s := &state{in: in, t: t}
	s.begin = s.newOp(statement{op: "BEGIN"})
	s.commit = s.newOp(statement{op: "COMMIT"})
	s.rollback = s.newOp(statement{op: "ROLLBACK"})
	s.connect = s.newOp(statement{op: "CONNECT"})
	return s
}

func (s *state) newOp(st statement) *op {
	o := &op{statement: st}
	switch {
	case st.op != "" && st.table != "":
		o.spanName = st.op + " " + st.table
	case st.op != "":
		o.spanName = st.op
	default:
		o.spanName = s.t.system
	}
	attrs := make([]attribute.KeyValue, 0, len(s.t.attrs)+3)
	attrs = append(attrs, s.t.attrs...)
	if st.op != "" {
		attrs = append(attrs, AttrOperation.String(st.op))
	}
	if st.table != "" {
		attrs = append(attrs, AttrCollection.String(limits.Truncate(st.table, limits.AttrValue)))
	}
	if st.text != "" {
		attrs = append(attrs, AttrQueryText.String(st.text))
	}
	o.startOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	o.attrs = attrs
	o.slowAttrs = []slog.Attr{slog.String(string(AttrSystem), s.t.system)}
	if st.op != "" {
		o.slowAttrs = append(o.slowAttrs, slog.String(string(AttrOperation), st.op))
	}
	if st.table != "" {
		o.slowAttrs = append(o.slowAttrs, slog.String(string(AttrCollection), st.table))
	}
	if st.text != "" {
		o.slowAttrs = append(o.slowAttrs, slog.String(string(AttrQueryText), st.text))
	}
	return o
}

// lookup returns the op of query, read once and remembered (up to
// limits.QueryCacheEntries statements of at most limits.QueryCacheKey bytes; a full
// cache starts over, so a program that builds statements with literals in them costs a
// reading per statement, never memory).
func (s *state) lookup(query string) *op {
	if v, ok := s.cache.Load(query); ok {
		return v.(*op)
	}
	o := s.newOp(sanitize(query, s.t.dialect))
	if len(query) <= limits.QueryCacheKey {
		if s.entries.Add(1) > limits.QueryCacheEntries {
			s.cache.Clear()
			s.entries.Store(1)
		}
		s.cache.Store(query, o)
	}
	return o
}

// started is an operation in flight.
type started struct {
	ctx   context.Context // with the span
	span  trace.Span
	start time.Time
}

// beginSpan starts o's span now.
func (s *state) beginSpan(ctx context.Context, o *op) started {
	start := time.Now()
	ctx, span := s.in.tracer.Start(ctx, o.spanName, o.startOpts...)
	span.SetAttributes(o.attrs...)
	return started{ctx: ctx, span: span, start: start}
}

// after starts o's span back-dated to start, for an operation recorded only once it
// failed (preparing a statement).
func (s *state) after(ctx context.Context, o *op, start time.Time) started {
	ctx, span := s.in.tracer.Start(ctx, o.spanName, append(o.startOpts, trace.WithTimestamp(start))...)
	span.SetAttributes(o.attrs...)
	return started{ctx: ctx, span: span, start: start}
}

// finish ends the operation: span, histogram, error counter, slow query line.
func (s *state) finish(st started, o *op, err error) {
	d := time.Since(st.start)
	var etype string
	if err != nil {
		etype = errorType(err)
		st.span.SetAttributes(AttrErrorType.String(etype))
		st.span.SetStatus(codes.Error, s.errorText(err))
		if s.in.errors != nil {
			s.in.errors.With(s.t.system, o.op, o.table, etype).Inc()
		}
	}
	st.span.End()
	if s.in.duration != nil {
		s.observe(st.ctx, o, d)
	}
	if s.in.logger != nil && s.in.slow > 0 && d >= s.in.slow {
		attrs := append(o.slowAttrs[:len(o.slowAttrs):len(o.slowAttrs)],
			slog.Float64("duration_ms", float64(d)/float64(time.Millisecond)))
		if err != nil {
			attrs = append(attrs, slog.String(string(AttrErrorType), etype))
		}
		s.in.logger.LogAttrs(st.ctx, slog.LevelWarn, "slow database query", attrs...)
	}
}

// errorText is err's text as spans may show it: literals replaced as in statements, the
// DSN's password and other secrets cut out, bounded.
func (s *state) errorText(err error) string {
	return cleanText(s.t, s.in.scrub, err.Error())
}

func cleanText(t *target, m *scrub.Matcher, text string) string {
	if t.password != "" {
		text = strings.ReplaceAll(text, t.password, scrub.Redacted)
	}
	return limits.Truncate(m.Text(sanitizeText(text)), limits.AttrValue)
}

// sanitizeText replaces the literals of an error message: quoted text and numbers that
// are not part of a word.
func sanitizeText(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		c := msg[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(msg[i+1:], c)
			b.WriteByte(c)
			b.WriteByte('?')
			if j < 0 {
				return b.String()
			}
			b.WriteByte(c)
			i += j + 2
		case isDigit(c) && (i == 0 || !isWordByte(msg[i-1])):
			j := i
			for j < len(msg) && (isWordByte(msg[j]) || msg[j] == '.' && j+1 < len(msg) && isDigit(msg[j+1])) {
				j++
			}
			b.WriteByte('?')
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// errorType is error.type: the SQLSTATE where the driver reports one, else the error's
// Go type; both come from small sets, as a label must.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	case errors.Is(err, driver.ErrBadConn):
		return "driver.ErrBadConn"
	}
	var se interface{ SQLState() string }
	if errors.As(err, &se) {
		if code := se.SQLState(); len(code) == 5 && isCode(code) {
			return code
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		t := reflect.TypeOf(e).String()
		if !strings.HasPrefix(t, "*fmt.") && !strings.HasPrefix(t, "*errors.") {
			return limits.Truncate(t, limits.LabelValue)
		}
	}
	return "_OTHER"
}

func isCode(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !('A' <= s[i] && s[i] <= 'Z') {
			return false
		}
	}
	return true
}

// comment returns query with a sqlcommenter comment carrying sc's traceparent, or
// query unchanged when sc is invalid or query has a comment already (the format's rule:
// a statement with a comment is not touched).
func comment(query string, sc trace.SpanContext) string {
	if !sc.IsValid() || strings.Contains(query, "/*") {
		return query
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	var b strings.Builder
	body := strings.TrimRight(query, " \t\r\n")
	semi := strings.HasSuffix(body, ";")
	body = strings.TrimSuffix(body, ";")
	b.Grow(len(body) + 72)
	b.WriteString(body)
	b.WriteString(" /*traceparent='00-")
	b.WriteString(tid.String())
	b.WriteByte('-')
	b.WriteString(sid.String())
	if sc.IsSampled() {
		b.WriteString("-01'*/")
	} else {
		b.WriteString("-00'*/")
	}
	if semi {
		b.WriteByte(';')
	}
	return b.String()
}

// firstErr is the first error that matters of a and b; io.EOF ends rows normally.
func firstErr(a, b error) error {
	if a != nil && a != io.EOF {
		return a
	}
	return b
}
