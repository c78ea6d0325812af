//go:build !linux

package metrics

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

const hostProcRoot = ""

// hostCollector reports nothing outside Linux: procfs is Linux's.
type hostCollector struct{}

func newHostCollector(string, *slog.Logger) prometheus.Collector { return &hostCollector{} }

func (*hostCollector) Describe(chan<- *prometheus.Desc) {}
func (*hostCollector) Collect(chan<- prometheus.Metric) {}
