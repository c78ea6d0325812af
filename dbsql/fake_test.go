package dbsql_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// fakeDriver is a driver that records the statements it receives. A statement
// containing FAIL fails with an error that quotes it and the DSN, as careless drivers'
// errors do; one containing SKIP is declined (driver.ErrSkip) unless prepared. With
// legacy set, its connections have none of the optional interfaces.
type fakeDriver struct {
	mu      sync.Mutex
	queries []string
	legacy  bool
}

var (
	fake       = &fakeDriver{}
	fakeLegacy = &fakeDriver{legacy: true}
)

func init() {
	sql.Register("vigilfake", fake)
	sql.Register("vigilfakelegacy", fakeLegacy)
	sql.Register("vigilfakebaddsn", badDSNDriver{})
}

func (d *fakeDriver) record(q string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.queries = append(d.queries, q)
}

func (d *fakeDriver) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queries
	d.queries = nil
	return q
}

func (d *fakeDriver) Open(dsn string) (driver.Conn, error) {
	if d.legacy {
		return &legacyConn{d: d, dsn: dsn}, nil
	}
	return &fakeConn{legacyConn{d: d, dsn: dsn}}, nil
}

type legacyConn struct {
	d   *fakeDriver
	dsn string
}

func (c *legacyConn) run(q string) error {
	c.d.record(q)
	if strings.Contains(q, "FAIL") {
		return fmt.Errorf("fake: cannot run %q on %s", q, c.dsn)
	}
	return nil
}

func (c *legacyConn) Prepare(q string) (driver.Stmt, error) { return &fakeStmt{c: c, q: q}, nil }
func (c *legacyConn) Close() error                          { return nil }
func (c *legacyConn) Begin() (driver.Tx, error)             { return fakeTx{}, nil }

type fakeConn struct{ legacyConn }

func (c *fakeConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if strings.Contains(q, "SKIP") {
		return nil, driver.ErrSkip
	}
	if err := c.run(q); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}

func (c *fakeConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if strings.Contains(q, "SKIP") {
		return nil, driver.ErrSkip
	}
	if err := c.run(q); err != nil {
		return nil, err
	}
	return &fakeRows{}, nil
}

type fakeStmt struct {
	c *legacyConn
	q string
}

func (s *fakeStmt) Close() error  { return nil }
func (s *fakeStmt) NumInput() int { return -1 }
func (s *fakeStmt) Exec([]driver.Value) (driver.Result, error) {
	return driver.RowsAffected(1), s.c.run("prepared: " + s.q)
}

func (s *fakeStmt) Query([]driver.Value) (driver.Rows, error) {
	if err := s.c.run("prepared: " + s.q); err != nil {
		return nil, err
	}
	return &fakeRows{}, nil
}

type fakeTx struct{}

func (fakeTx) Commit() error   { return nil }
func (fakeTx) Rollback() error { return nil }

type fakeRows struct{ n int }

func (r *fakeRows) Columns() []string { return []string{"n"} }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.n > 0 {
		return io.EOF
	}
	r.n++
	dest[0] = int64(1)
	return nil
}

// badDSNDriver's connector refuses every DSN, quoting it.
type badDSNDriver struct{}

var errBadDSN = errors.New("bad dsn")

func (badDSNDriver) Open(string) (driver.Conn, error) { return nil, errBadDSN }
func (badDSNDriver) OpenConnector(dsn string) (driver.Connector, error) {
	return nil, fmt.Errorf("cannot parse %q: %w", dsn, errBadDSN)
}
