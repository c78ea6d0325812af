package metrics_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/vigil-go/vigil/metrics"
)

// The registry's Gatherer serves its own families and those of Config.Gatherers (observe
// passes prometheus.DefaultGatherer), each once: a family both have is the registry's.
func ExampleRegistry_Gatherer() {
	legacy := prometheus.NewRegistry() // stands for the default registry
	promauto.With(legacy).NewCounter(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs."}).Add(3)
	promauto.With(legacy).NewGauge(prometheus.GaugeOpts{Name: "queue_depth", Help: "Theirs."}).Set(1)

	reg, err := metrics.New(metrics.Config{
		Gatherers:          []prometheus.Gatherer{legacy},
		DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	depth, _ := reg.Gauge("queue_depth", "Ours.")
	depth.Set(7)

	mfs, _ := reg.Gatherer().Gather()
	for _, mf := range mfs {
		if name := mf.GetName(); name == "jobs_total" || name == "queue_depth" {
			fmt.Println(name, mf.GetHelp())
		}
	}
	// Output:
	// jobs_total Jobs.
	// queue_depth Ours.
}
