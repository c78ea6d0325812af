package health_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // pure Go: the check against a real driver, no server needed

	"github.com/vigil-go/vigil/health"
)

// TestDBSQLite runs the *sql.DB check against a real driver: it passes on an open
// database, says why when every connection is taken, and fails once the pool is closed.
func TestDBSQLite(t *testing.T) {
	db, err := sql.Open("sqlite", "file:health?mode=memory")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	check := health.DB(db)

	if err := check(context.Background()); err != nil {
		t.Fatalf("open database: %v", err)
	}

	conn, err := db.Conn(context.Background()) // the only connection, taken
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := check(ctx); err == nil || !strings.Contains(err.Error(), "all 1 connections in use") {
		t.Errorf("pool exhausted: %v", err)
	}
	conn.Close()

	db.Close()
	if err := check(context.Background()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("closed database: %v", err)
	}
}
