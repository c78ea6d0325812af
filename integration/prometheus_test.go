//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/omstrict"
)

// sample is one element of an instant vector from Prometheus' query API.
type sample struct {
	Metric map[string]string
	Value  float64
}

// query evaluates expr at ts (now when zero) through Prometheus' HTTP API.
func (s *suite) query(expr string, ts time.Time) ([]sample, error) {
	v := url.Values{"query": {expr}}
	if !ts.IsZero() {
		v.Set("time", strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', 3, 64))
	}
	resp, err := client.Get(s.prometheus + "/api/v1/query?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", expr, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", expr, body.Data.ResultType)
	}
	out := make([]sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		str, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %q: %w", expr, str, err)
		}
		out = append(out, sample{Metric: r.Metric, Value: f})
	}
	return out, nil
}

// byLabels indexes samples by the values of the given labels joined with a space.
func byLabels(ss []sample, labels ...string) map[string]float64 {
	m := make(map[string]float64, len(ss))
	for _, s := range ss {
		var k []string
		for _, l := range labels {
			k = append(k, s.Metric[l])
		}
		m[strings.Join(k, " ")] = s.Value
	}
	return m
}

func near(got, want, tolerance float64) bool { return math.Abs(got-want) <= tolerance }

// testPrometheus: Prometheus, scraping the quick start, sees the request counts, the rates, the
// 5xx ratio and the latency quantiles the traffic implies.
func (s *suite) testPrometheus(t *testing.T) {
	sel := fmt.Sprintf(`job=%q, instance=%q`, quickstartJob, s.quickstartAddr)
	t.Run("openmetrics", s.testOpenMetrics)
	t.Run("counts", func(t *testing.T) {
		expr := fmt.Sprintf(`sum by (http_route, http_response_status_code) (http_server_request_duration_seconds_count{%s})`, sel)
		eventually(t, 30*time.Second, func() error {
			got, err := s.query(expr, time.Time{})
			if err != nil {
				return err
			}
			m := byLabels(got, "http_route", "http_response_status_code")
			notFound := 0.0
			for _, g := range got {
				if g.Metric["http_response_status_code"] == "404" {
					notFound += g.Value
				}
			}
			if m[routeOrders+" 200"] != wantOrders || m[routePanic+" 500"] != wantPanics || notFound != wantNotFound ||
				m[routeCheckout+" 200"] != wantCheckouts || m[routeInventory+" 200"] != wantCheckouts {
				return fmt.Errorf("requests by route and status: %v; want %s 200: %d, %s 500: %d, 404: %d, %s 200 and %s 200: %d",
					m, routeOrders, wantOrders, routePanic, wantPanics, wantNotFound, routeCheckout, routeInventory, wantCheckouts)
			}
			return nil
		})
	})

	t.Run("rate by route", func(t *testing.T) {
		// A 10s window in the middle of the steady traffic: 10/s orders and 1/s checkouts and
		// inventory calls (200), 2.5/s panics (500), 2/s 404s.
		at := s.trafficT0.Add(15 * time.Second)
		got, err := s.query(fmt.Sprintf(`sum by (http_response_status_code) (rate(http_server_request_duration_seconds_count{%s, http_route!="/metrics"}[10s]))`, sel), at)
		if err != nil {
			t.Fatal(err)
		}
		m := byLabels(got, "http_response_status_code")
		for code, want := range map[string]float64{"200": 12, "500": 2.5, "404": 2} {
			if !near(m[code], want, want*0.3) {
				t.Errorf("rate of %s answers = %.2f/s, want %.1f/s ±30%%", code, m[code], want)
			}
		}
		byRoute, err := s.query(fmt.Sprintf(`route:http_server_requests:rate5m{job=%q, http_route=%q}`, quickstartJob, routeOrders), time.Time{})
		if err != nil || len(byRoute) != 1 || byRoute[0].Value <= 0 {
			t.Errorf("recording rule route:http_server_requests:rate5m for %s: %v %v", routeOrders, byRoute, err)
		}
	})

	t.Run("5xx ratio", func(t *testing.T) {
		want := float64(wantPanics) / float64(wantRequests)
		got, err := s.query(fmt.Sprintf(`job:http_server_errors:ratio_rate5m{job=%q}`, quickstartJob), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !near(got[0].Value, want, 0.02) {
			t.Errorf("job:http_server_errors:ratio_rate5m = %v, want one sample near %.3f", got, want)
		}
		got, err = s.query(fmt.Sprintf(`route:http_server_errors:ratio_rate5m{job=%q}`, quickstartJob), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		m := byLabels(got, "http_route")
		if m[routePanic] != 1 {
			t.Errorf("5xx ratio of %s = %v, want 1 (every request panics); all: %v", routePanic, m[routePanic], m)
		}
		if v, ok := m[routeOrders]; ok && v != 0 {
			t.Errorf("5xx ratio of %s = %v, want 0", routeOrders, v)
		}
	})

	t.Run("latency quantiles", func(t *testing.T) {
		// The quantile of everything observed, from Prometheus, must equal the one computed by
		// hand from the quick start's own /metrics: the traffic has stopped, the buckets are final.
		buckets, err := scrapeBuckets("http://"+s.quickstartAddr+"/metrics", "http_server_request_duration_seconds", routeOrders)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []float64{0.5, 0.9, 0.99} {
			want := quantile(q, buckets)
			expr := fmt.Sprintf(`histogram_quantile(%g, sum by (le) (http_server_request_duration_seconds_bucket{%s, http_route=%q}))`, q, sel, routeOrders)
			got, err := s.query(expr, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !near(got[0].Value, want, 1e-9) {
				t.Errorf("p%g of %s: Prometheus %v, computed from /metrics %g", q*100, routeOrders, got, want)
			}
			if want <= 0 || want > 0.25 {
				t.Errorf("p%g of %s = %gs, want within (0, 0.25s] for a handler that only writes JSON", q*100, routeOrders, want)
			}
		}
		// The inventory handler waits 50 to 250ms: its quantiles must say so.
		for _, q := range []float64{0.5, 0.9} {
			got, err := s.query(fmt.Sprintf(`histogram_quantile(%g, sum by (le) (http_server_request_duration_seconds_bucket{%s, http_route=%q}))`, q, sel, routeInventory), time.Time{})
			if err != nil || len(got) != 1 || got[0].Value < 0.05 || got[0].Value > 0.3 {
				t.Errorf("p%g of %s: %v %v, want within [0.05s, 0.3s]", q*100, routeInventory, got, err)
			}
		}
		// And over the traffic's steady middle, as the dashboard and the recording rule compute it.
		got, err := s.query(fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{%s, http_route=%q}[10s])))`, sel, routeOrders),
			s.trafficT0.Add(15*time.Second))
		if err != nil || len(got) != 1 || got[0].Value <= 0 || got[0].Value > 0.25 {
			t.Errorf("p99 over 10s of traffic: %v %v, want one value in (0, 0.25s]", got, err)
		}
	})
}

// testOpenMetrics (a subtest of testPrometheus): the quick start's OpenMetrics exposition
// passes a strict check, and Prometheus, which asks for OpenMetrics first, records
// go_memstats_alloc_bytes as the gauge it is (the Go collector's clashing counter family
// once made it a counter).
func (s *suite) testOpenMetrics(t *testing.T) {
	req, err := http.NewRequest("GET", "http://"+s.quickstartAddr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q, want OpenMetrics", ct)
	}
	if err := omstrict.Check(string(body)); err != nil {
		t.Errorf("a strict OpenMetrics check rejects the quick start's /metrics:\n%v", err)
	}
	if !strings.Contains(string(body), "# TYPE go_memstats_alloc_bytes gauge\n") {
		t.Errorf("the exposition has no go_memstats_alloc_bytes gauge family")
	}

	eventually(t, 30*time.Second, func() error {
		resp, err := client.Get(s.prometheus + "/api/v1/metadata?metric=go_memstats_alloc_bytes")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var md struct {
			Status string `json:"status"`
			Data   map[string][]struct {
				Type string `json:"type"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
			return err
		}
		entries := md.Data["go_memstats_alloc_bytes"]
		if md.Status != "success" || len(entries) == 0 {
			return fmt.Errorf("no metadata for go_memstats_alloc_bytes yet: %+v", md)
		}
		for _, e := range entries {
			if e.Type != "gauge" {
				return fmt.Errorf("Prometheus's metadata for go_memstats_alloc_bytes: %+v, want type gauge only", entries)
			}
		}
		return nil
	})
}

