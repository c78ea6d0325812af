package middleware

import (
	"fmt"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/vigil-go/vigil/metrics"
)

// Metric names, after OpenTelemetry's HTTP semantic conventions in Prometheus form.
const (
	MetricServerDuration   = "http_server_request_duration_seconds"
	MetricServerActive     = "http_server_active_requests"
	MetricServerReqSize    = "http_server_request_body_size_bytes"
	MetricServerRespSize   = "http_server_response_body_size_bytes"
	MetricClientDuration   = "http_client_request_duration_seconds"
	labelMethod            = "http_request_method"
	labelRoute             = "http_route"
	labelStatus            = "http_response_status_code"
	labelStatusClass       = "http_response_status_class"
	labelServerAddress     = "server_address"
	statusClassClientError = "error" // client requests that got no response
)

var serverLabels = []string{labelMethod, labelRoute, labelStatus, labelStatusClass}

// httpMetrics holds the families and the caches of bound series.
type httpMetrics struct {
	// Durations are Timers: seconds in Prometheus, milliseconds in StatsD.
	duration, client  *metrics.Timer
	reqSize, respSize *metrics.Histogram
	active            *metrics.Gauge
	activeBy          [numMethods]atomic.Pointer[metrics.Gauge]
	server            seriesCache[serverKey, *serverSeries]
	serverHot         [serverHotSlots]atomic.Pointer[serverSeries]

	clientSeries seriesCache[clientKey, *metrics.Timer]
}

// serverKey is what a request's series depend on.
type serverKey struct {
	route  string
	method uint8
	status uint16
}

// serverSeries is everything bound for one key, span name included, so a request
// resolves labels, exemplar series and span name with one lookup.
type serverSeries struct {
	route             string
	method            uint8
	status            uint16
	spanName          string
	duration          *metrics.Timer
	reqSize, respSize *metrics.Histogram
}

type clientKey struct {
	host   string
	method uint8
	status uint16
}

// newHTTPMetrics defines the families on reg; with a nil reg it returns caches only
// (span names still come from them) and every family is nil.
func newHTTPMetrics(reg *metrics.Registry, durBuckets, sizeBuckets []float64) (*httpMetrics, error) {
	m := &httpMetrics{}
	if reg == nil {
		return m, nil
	}
	var err error
	def := func(name, help string, labels []string, buckets []float64) *metrics.Histogram {
		if err != nil {
			return nil
		}
		var h *metrics.Histogram
		h, err = reg.NewHistogram(metrics.Opts{Name: name, Help: help, Labels: labels, Buckets: buckets})
		if err != nil {
			err = fmt.Errorf("middleware: defining %s: %w", name, err)
		}
		return h
	}
	timer := func(name, help string, labels []string) *metrics.Timer {
		if err != nil {
			return nil
		}
		var t *metrics.Timer
		t, err = reg.NewTimer(metrics.Opts{Name: name, Help: help, Labels: labels, Buckets: durBuckets})
		if err != nil {
			err = fmt.Errorf("middleware: defining %s: %w", name, err)
		}
		return t
	}
	m.duration = timer(MetricServerDuration, "Duration of HTTP server requests.", serverLabels)
	m.reqSize = def(MetricServerReqSize, "Size of HTTP server request bodies.", serverLabels, sizeBuckets)
	m.respSize = def(MetricServerRespSize, "Size of HTTP server response bodies.", serverLabels, sizeBuckets)
	m.client = timer(MetricClientDuration, "Duration of HTTP client requests.",
		[]string{labelMethod, labelServerAddress, labelStatus, labelStatusClass})
	if err != nil {
		return nil, err
	}
	m.active, err = reg.NewGauge(metrics.Opts{Name: MetricServerActive, Help: "Number of HTTP server requests in flight.", Labels: []string{labelMethod}})
	if err != nil {
		return nil, fmt.Errorf("middleware: defining %s: %w", MetricServerActive, err)
	}
	return m, nil
}

// activeGauge returns the in-flight gauge of a method, bound on first use so unused
// methods export no series.
func (m *httpMetrics) activeGauge(mi uint8) *metrics.Gauge {
	if m.active == nil {
		return nil
	}
	if g := m.activeBy[mi].Load(); g != nil {
		return g
	}
	g := m.active.With(methodNames[mi])
	if m.activeBy[mi].CompareAndSwap(nil, g) {
		return g
	}
	return m.activeBy[mi].Load()
}

// serverHotSlots is the size of httpMetrics.serverHot.
const serverHotSlots = 64

// serverSeriesFor returns the bound series for a finished request. Routers hand over
// the same route string for every request of a route (http.ServeMux's pattern, a
// router's table), so the place of its bytes in memory picks a slot of serverHot, whose
// series is checked against the key by value (method, status, route text) and returned
// without hashing the key. A slot is taken once, by the first series to need it;
// another key on the same slot takes the cache, as every key did before.
func (m *httpMetrics) serverSeriesFor(k serverKey) *serverSeries {
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(k.route))))
	slot := &m.serverHot[(p>>4^p>>10^uint64(k.method)<<1^uint64(k.status)*0x9e37)%serverHotSlots]
	if s := slot.Load(); s != nil && s.method == k.method && s.status == k.status && s.route == k.route {
		return s
	}
	s := m.serverSeriesSlow(k)
	if slot.Load() == nil {
		slot.CompareAndSwap(nil, s)
	}
	return s
}

// serverSeriesSlow is serverSeriesFor through the cache.
func (m *httpMetrics) serverSeriesSlow(k serverKey) *serverSeries {
	if s, ok := m.server.load(k); ok {
		return s
	}
	// Keys outlive the request: copy strings a router may have built in a reused buffer.
	k.route = strings.Clone(k.route)
	method, code := methodNames[k.method], int(k.status)
	s := &serverSeries{route: k.route, method: k.method, status: k.status, spanName: httpSpanName(method, k.route)}
	if m.duration != nil {
		labels := []string{method, k.route, statusCode(code), statusClass(code)}
		s.duration = m.duration.With(labels...)
		s.reqSize = m.reqSize.With(labels...)
		s.respSize = m.respSize.With(labels...)
	}
	return m.server.store(k, s)
}

func (m *httpMetrics) clientSeriesFor(k clientKey) *metrics.Timer {
	if m.client == nil {
		return nil
	}
	if h, ok := m.clientSeries.load(k); ok {
		return h
	}
	k.host = strings.Clone(k.host)
	code, class := "", statusClassClientError
	if k.status != 0 {
		code, class = statusCode(int(k.status)), statusClass(int(k.status))
	}
	return m.clientSeries.store(k, m.client.With(methodNames[k.method], k.host, code, class))
}

// httpSpanName is "METHOD route", or the method alone when no route matched, as the
// semantic conventions ask (a raw path would make span names unbounded).
func httpSpanName(method, route string) string {
	if route == Unmatched {
		return method
	}
	return method + " " + route
}
