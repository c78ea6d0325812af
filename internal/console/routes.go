package console

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The histogram the routes view reads: OpenTelemetry's HTTP server duration, as
// vigil's middleware records it.
const (
	durationFamily = "http_server_request_duration_seconds"
	labelMethod    = "http_request_method"
	labelRoute     = "http_route"
	labelStatus    = "http_response_status_code"
	// gRPC calls appear as routes too: the full method, with method "gRPC".
	rpcFamily      = "rpc_server_call_duration_seconds"
	labelRPCMethod = "rpc_method"
	labelRPCStatus = "rpc_response_status_code"
)

// rpcClientErrors are the gRPC codes that blame the caller, counted with 4xx; every
// other code but OK is counted with 5xx.
var rpcClientErrors = map[string]bool{
	"CANCELED": true, "INVALID_ARGUMENT": true, "NOT_FOUND": true, "ALREADY_EXISTS": true,
	"PERMISSION_DENIED": true, "FAILED_PRECONDITION": true, "OUT_OF_RANGE": true, "UNAUTHENTICATED": true,
}

// rateWindow is how far back the request rate looks; snapEvery spaces the snapshots
// kept, which bounds them to a dozen or so however often the view is polled.
const (
	rateWindow = 60 * time.Second
	snapEvery  = 5 * time.Second
)

// routeSampler remembers the request counts of earlier calls of the routes view, so the
// rate covers the last minute without a goroutine sampling in the background.
type routeSampler struct {
	mu    sync.Mutex
	snaps []routeSnap // oldest first; the first is the console's start until it ages out
}

type routeSnap struct {
	at     time.Time
	counts map[string]uint64
}

// bucketView is one histogram bucket as Prometheus exposes it: cumulative, its upper
// bound in milliseconds, the last one "+Inf".
type bucketView struct {
	LE    any    `json:"le"` // float64 milliseconds, or "+Inf"
	Count uint64 `json:"count"`
}

type exemplarView struct {
	ValueMS float64 `json:"value_ms"`
	TraceID string  `json:"trace_id"`
}

type routeView struct {
	Route         string         `json:"route"`
	Method        string         `json:"method"`
	Rate          float64        `json:"rate"`
	Count         uint64         `json:"count"`
	Err4xx        uint64         `json:"err4xx"`
	Err5xx        uint64         `json:"err5xx"`
	P50MS         float64        `json:"p50_ms"`
	P90MS         float64        `json:"p90_ms"`
	P99MS         float64        `json:"p99_ms"`
	DBCallsPerReq float64        `json:"db_calls_per_req"`
	DBMSPerReq    float64        `json:"db_ms_per_req"`
	Buckets       []bucketView   `json:"buckets"`
	Exemplars     []exemplarView `json:"exemplars"`

	bounds []float64 // upper bounds, ascending, +Inf last
	cum    []uint64  // cumulative counts summed over status codes
}

type routesView struct {
	WindowS float64     `json:"window_s"`
	Routes  []routeView `json:"routes"`
}

// routeStats reads the duration histogram from the gatherer and returns RED per
// (method, route), with the database time of the held traces.
func (c *Console) routeStats() routesView {
	out := routesView{Routes: []routeView{}}
	if c.opts.Gatherer == nil {
		return out
	}
	fams, _ := c.opts.Gatherer.Gather() // partial results are still worth showing
	byKey := map[string]*routeView{}
	for _, f := range fams {
		rpc := f.GetName() == rpcFamily
		if f.GetName() != durationFamily && !rpc || f.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range f.GetMetric() {
			var method, route, status string
			if rpc {
				method = "gRPC"
			}
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case labelMethod:
					method = l.GetValue()
				case labelRoute, labelRPCMethod:
					route = l.GetValue()
				case labelStatus, labelRPCStatus:
					status = l.GetValue()
				}
			}
			key := method + " " + route
			r := byKey[key]
			if r == nil {
				r = &routeView{Route: route, Method: method, Buckets: []bucketView{}, Exemplars: []exemplarView{}}
				byKey[key] = r
			}
			h := m.GetHistogram()
			n := h.GetSampleCount()
			r.Count += n
			if code, err := strconv.Atoi(status); err == nil && !rpc {
				switch {
				case code >= 500:
					r.Err5xx += n
				case code >= 400:
					r.Err4xx += n
				}
			} else if rpc && status != "OK" && status != "" {
				if rpcClientErrors[status] {
					r.Err4xx += n
				} else {
					r.Err5xx += n
				}
			}
			r.addBuckets(h)
		}
	}
	now := c.now()
	base := c.routes.sample(now, byKey)
	out.WindowS = now.Sub(base.at).Seconds()
	db := c.routeDB()
	for key, r := range byKey {
		if out.WindowS > 0 {
			if prev := base.counts[key]; r.Count >= prev {
				r.Rate = float64(r.Count-prev) / out.WindowS
			}
		}
		r.P50MS = 1000 * r.quantile(0.50)
		r.P90MS = 1000 * r.quantile(0.90)
		r.P99MS = 1000 * r.quantile(0.99)
		for i, le := range r.bounds {
			b := bucketView{LE: "+Inf", Count: r.cum[i]}
			if !math.IsInf(le, 1) {
				b.LE = 1000 * le
			}
			r.Buckets = append(r.Buckets, b)
		}
		sort.Slice(r.Exemplars, func(i, j int) bool { return r.Exemplars[i].ValueMS < r.Exemplars[j].ValueMS })
		if d := db[key]; d.traces > 0 {
			r.DBCallsPerReq = float64(d.calls) / float64(d.traces)
			r.DBMSPerReq = ms(d.dur) / float64(d.traces)
		}
		out.Routes = append(out.Routes, *r)
	}
	sort.Slice(out.Routes, func(i, j int) bool {
		a, b := out.Routes[i], out.Routes[j]
		if a.Route != b.Route {
			return a.Route < b.Route
		}
		return a.Method < b.Method
	})
	return out
}

