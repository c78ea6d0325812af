package dbsql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace/noop"
	_ "modernc.org/sqlite"

	"github.com/vigil-go/vigil/dbsql"
	"github.com/vigil-go/vigil/metrics"
)

func Example() {
	reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Shutdown(context.Background())
	in, err := dbsql.New(dbsql.Config{TracerProvider: noop.NewTracerProvider(), Registry: reg})
	if err != nil {
		log.Fatal(err)
	}
	c, err := in.Connector("sqlite", "file:example?mode=memory")
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(c) // the program's own call, with its own pool settings
	defer db.Close()
	defer in.Watch(db, "main")()

	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)"); err != nil {
		log.Fatal(err)
	}
	for i := range 3 {
		if _, err := db.ExecContext(ctx, "INSERT INTO orders (id, note) VALUES (?, 'gift')", i); err != nil {
			log.Fatal(err)
		}
	}
	n, _ := testutil.GatherAndCount(reg.Gatherer(), dbsql.MetricDuration)
	fmt.Println("duration series:", n) // CONNECT, CREATE orders, INSERT orders
	// Output:
	// duration series: 3
}
