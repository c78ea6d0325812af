package metrics

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/internal/omstrict"
)

// scrape fetches h's exposition, as OpenMetrics when om is set.
func scrape(t *testing.T, h http.Handler, om bool) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if om {
		req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0; charset=utf-8")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: status %d: %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// userRegistry stands for prometheus.DefaultRegisterer: its own Go and process
// collectors, and a user's promauto counter.
func userRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "user_jobs_total", Help: "Jobs."}).Add(3)
	return reg
}

func TestHandlerServesExtraGatherersOnce(t *testing.T) {
	var log logtest.Buffer
	r, err := New(Config{
		Gatherers: []prometheus.Gatherer{userRegistry()},
		Logger:    slog.New(slog.NewJSONHandler(&log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(t.Context()) })
	c, err := r.Counter("orders_total", "Orders.")
	if err != nil {
		t.Fatal(err)
	}
	c.Inc()

	for _, om := range []bool{false, true} {
		body := scrape(t, r.Handler(), om)
		for _, want := range []string{"orders_total 1", "user_jobs_total 3", "go_goroutines ", "go_gc_heap_allocs_bytes_total "} {
			if !strings.Contains(body, want) {
				t.Errorf("openmetrics=%v: exposition lacks %q", om, want)
			}
		}
		// The Prometheus text parser rejects a family given twice.
		if !om {
			parser := expfmt.NewTextParser(model.LegacyValidation)
			if _, err := parser.TextToMetricFamilies(strings.NewReader(body)); err != nil {
				t.Errorf("text exposition does not parse: %v", err)
			}
		}
		if strings.Count(body, "# TYPE go_goroutines ") != 1 {
			t.Errorf("openmetrics=%v: go_goroutines served %d times, want once", om, strings.Count(body, "# TYPE go_goroutines "))
		}
	}
	if strings.Contains(log.String(), "collected before") || strings.Contains(log.String(), "error") {
		t.Errorf("scrape logged errors: %s", log.String())
	}

	// The Gatherer is what the handler serves.
	mfs, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		if seen[mf.GetName()] {
			t.Errorf("Gatherer returns %s twice", mf.GetName())
		}
		seen[mf.GetName()] = true
	}
	if !seen["user_jobs_total"] || !seen["orders_total"] {
		t.Errorf("Gatherer lacks the user's or the registry's family: %v", seen)
	}
}

func TestOpenMetricsIsStrict(t *testing.T) {
	cases := []struct {
		name  string
		extra []prometheus.Gatherer
	}{
		{"vigil's collectors", nil},
		{"with the default registry's", []prometheus.Gatherer{userRegistry()}},
		// A user counter clashing with a user gauge the same way loses the same way.
		{"user clash", []prometheus.Gatherer{func() prometheus.Gatherer {
			reg := prometheus.NewRegistry()
			promauto.With(reg).NewGauge(prometheus.GaugeOpts{Name: "queue_bytes", Help: "Now."}).Set(1)
			promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "queue_bytes_total", Help: "Ever."}).Add(2)
			return reg
		}()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log logtest.Buffer
			r, err := New(Config{Gatherers: tc.extra, Logger: slog.New(slog.NewJSONHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Shutdown(t.Context()) })
			body := scrape(t, r.Handler(), true)
			if err := omstrict.Check(body); err != nil {
				t.Errorf("OpenMetrics exposition rejected by a strict check:\n%v", err)
			}
			if !strings.Contains(body, "# TYPE go_memstats_alloc_bytes gauge\n") {
				t.Errorf("go_memstats_alloc_bytes is not a gauge family")
			}
			if strings.Contains(body, "go_memstats_alloc_bytes_total") {
				t.Errorf("the clashing counter go_memstats_alloc_bytes_total is still served")
			}
			if strings.Contains(tc.name, "clash") && !strings.Contains(log.String(), "queue_bytes_total") {
				t.Errorf("dropping queue_bytes_total was not logged: %s", log.String())
			}
			// Every later scrape, through this or a new Gatherer (the dev console makes its
			// own), drops the same counters without logging them again.
			for range 3 {
				if _, err := r.Gatherer().Gather(); err != nil {
					t.Fatal(err)
				}
			}
			if n := strings.Count(log.String(), `"metric":"go_memstats_alloc_bytes_total"`); n != 1 {
				t.Errorf("the go_memstats_alloc_bytes_total clash logged %d times over four scrapes, want once:\n%s", n, log.String())
			}
		})
	}
}

func TestStrictCheckCatchesTheClash(t *testing.T) {
	bad := "# TYPE foo gauge\nfoo 1\n# TYPE foo counter\nfoo_total 2\n# EOF\n"
	if omstrict.Check(bad) == nil {
		t.Fatal("the strict check accepts a family declared twice")
	}
	if err := omstrict.Check("# TYPE foo counter\nfoo_total 2\n# EOF\n"); err != nil {
		t.Fatalf("the strict check rejects a valid exposition: %v", err)
	}
}
