// Command batch is a batch job that reports to a Prometheus Pushgateway: it pushes
// while it runs and once more when it finishes, so the last state survives the process.
//
//	go run ./examples/batch -pushgateway http://localhost:9091
//
// Without -pushgateway (or VIGIL_PUSHGATEWAY_URL) it prints what it would push.
package main

import (
	"context"
	"flag"
	"log"
	"math/rand/v2"
	"os"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/vigil-go/vigil/metrics"
)

func main() {
	url := flag.String("pushgateway", os.Getenv("VIGIL_PUSHGATEWAY_URL"), "Pushgateway URL")
	job := flag.String("job", "nightly_export", "job name (the Pushgateway group)")
	rows := flag.Int("rows", 500, "rows to process")
	flag.Parse()

	reg, err := metrics.New(metrics.Config{
		Service:              *job,
		Push:                 metrics.PushConfig{URL: *url, Job: *job, Interval: 2 * time.Second},
		DisableHostCollector: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	processed, _ := reg.Counter("batch_rows_processed_total", "Rows processed.", "result")
	duration, _ := reg.Timer("batch_row_duration_seconds", "Time per row.")
	lastSuccess, _ := reg.Gauge("batch_last_success_timestamp_seconds", "When the job last finished.")

	ok, failed := processed.With("ok"), processed.With("failed")
	for range *rows {
		sw := duration.Start()
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) // the work
		sw.Stop()
		if rand.IntN(50) == 0 {
			failed.Inc()
		} else {
			ok.Inc()
		}
	}
	lastSuccess.Set(float64(time.Now().Unix()))

	if *url == "" {
		log.Printf("no -pushgateway given; this is what would be pushed as job %q:", *job)
		mfs, err := reg.Prometheus().Gather()
		if err != nil {
			log.Fatal(err)
		}
		enc := expfmt.NewEncoder(os.Stdout, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if len(mf.GetName()) > 5 && mf.GetName()[:5] == "batch" {
				_ = enc.Encode(mf)
			}
		}
	}
	// Shutdown makes the final push; give it a deadline so a dead gateway cannot hang the job.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := reg.Shutdown(ctx); err != nil {
		log.Printf("final push: %v", err)
		os.Exit(1)
	}
}
