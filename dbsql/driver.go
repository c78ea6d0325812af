package dbsql

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"sync/atomic"
	"time"
)

func now() time.Time { return time.Now() }

// The wrappers below implement every optional interface of database/sql/driver, and
// where the driver's value lacks one they do what database/sql does in its absence, so
// a wrapped driver behaves as the bare one: ErrSkip where database/sql falls back,
// the defaults it would apply, the same errors.

// connector wraps a driver.Connector.
type connector struct {
	base    driver.Connector
	current func() *Instrumentation
	t       *target
	cur     atomic.Pointer[state]
}

func newConnector(base driver.Connector, current func() *Instrumentation, t *target) *connector {
	t.finish()
	return &connector{base: base, current: current, t: t}
}

// state returns the recording state for the current Instrumentation: one load and a
// comparison when it has not changed.
func (c *connector) state() *state {
	in := c.current()
	if s := c.cur.Load(); s != nil && s.in == in {
		return s
	}
	s := newState(in, c.t)
	c.cur.Store(s)
	return s
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	s := c.state()
	st := s.beginSpan(ctx, s.connect)
	cn, err := c.base.Connect(ctx)
	s.finish(st, s.connect, err)
	if err != nil {
		return nil, err
	}
	return &conn{base: cn, c: c}, nil
}

func (c *connector) Driver() driver.Driver { return &wrappedDriver{base: c.base.Driver(), c: c} }

// Close closes the base connector when it is an io.Closer, as sql.DB.Close would.
func (c *connector) Close() error {
	if cl, ok := c.base.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// wrappedDriver is what sql.DB.Driver returns: the base driver, whose connections are
// wrapped too.
type wrappedDriver struct {
	base driver.Driver
	c    *connector
}

func (d *wrappedDriver) Open(name string) (driver.Conn, error) {
	cn, err := d.base.Open(name)
	if err != nil {
		return nil, err
	}
	return &conn{base: cn, c: d.c}, nil
}

// Unwrap returns the driver's own connection inside a connection dbsql wrapped (as
// sql.Conn.Raw passes it), for code that needs the driver's type; any other value is
// returned as it is.
func Unwrap(c any) any {
	if w, ok := c.(*conn); ok {
		return w.base
	}
	return c
}

// conn wraps a driver.Conn. database/sql uses a connection from one goroutine at a
// time.
type conn struct {
	base driver.Conn
	c    *connector
	// declined is a statement the driver declined (driver.ErrSkip) whose span is open:
	// database/sql prepares and runs the same statement on this connection next, and
	// that execution ends it, so the span covers what the statement cost in all.
	declined *declined
}

type declined struct {
	query string
	op    *op
	st    started
	state *state
}

// settle ends a declined statement's span that no preparation took over.
func (c *conn) settle() {
	if d := c.declined; d != nil {
		c.declined = nil
		d.state.finish(d.st, d.op, nil)
	}
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var adopted *declined
	if d := c.declined; d != nil && d.query == query {
		adopted, c.declined = d, nil
	}
	c.settle()
	s := c.c.state()
	var (
		st  driver.Stmt
		err error
	)
	start := now()
	if pc, ok := c.base.(driver.ConnPrepareContext); ok {
		st, err = pc.PrepareContext(ctx, query)
	} else {
		st, err = c.base.Prepare(query)
		if err == nil {
			select {
			case <-ctx.Done():
				_ = st.Close()
				st, err = nil, ctx.Err()
			default:
			}
		}
	}
	o := s.lookup(query)
	if err != nil {
		// Preparing costs little and is not recorded, but its failure (a syntax error,
		// a missing table) is what the request's trace must show.
		if adopted != nil {
			adopted.state.finish(adopted.st, adopted.op, err)
		} else {
			s.finish(s.after(ctx, o, start), o, err)
		}
		return nil, err
	}
	w := &stmt{base: st, conn: c, query: query, op: o, state: s, adopted: adopted}
	//lint:ignore SA1019 database/sql still consults it
	if _, ok := st.(driver.ColumnConverter); ok {
		return &stmtCC{w}, nil
	}
	return w, nil
}

func (c *conn) Close() error {
	c.settle()
	return c.base.Close()
}

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.settle()
	s := c.c.state()
	st := s.beginSpan(ctx, s.begin)
	tx, err := c.beginTx(ctx, opts)
	s.finish(st, s.begin, err)
	if err != nil {
		return nil, err
	}
	return &wrappedTx{base: tx, ctx: ctx, c: c}, nil
}

