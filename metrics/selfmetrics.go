package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The registry's own metrics, exported with every scrape so that what was dropped,
// capped or misused is visible where the rest is.
var (
	descSeries = prometheus.NewDesc("vigil_metrics_series",
		"Series held by a metric family, its overflow series included.", []string{"metric"}, nil)
	descOverflow = prometheus.NewDesc("vigil_metrics_overflow_total",
		"Lookups routed to the overflow series because the family reached its series limit.", []string{"metric"}, nil)
	descMismatch = prometheus.NewDesc("vigil_metrics_label_errors_total",
		"Uses with a wrong number of label values (not exported).", []string{"metric"}, nil)
	descInvalid = prometheus.NewDesc("vigil_metrics_invalid_values_total",
		"Values ignored as invalid: NaN, or a negative counter increment.", []string{"metric"}, nil)
	descStatsDPackets = prometheus.NewDesc("vigil_metrics_statsd_packets_total",
		"StatsD packets sent.", nil, nil)
	descStatsDDropped = prometheus.NewDesc("vigil_metrics_statsd_dropped_total",
		"StatsD lines dropped, by reason: unresolved, send, oversize, deadline, non_finite.", []string{"reason"}, nil)
	descStatsDThinned = prometheus.NewDesc("vigil_metrics_statsd_samples_thinned_total",
		"Histogram and timer samples left out by reservoir sampling (sent lines carry @rate).", nil, nil)
	descPushes = prometheus.NewDesc("vigil_metrics_pushes_total",
		"Pushes attempted, by target: pushgateway, graphite.", []string{"target"}, nil)
	descPushFailures = prometheus.NewDesc("vigil_metrics_push_failures_total",
		"Pushes that failed, by target: pushgateway, graphite.", []string{"target"}, nil)
)

type selfCollector struct{ r *Registry }

func (c selfCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSeries, descOverflow, descMismatch, descInvalid,
		descStatsDPackets, descStatsDDropped, descStatsDThinned, descPushes, descPushFailures} {
		ch <- d
	}
}

func (c selfCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.r
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, f := range *r.list.Load() {
		if f.kind == kindCounterFunc || f.kind == kindGaugeFunc {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descSeries, prometheus.GaugeValue, float64(f.series()), f.name)
		counter(descOverflow, f.overflows.Load(), f.name)
		counter(descMismatch, f.mismatches.Load(), f.name)
		counter(descInvalid, f.invalid.Load(), f.name)
	}
	if s := r.statsd; s != nil {
		counter(descStatsDPackets, s.packets.Load())
		for i := range s.dropped {
			counter(descStatsDDropped, s.dropped[i].Load(), dropReasonNames[i])
		}
		counter(descStatsDThinned, s.thinned.Load())
	}
	// From cfg, not r.pusher/r.graphite: a push loop started by New gathers (and so runs
	// this) while New is still assigning the later backends.
	for i, on := range []bool{r.cfg.Push.URL != "", r.cfg.Graphite.Addr != ""} {
		if on {
			counter(descPushes, r.pushes[i].Load(), targetNames[i])
			counter(descPushFailures, r.pushFailures[i].Load(), targetNames[i])
		}
	}
}
