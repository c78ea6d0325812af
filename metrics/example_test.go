package metrics_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/vigil-go/vigil/metrics"
)

func Example() {
	reg, err := metrics.New(metrics.Config{
		DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Shutdown(context.Background())

	requests, err := reg.Counter("http_requests_total", "Requests served.", "route", "code")
	if err != nil {
		log.Fatal(err) // a conflicting definition: the name is taken by another kind or labels
	}
	// Bind once per route and code; the bound series' operations cost an atomic add.
	ok := requests.With("/orders/{id}", "200")
	ok.Inc()
	ok.Inc()

	jobs, _ := reg.Timer("job_duration_seconds", "Job run time.")
	func() {
		defer jobs.Start().Stop()
		time.Sleep(time.Millisecond)
	}()

	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "http_requests_total") || strings.HasPrefix(line, "job_duration_seconds_count") {
			fmt.Println(line)
		}
	}
	// Output:
	// http_requests_total{code="200",route="/orders/{id}"} 2
	// job_duration_seconds_count 1
}

func ExampleConfig_statsD() {
	// Every family is also sent to StatsD: counters as their increase per flush, gauges
	// as their last value, histogram and timer samples one by one (timers in ms).
	reg, err := metrics.New(metrics.Config{
		DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true,
		StatsD: metrics.StatsDConfig{Addr: "127.0.0.1:8125", Format: "influx", Prefix: "checkout"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Shutdown(context.Background())
	c, _ := reg.Counter("orders_total", "Orders.", "status")
	c.With("paid").Inc() // sent as "checkout.orders_total,status=paid:1|c" at the next flush
	fmt.Println("ok")
	// Output: ok
}