// beginTx is database/sql's ctxDriverBegin.
func (c *conn) beginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if bt, ok := c.base.(driver.ConnBeginTx); ok {
		return bt.BeginTx(ctx, opts)
	}
	if ctx.Done() != nil {
		if opts.Isolation != driver.IsolationLevel(0) {
			return nil, errors.New("sql: driver does not support non-default isolation level")
		}
		if opts.ReadOnly {
			return nil, errors.New("sql: driver does not support read-only transactions")
		}
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	default:
	}
	//lint:ignore SA1019 the fallback database/sql itself uses for drivers without BeginTx
	return c.base.Begin()
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ec, okc := c.base.(driver.ExecerContext)
	//lint:ignore SA1019 the fallback database/sql itself uses
	e, ok := c.base.(driver.Execer)
	if !okc && !ok {
		return nil, driver.ErrSkip
	}
	c.settle()
	s := c.c.state()
	o := s.lookup(query)
	exec := func(ctx context.Context, q string) (driver.Result, error) {
		if okc {
			return ec.ExecContext(ctx, q, args)
		}
		vals, err := legacyArgs(ctx, args)
		if err != nil {
			return nil, err
		}
		return e.Exec(q, vals)
	}
	st := s.beginSpan(ctx, o)
	q := query
	if s.in.comment {
		q = comment(query, st.span.SpanContext())
	}
	r, err := exec(st.ctx, q)
	if err == driver.ErrSkip {
		c.declined = &declined{query: query, op: o, st: st, state: s}
		return nil, err
	}
	s.finish(st, o, err)
	return r, err
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	qc, okc := c.base.(driver.QueryerContext)
	//lint:ignore SA1019 the fallback database/sql itself uses
	q, ok := c.base.(driver.Queryer)
	if !okc && !ok {
		return nil, driver.ErrSkip
	}
	c.settle()
	s := c.c.state()
	o := s.lookup(query)
	query1 := func(ctx context.Context, text string) (driver.Rows, error) {
		if okc {
			return qc.QueryContext(ctx, text, args)
		}
		vals, err := legacyArgs(ctx, args)
		if err != nil {
			return nil, err
		}
		return q.Query(text, vals)
	}
	st := s.beginSpan(ctx, o)
	q1 := query
	if s.in.comment {
		q1 = comment(query, st.span.SpanContext())
	}
	rows, err := query1(st.ctx, q1)
	if err == driver.ErrSkip {
		c.declined = &declined{query: query, op: o, st: st, state: s}
		return nil, err
	}
	if err != nil {
		s.finish(st, o, err)
		return nil, err
	}
	return wrapRows(rows, s, o, st), nil
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.base.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.base.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.base.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.base.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// stmt wraps a driver.Stmt; its executions are recorded with the prepared text.
type stmt struct {
	base  driver.Stmt
	conn  *conn
	query string
	// op was read by state; database/sql uses a statement from one goroutine at a time.
	op    *op
	state *state
	// adopted is the declined statement's open span, which the first execution ends.
	adopted *declined
}

// current returns the recording state and the statement's op in it.
func (s *stmt) current() (*state, *op) {
	st := s.conn.c.state()
	if st != s.state {
		s.op, s.state = st.lookup(s.query), st
	}
	return st, s.op
}

// stmtCC is a stmt whose driver converts arguments per column (the older
// driver.ColumnConverter interface); database/sql must see that.
type stmtCC struct{ *stmt }

func (s stmtCC) ColumnConverter(idx int) driver.ValueConverter {
	//lint:ignore SA1019 database/sql still consults it
	return s.base.(driver.ColumnConverter).ColumnConverter(idx)
}

func (s *stmt) Close() error {
	if d := s.adopted; d != nil {
		s.adopted = nil
		d.state.finish(d.st, d.op, nil)
	}
	return s.base.Close()
}