// addBuckets adds one series' cumulative buckets (same bounds for every series of a
// route, as the middleware records them) and its exemplars.
func (r *routeView) addBuckets(h *dto.Histogram) {
	bs := h.GetBucket()
	if r.bounds == nil {
		for _, b := range bs {
			r.bounds = append(r.bounds, b.GetUpperBound())
		}
		r.bounds = append(r.bounds, math.Inf(1))
		r.cum = make([]uint64, len(r.bounds))
	}
	for i, b := range bs {
		if i < len(r.cum)-1 && b.GetUpperBound() == r.bounds[i] {
			r.cum[i] += b.GetCumulativeCount()
		}
		if e := b.GetExemplar(); e != nil {
			for _, l := range e.GetLabel() {
				if l.GetName() == "trace_id" && len(r.Exemplars) < 64 {
					r.Exemplars = append(r.Exemplars, exemplarView{ValueMS: 1000 * e.GetValue(), TraceID: l.GetValue()})
				}
			}
		}
	}
	r.cum[len(r.cum)-1] += h.GetSampleCount()
}

// quantile estimates the q-quantile from the buckets as Prometheus's
// histogram_quantile does: linear within the bucket that holds it; the upper bound of
// the highest finite bucket when it falls in +Inf.
func (r *routeView) quantile(q float64) float64 {
	if len(r.cum) == 0 || r.cum[len(r.cum)-1] == 0 {
		return 0
	}
	rank := q * float64(r.cum[len(r.cum)-1])
	for i, c := range r.cum {
		if float64(c) < rank {
			continue
		}
		if math.IsInf(r.bounds[i], 1) {
			if i == 0 {
				return 0
			}
			return r.bounds[i-1]
		}
		lo, below := 0.0, uint64(0)
		if i > 0 {
			lo, below = r.bounds[i-1], r.cum[i-1]
		}
		in := c - below
		if in == 0 {
			return r.bounds[i]
		}
		return lo + (r.bounds[i]-lo)*(rank-float64(below))/float64(in)
	}
	return r.bounds[len(r.bounds)-1]
}

// sample records the counts now and returns the snapshot the rate is measured from:
// the oldest kept, which is the console's start (no requests) until a later one is at
// least the window old. Snapshots are kept at most every snapEvery, so the window
// grows from the first call to about a minute and stays there.
func (s *routeSampler) sample(now time.Time, byKey map[string]*routeView) routeSnap {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.snaps) > 1 && now.Sub(s.snaps[1].at) >= rateWindow {
		s.snaps = s.snaps[1:]
	}
	base := s.snaps[0]
	if now.Sub(s.snaps[len(s.snaps)-1].at) >= snapEvery {
		counts := make(map[string]uint64, len(byKey))
		for k, r := range byKey {
			counts[k] = r.Count
		}
		s.snaps = append(s.snaps, routeSnap{at: now, counts: counts})
		if len(s.snaps) > int(rateWindow/snapEvery)+2 {
			s.snaps = s.snaps[1:]
		}
	}
	return base
}
