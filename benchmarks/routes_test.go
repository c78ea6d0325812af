package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// scaleRoutes is how many distinct routes the scale benchmarks warm.
const scaleRoutes = 10_000

// routePaths and routePatterns are the paths /r/N and the patterns "GET /r/N/{id}" a
// router with N routes would report, made once so the benchmarks allocate none of them.
type routeTable struct{ paths, patterns []string }

func (t *routeTable) grow(n int) {
	for i := len(t.paths); i < n; i++ {
		t.paths = append(t.paths, "/r/"+strconv.Itoa(i))
		t.patterns = append(t.patterns, "GET /r/"+strconv.Itoa(i)+"/{id}")
	}
}

// routedHandler answers like orderMux, with r.Pattern set as a ServeMux holding every
// route of t would set it (a ServeMux with tens of thousands of patterns takes longer
// to build than what is measured).
func routedHandler(t *routeTable) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if err != nil || i >= len(t.patterns) {
			http.NotFound(w, r)
			return
		}
		r.Pattern = t.patterns[i]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, orderBody)
	})
}

// discardResponse is a ResponseWriter that keeps nothing, reused across requests, so
// that the scale benchmarks measure the stack rather than a recorder.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) WriteHeader(int)             {}
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }

// scaleStack is a stack serving routedHandler, and where its metrics can be read.
type scaleStack struct {
	handler http.Handler
	gather  prometheus.Gatherer
}

type scaleBuilder struct {
	impl  string
	build func(tb testing.TB, t *routeTable) scaleStack
}

var scaleBuilders = []scaleBuilder{
	{"floor", func(tb testing.TB, t *routeTable) scaleStack {
		spans := &spanSink{}
		tp := sdkProvider(tb, 1, spans)
		reg := prometheus.NewRegistry()
		return scaleStack{handler: newFloorHTTP(tp, reg, io.Discard, routedHandler(t)), gather: reg}
	}},
	{"vigil", func(tb testing.TB, t *routeTable) scaleStack {
		o := newObserver(tb, vigilSinks{seriesLimit: 1 << 20})
		return scaleStack{handler: o.Middleware(routedHandler(t)), gather: o.Gatherer()}
	}},
}

// serveRoutes sends one GET for each route in [from, to) through h.
func serveRoutes(h http.Handler, t *routeTable, req *http.Request, w *discardResponse, from, to int) {
	for i := from; i < to; i++ {
		req.URL.Path = t.paths[i]
		h.ServeHTTP(w, req)
	}
}

func scaleRequest() (*http.Request, *discardResponse) {
	return orderRequest(), &discardResponse{h: http.Header{}}
}

// BenchmarkRoutes measures what new routes cost. op=warm: one op is serving the first
// request of each of 10,000 routes through a new stack (ns/op is the whole warm-up, B/op
// and allocs/op what it allocated, retained-B the heap it keeps after a GC). op=first-touch:
// one op is the first request on a route never served before, after 10,000 routes are
// warm; run it with a fixed count (-benchtime 2000x) so every run touches the same range.
func BenchmarkRoutes(b *testing.B) {
	for _, sb := range scaleBuilders {
		b.Run("op=warm/routes="+strconv.Itoa(scaleRoutes)+"/impl="+sb.impl, func(b *testing.B) {
			t := &routeTable{}
			t.grow(scaleRoutes)
			req, w := scaleRequest()
			var ms runtime.MemStats
			var retained uint64
			var cpu int64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				s := sb.build(b, t)
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				cpuStart := processCPU()
				b.StartTimer()
				serveRoutes(s.handler, t, req, w, 0, scaleRoutes)
				b.StopTimer()
				cpu += processCPU() - cpuStart
				runtime.GC()
				runtime.ReadMemStats(&ms)
				retained += ms.HeapAlloc - min(before, ms.HeapAlloc)
				runtime.KeepAlive(s) // what the stack holds is what is measured
				b.StartTimer()
			}
			b.ReportMetric(float64(retained)/float64(b.N), "retained-B/op")
			if processCPU() >= 0 {
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			}
		})
	}
	for _, sb := range scaleBuilders {
		b.Run("op=first-touch/routes="+strconv.Itoa(scaleRoutes)+"/impl="+sb.impl, func(b *testing.B) {
			t := &routeTable{}
			t.grow(2 * scaleRoutes)
			req, w := scaleRequest()
			s := sb.build(b, t)
			serveRoutes(s.handler, t, req, w, 0, scaleRoutes)
			b.ReportAllocs()
			i := scaleRoutes
			done := cpuPerOp(b)
			for b.Loop() {
				if i == len(t.paths) {
					b.StopTimer()
					t.grow(len(t.paths) + scaleRoutes)
					b.StartTimer()
				}
				req.URL.Path = t.paths[i]
				s.handler.ServeHTTP(w, req)
				i++
			}
			done()
		})
	}
}

// histogramShape is what one family of vigil's HTTP histograms looks like.
type histogramShape struct {
	name, help string
	labels     []string
	buckets    []float64
}

