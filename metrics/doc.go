// Package metrics is a Registry of counters, gauges, histograms and timers exposed to
// Prometheus and, when configured, pushed to StatsD or a Pushgateway.
package metrics