// begin starts the span of an execution, or takes over the declined statement's.
func (s *stmt) begin(ctx context.Context) (*state, *op, started) {
	if d := s.adopted; d != nil {
		s.adopted = nil
		return d.state, d.op, d.st
	}
	st, o := s.current()
	return st, o, st.beginSpan(ctx, o)
}
func (s *stmt) NumInput() int { return s.base.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	//lint:ignore SA1019 part of driver.Stmt, passed on
	return s.base.Exec(args)
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	//lint:ignore SA1019 part of driver.Stmt, passed on
	return s.base.Query(args)
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	st, o, sp := s.begin(ctx)
	ctx = sp.ctx
	var (
		r   driver.Result
		err error
	)
	if ec, ok := s.base.(driver.StmtExecContext); ok {
		r, err = ec.ExecContext(ctx, args)
	} else {
		var vals []driver.Value
		if vals, err = legacyArgs(ctx, args); err == nil {
			//lint:ignore SA1019 the fallback database/sql itself uses
			r, err = s.base.Exec(vals)
		}
	}
	st.finish(sp, o, err)
	return r, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	st, o, sp := s.begin(ctx)
	ctx = sp.ctx
	var (
		rows driver.Rows
		err  error
	)
	if qc, ok := s.base.(driver.StmtQueryContext); ok {
		rows, err = qc.QueryContext(ctx, args)
	} else {
		var vals []driver.Value
		if vals, err = legacyArgs(ctx, args); err == nil {
			//lint:ignore SA1019 the fallback database/sql itself uses
			rows, err = s.base.Query(vals)
		}
	}
	if err != nil {
		st.finish(sp, o, err)
		return nil, err
	}
	return wrapRows(rows, st, o, sp), nil
}

// CheckNamedValue asks the statement, then the connection, as database/sql does.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.base.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

// wrappedTx records the end of a transaction.
type wrappedTx struct {
	base driver.Tx
	ctx  context.Context // BeginTx's: the spans of COMMIT and ROLLBACK are its children
	c    *conn
}

func (t *wrappedTx) Commit() error {
	t.c.settle()
	s := t.c.c.state()
	st := s.beginSpan(t.ctx, s.commit)
	err := t.base.Commit()
	s.finish(st, s.commit, err)
	return err
}

func (t *wrappedTx) Rollback() error {
	t.c.settle()
	s := t.c.c.state()
	st := s.beginSpan(t.ctx, s.rollback)
	err := t.base.Rollback()
	s.finish(st, s.rollback, err)
	return err
}

// rows wraps driver.Rows: the query's span ends when the rows are closed, so it covers
// reading them, and an error while reading is recorded.
type rows struct {
	base driver.Rows
	s    *state
	op   *op
	st   started
	err  error
	done bool
}

func wrapRows(r driver.Rows, s *state, o *op, st started) driver.Rows {
	return &rows{base: r, s: s, op: o, st: st}
}

func (r *rows) Columns() []string { return r.base.Columns() }

func (r *rows) Close() error {
	err := r.base.Close()
	if !r.done {
		r.done = true
		r.s.finish(r.st, r.op, firstErr(r.err, err))
	}
	return err
}

func (r *rows) Next(dest []driver.Value) error {
	err := r.base.Next(dest)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return err
}

func (r *rows) HasNextResultSet() bool {
	if n, ok := r.base.(driver.RowsNextResultSet); ok {
		return n.HasNextResultSet()
	}
	return false
}

func (r *rows) NextResultSet() error {
	if n, ok := r.base.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

var anyType = reflect.TypeFor[any]()

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if c, ok := r.base.(driver.RowsColumnTypeScanType); ok {
		return c.ColumnTypeScanType(i)
	}
	return anyType
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if c, ok := r.base.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return c.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	if c, ok := r.base.(driver.RowsColumnTypeLength); ok {
		return c.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *rows) ColumnTypeNullable(i int) (bool, bool) {
	if c, ok := r.base.(driver.RowsColumnTypeNullable); ok {
		return c.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if c, ok := r.base.(driver.RowsColumnTypePrecisionScale); ok {
		return c.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

// legacyArgs is what database/sql does before calling a driver without the context
// interfaces: convert the arguments (no named ones) and give up if ctx is done.
func legacyArgs(ctx context.Context, named []driver.NamedValue) ([]driver.Value, error) {
	vals, err := namedValueToValue(named)
	if err == nil {
		err = ctx.Err()
	}
	return vals, err
}

// namedValueToValue is database/sql's conversion for drivers without the context
// interfaces.
func namedValueToValue(named []driver.NamedValue) ([]driver.Value, error) {
	args := make([]driver.Value, len(named))
	for i, nv := range named {
		if nv.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		args[i] = nv.Value
	}
	return args, nil
}
