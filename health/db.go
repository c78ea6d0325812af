package health

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DB returns a check that pings db (PingContext): it passes when the pool hands out a
// connection the driver reports alive within the check's timeout.
//
// A ping waits for a free connection like any query, so when every connection is busy
// the check times out although the database is up. The error then says so (with the
// pool's counts), since the fix is the pool size or the load, not the database.
func DB(db *sql.DB) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if db == nil {
			return errors.New("no *sql.DB")
		}
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		if s := db.Stats(); s.MaxOpenConnections > 0 && s.InUse >= s.MaxOpenConnections {
			return fmt.Errorf("%w (all %d connections in use, %d callers waited so far)", err, s.InUse, s.WaitCount)
		}
		return err
	}
}
