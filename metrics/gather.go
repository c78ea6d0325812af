package metrics

import (
	"errors"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// Gatherer returns what Handler serves: the registry's families, then those of
// Config.Gatherers (package observe passes prometheus.DefaultGatherer) whose names
// the registry does not already have, with OpenMetrics name clashes removed (see
// below). Serve it from another handler, or combine it with other gatherers:
//
//	http.Handle("/metrics", promhttp.HandlerFor(reg.Gatherer(), promhttp.HandlerOpts{}))
//
// A family is served once, by the first gatherer that has it: vigil's Go and process
// collectors win over the default registry's, so the two never collide as they would
// in prometheus.Gatherers ("collected before with the same name and label values").
//
// In OpenMetrics a counter family drops its _total suffix, so a counter foo_total
// and a gauge foo are two families named foo, which strict parsers reject and
// Prometheus records as one (the Go collector's go_memstats_alloc_bytes and
// go_memstats_alloc_bytes_total are such a pair). The counter is left out in both
// formats, so text and OpenMetrics scrapes agree; the Go collector adds the same
// count as go_gc_heap_allocs_bytes_total.
func (r *Registry) Gatherer() prometheus.Gatherer {
	gs := make([]prometheus.Gatherer, 0, 1+len(r.cfg.Gatherers))
	gs = append(gs, r.reg)
	for _, g := range r.cfg.Gatherers {
		if g != nil && g != prometheus.Gatherer(r.reg) {
			gs = append(gs, g)
		}
	}
	return &mergedGatherer{gs: gs, r: r}
}

type mergedGatherer struct {
	gs []prometheus.Gatherer
	r  *Registry
}

// Gather collects every gatherer, keeping the first family of each name and what
// each gatherer did collect when it also reports an error.
func (m *mergedGatherer) Gather() ([]*dto.MetricFamily, error) {
	var (
		out  []*dto.MetricFamily
		errs []error
		seen = map[string]bool{}
	)
	for _, g := range m.gs {
		mfs, err := g.Gather()
		if err != nil {
			errs = append(errs, err)
		}
		for _, mf := range mfs {
			if seen[mf.GetName()] {
				continue
			}
			seen[mf.GetName()] = true
			out = append(out, mf)
		}
	}
	out = m.dropClashes(out)
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, errors.Join(errs...)
}

// dropClashes removes counters whose OpenMetrics family name (the name without
// _total) is another family's name.
func (m *mergedGatherer) dropClashes(mfs []*dto.MetricFamily) []*dto.MetricFamily {
	names := make(map[string]bool, len(mfs))
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	kept := mfs[:0]
	for _, mf := range mfs {
		base, isCounter := strings.CutSuffix(mf.GetName(), "_total")
		if isCounter && mf.GetType() == dto.MetricType_COUNTER && names[base] {
			if m.r != nil && m.r.clashLogged(mf.GetName()) {
				m.r.logger.Warn("metrics: counter left out of the exposition: in OpenMetrics its family name is another family's",
					"metric", mf.GetName(), "family", base)
			}
			continue
		}
		kept = append(kept, mf)
	}
	return kept
}

// newGoCollector is the Go runtime collector with, beside the classic go_memstats_*
// families, go_gc_heap_allocs_bytes_total: the cumulative allocation count that
// go_memstats_alloc_bytes_total also holds, under a name that clashes with nothing.
func newGoCollector() prometheus.Collector {
	return collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/allocs:bytes$`)}))
}
