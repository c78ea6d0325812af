package health_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-go/vigil/health"
)

// fakeDB is a driver whose Ping fails while down is set.
type fakeDB struct{ down atomic.Bool }

func (d *fakeDB) Connect(context.Context) (driver.Conn, error) {
	if d.down.Load() {
		return nil, errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")
	}
	return fakeConn{d}, nil
}
func (d *fakeDB) Driver() driver.Driver { return nil }

type fakeConn struct{ d *fakeDB }

func (c fakeConn) Ping(context.Context) error {
	if c.d.down.Load() {
		return errors.New("FATAL: the database system is shutting down")
	}
	return nil
}
func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }

// TestDB: the check follows the database's state, /readyz with it.
func TestDB(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDB{}
		db := sql.OpenDB(fake)
		defer db.Close()
		hc, _ := newChecker(health.Config{})
		must(t, hc.Add("postgres", health.DB(db)))
		h := hc.ReadyzHandler()
		for i, down := range []bool{false, true, false} {
			fake.down.Store(down)
			code, r, _ := probe(t, h, "GET")
			want := 200
			if down {
				want = 503
			}
			if code != want || down && !strings.Contains(r.Checks[0].Error, "shutting down") {
				t.Errorf("step %d (down %v): %d %+v", i, down, code, r.Checks)
			}
			time.Sleep(health.DefaultInterval)
		}
	})
}

// TestDBPoolExhausted: with every connection taken, the ping times out and says why.
func TestDBPoolExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := sql.OpenDB(&fakeDB{})
		defer db.Close()
		db.SetMaxOpenConns(2)
		for range 2 {
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
		}
		hc, _ := newChecker(health.Config{Timeout: 500 * time.Millisecond})
		must(t, hc.Add("postgres", health.DB(db)))
		r := hc.Check(context.Background())
		if got := r.Checks[0]; got.Status != health.StatusFail || got.Latency != 500*time.Millisecond ||
			!strings.Contains(got.Error, "all 2 connections in use") || !strings.Contains(got.Error, "deadline exceeded") {
			t.Errorf("result %+v", got)
		}
	})
}

func TestDBNil(t *testing.T) {
	if err := health.DB(nil)(context.Background()); err == nil {
		t.Error("nil *sql.DB passed")
	}
}

func ExampleDB() {
	db := sql.OpenDB(&fakeDB{}) // sql.Open("postgres", dsn) in a real program
	defer db.Close()
	hc := health.New(health.Config{})
	if err := hc.Add("postgres", health.DB(db), health.Timeout(time.Second)); err != nil {
		fmt.Println(err)
	}
	r := hc.Check(context.Background())
	fmt.Println(r.Status, r.Checks[0].Name, r.Checks[0].Status)
	// Output: ok postgres ok
}
