package console

import (
	"runtime"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

type counterView struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
}

type exporterView struct {
	Name          string `json:"name"`
	LastOK        string `json:"last_ok"`
	LastError     string `json:"last_error"`
	LastErrorTime string `json:"last_error_time"`
}

type runtimeView struct {
	Goroutines     int     `json:"goroutines"`
	HeapAlloc      uint64  `json:"heap_alloc"`
	HeapSys        uint64  `json:"heap_sys"`
	NumGC          uint32  `json:"num_gc"`
	GCPauseTotalMS float64 `json:"gc_pause_total_ms"`
	UptimeS        float64 `json:"uptime_s"`
}

type limitsView struct {
	ErrorGroups    int `json:"error_groups"`
	GroupEvents    int `json:"events_per_group"`
	ErrorBytes     int `json:"error_bytes"`
	Traces         int `json:"traces"`
	TraceBytes     int `json:"trace_bytes"`
	Spans          int `json:"spans"`
	LogLines       int `json:"log_lines"`
	LogBytes       int `json:"log_bytes"`
	LogLine        int `json:"log_line_bytes"`
	HeldErrorBytes int `json:"held_error_bytes"`
	HeldTraceBytes int `json:"held_trace_bytes"`
	HeldLogBytes   int `json:"held_log_bytes"`
}

type selfView struct {
	Counters  []counterView  `json:"counters"`
	Exporters []exporterView `json:"exporters"`
	Config    []Setting      `json:"config"`
	Runtime   runtimeView    `json:"runtime"`
	Limits    limitsView     `json:"limits"`
}

// self reports vigil's own state: its counters (every vigil_* series), exporters,
// effective configuration, the runtime, and the console's bounds and usage.
func (c *Console) self() selfView {
	out := selfView{Counters: []counterView{}, Exporters: []exporterView{}, Config: c.opts.Config}
	if out.Config == nil {
		out.Config = []Setting{}
	}
	if c.opts.Gatherer != nil {
		fams, _ := c.opts.Gatherer.Gather()
		for _, f := range fams {
			if !strings.HasPrefix(f.GetName(), "vigil_") {
				continue
			}
			for _, m := range f.GetMetric() {
				v := counterView{Name: f.GetName(), Labels: map[string]string{}}
				for _, l := range m.GetLabel() {
					v.Labels[l.GetName()] = l.GetValue()
				}
				switch f.GetType() {
				case dto.MetricType_COUNTER:
					v.Value = m.GetCounter().GetValue()
				case dto.MetricType_GAUGE:
					v.Value = m.GetGauge().GetValue()
				case dto.MetricType_UNTYPED:
					v.Value = m.GetUntyped().GetValue()
				default:
					continue
				}
				out.Counters = append(out.Counters, v)
			}
		}
		sort.SliceStable(out.Counters, func(i, j int) bool { return out.Counters[i].Name < out.Counters[j].Name })
	}
	if c.opts.Exporters != nil {
		for _, e := range c.opts.Exporters() {
			out.Exporters = append(out.Exporters, exporterView{Name: e.Name, LastOK: stamp(e.LastOK),
				LastError: clip(e.LastError), LastErrorTime: stamp(e.LastErrorTime)})
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out.Runtime = runtimeView{
		Goroutines:     runtime.NumGoroutine(),
		HeapAlloc:      ms.HeapAlloc,
		HeapSys:        ms.HeapSys,
		NumGC:          ms.NumGC,
		GCPauseTotalMS: float64(ms.PauseTotalNs) / 1e6,
		UptimeS:        c.now().Sub(c.start).Seconds(),
	}
	c.errs.mu.Lock()
	eb := c.errs.bytes
	c.errs.mu.Unlock()
	c.traces.mu.Lock()
	tb := c.traces.bytes
	c.traces.mu.Unlock()
	c.logs.mu.Lock()
	lb := c.logs.bytes
	c.logs.mu.Unlock()
	out.Limits = limitsView{
		ErrorGroups: MaxErrorGroups, GroupEvents: MaxGroupEvents, ErrorBytes: MaxErrorBytes,
		Traces: MaxTraces, TraceBytes: MaxTraceBytes, Spans: MaxSpans,
		LogLines: MaxLogLines, LogBytes: MaxLogBytes, LogLine: MaxLogLine,
		HeldErrorBytes: eb, HeldTraceBytes: tb, HeldLogBytes: lb,
	}
	return out
}