// vigilHTTPHistograms reads the shape of vigil's per-route histogram families from an
// observer that served one request, so the client_golang twin has the same names,
// labels and buckets as whatever vigil exports today.
func vigilHTTPHistograms(tb testing.TB) []histogramShape {
	tb.Helper()
	t := &routeTable{}
	t.grow(1)
	o := newObserver(tb, vigilSinks{})
	req, w := scaleRequest()
	serveRoutes(o.Middleware(routedHandler(t)), t, req, w, 0, 1)
	mfs, err := o.Gatherer().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	_ = o.Shutdown(context.Background())
	var shapes []histogramShape
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_HISTOGRAM || !strings.HasPrefix(mf.GetName(), "http_server_") || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		s := histogramShape{name: mf.GetName(), help: mf.GetHelp()}
		for _, l := range m.GetLabel() {
			s.labels = append(s.labels, l.GetName())
		}
		for _, bk := range m.GetHistogram().GetBucket() {
			s.buckets = append(s.buckets, bk.GetUpperBound())
		}
		shapes = append(shapes, s)
	}
	if len(shapes) == 0 {
		tb.Fatal("vigil exported no http_server_ histogram")
	}
	return shapes
}

// clientGolangScrape is client_golang's equivalent of vigil's HTTP families at n routes:
// the same histogram families (names, labels, buckets), one series per route each with
// one observation, served by promhttp.
func clientGolangScrape(tb testing.TB, n int) (http.Handler, prometheus.Gatherer) {
	reg := prometheus.NewRegistry()
	t := &routeTable{}
	t.grow(n)
	for _, s := range vigilHTTPHistograms(tb) {
		hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: s.name, Help: s.help, Buckets: s.buckets}, s.labels)
		reg.MustRegister(hv)
		values := make([]string, len(s.labels))
		for i := range n {
			for j, l := range s.labels {
				switch l {
				case "http_route":
					values[j] = strings.TrimPrefix(t.patterns[i], "GET ")
				case "http_request_method":
					values[j] = "GET"
				case "http_response_status_code":
					values[j] = "200"
				case "http_response_status_class":
					values[j] = "2xx"
				default:
					values[j] = "x"
				}
			}
			hv.WithLabelValues(values...).Observe(0.001)
		}
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), reg
}

// vigilScrape is vigil's MetricsHandler after n routes were served once each.
func vigilScrape(tb testing.TB, n int) (http.Handler, prometheus.Gatherer) {
	t := &routeTable{}
	t.grow(n)
	o := newObserver(tb, vigilSinks{seriesLimit: 1 << 20})
	req, w := scaleRequest()
	serveRoutes(o.Middleware(routedHandler(t)), t, req, w, 0, n)
	return o.MetricsHandler(), o.Gatherer()
}

var scrapeBuilders = []struct {
	impl  string
	build func(testing.TB, int) (http.Handler, prometheus.Gatherer)
}{
	{"client_golang", clientGolangScrape},
	{"vigil", vigilScrape},
}

// countingResponse counts the body bytes of a scrape and keeps nothing.
type countingResponse struct {
	discardResponse
	n int64
}

func (c *countingResponse) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkScrape serves one Prometheus text scrape (no compression) of the HTTP
// families at 10,000 routes: vigil's MetricsHandler against client_golang's promhttp
// over the same series. scrape-B is the body size.
func BenchmarkScrape(b *testing.B) {
	for _, sb := range scrapeBuilders {
		b.Run("routes="+strconv.Itoa(scaleRoutes)+"/impl="+sb.impl, func(b *testing.B) {
			h, _ := sb.build(b, scaleRoutes)
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			w := &countingResponse{discardResponse: discardResponse{h: http.Header{}}}
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				w.n = 0
				h.ServeHTTP(w, req)
			}
			done()
			b.ReportMetric(float64(w.n), "scrape-B")
		})
	}
}

// TestScaleStacksDoTheWork checks that each scale stack makes one duration series per
// route, and that both scrapes hold the same HTTP series.
func TestScaleStacksDoTheWork(t *testing.T) {
	const n = 50
	for _, sb := range scaleBuilders {
		t.Run("routes/"+sb.impl, func(t *testing.T) {
			rt := &routeTable{}
			rt.grow(n)
			s := sb.build(t, rt)
			req, w := scaleRequest()
			serveRoutes(s.handler, rt, req, w, 0, n)
			if got := seriesCount(t, s.gather, "http_server_request_duration_seconds"); got != n {
				t.Errorf("%d duration series after %d routes, want %d", got, n, n)
			}
		})
	}
	var bodies []string
	for _, sb := range scrapeBuilders {
		h, g := sb.build(t, n)
		for _, s := range vigilHTTPHistograms(t) {
			if got := seriesCount(t, g, s.name); got != n {
				t.Errorf("%s: %d %s series, want %d", sb.impl, got, s.name, n)
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		bodies = append(bodies, w.Body.String())
	}
	for _, route := range []string{"/r/0/{id}", fmt.Sprintf("/r/%d/{id}", n-1)} {
		for i, body := range bodies {
			if !strings.Contains(body, `http_route="`+route+`"`) {
				t.Errorf("%s scrape lacks route %s", scrapeBuilders[i].impl, route)
			}
		}
	}
}

func seriesCount(tb testing.TB, g prometheus.Gatherer, name string) int {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}