type bucket struct{ le, count float64 }

// scrapeBuckets reads the cumulative buckets of one route of a histogram from an exposition in
// the text format, summed over the other labels.
func scrapeBuckets(target, name, route string) ([]bucket, error) {
	resp, err := client.Get(target)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sums := map[float64]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"_bucket{") || !strings.Contains(line, fmt.Sprintf(`http_route=%q`, route)) {
			continue
		}
		i := strings.Index(line, `le="`)
		j := strings.LastIndexByte(line, '}')
		if i < 0 || j < i {
			return nil, fmt.Errorf("bucket line %q", line)
		}
		le, err := strconv.ParseFloat(line[i+4:i+4+strings.IndexByte(line[i+4:], '"')], 64)
		if err != nil {
			return nil, fmt.Errorf("bucket line %q: %w", line, err)
		}
		fields := strings.Fields(line[j+1:])
		if len(fields) == 0 {
			return nil, fmt.Errorf("bucket line %q has no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("bucket line %q: %w", line, err)
		}
		sums[le] += v
	}
	if len(sums) == 0 {
		return nil, fmt.Errorf("%s has no %s buckets for route %s", target, name, route)
	}
	out := make([]bucket, 0, len(sums))
	for le, c := range sums {
		out = append(out, bucket{le, c})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].le < out[b].le })
	return out, sc.Err()
}

// quantile interpolates linearly inside the bucket holding rank q*total, as the Prometheus
// documentation defines histogram_quantile: the first bucket starts at 0, and a rank in the
// +Inf bucket answers the highest finite bound.
func quantile(q float64, bs []bucket) float64 {
	total := bs[len(bs)-1].count
	rank := q * total
	i := sort.Search(len(bs), func(i int) bool { return bs[i].count >= rank })
	if math.IsInf(bs[i].le, 1) {
		return bs[len(bs)-2].le
	}
	start, below := 0.0, 0.0
	if i > 0 {
		start, below = bs[i-1].le, bs[i-1].count
	}
	return start + (bs[i].le-start)*(rank-below)/(bs[i].count-below)
}

// testDashboard: every query of the Grafana dashboard returns data from the live Prometheus.
func (s *suite) testDashboard(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/vigil-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	// Grafana's variables as the dashboard's "All" selects them.
	vars := strings.NewReplacer("$__rate_interval", "1m", "$job", ".+", "$route", ".+")
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			n++
			expr := vars.Replace(tg.Expr)
			got, err := s.query(expr, time.Time{})
			if err != nil {
				t.Errorf("panel %q: %v", p.Title, err)
				continue
			}
			if len(got) == 0 {
				t.Errorf("panel %q: no data for %s", p.Title, expr)
			}
		}
	}
	if n < 20 {
		t.Errorf("dashboard has %d queries; the panels were not read", n)
	}
	t.Logf("%d dashboard queries evaluated", n)
}
