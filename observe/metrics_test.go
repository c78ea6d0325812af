package observe_test

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/observe"
)

func newMetricsObserver(t *testing.T, cfg observe.Config) (*observe.Observer, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	cfg.NoGlobals = true
	cfg.Logging = logging.Config{Output: &logs}
	cfg.Metrics.DisableGoCollector, cfg.Metrics.DisableProcessCollector, cfg.Metrics.DisableHostCollector = true, true, true
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	return o, &logs
}

func scrape(t *testing.T, o *observe.Observer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestObserverMetricsShortcuts(t *testing.T) {
	o, _ := newMetricsObserver(t, observe.Config{Service: "svc"})
	o.Counter("orders_total", "Orders.", "status").With("paid").Inc()
	o.Gauge("workers", "Workers.").Set(3)
	o.Histogram("size_bytes", "Sizes.").Observe(2)
	o.Timer("op_duration_seconds", "Ops.").Observe(time.Second)
	// Defining again from elsewhere shares the family.
	o.Counter("orders_total", "Orders.", "status").With("paid").Inc()

	body := scrape(t, o)
	for _, want := range []string{
		`orders_total{status="paid"} 2`,
		"workers 3",
		"size_bytes_count 1",
		"op_duration_seconds_sum 1",
		`vigil_metrics_series{metric="orders_total"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
}

func TestObserverConflictingDefinitionLogsAndStillWorks(t *testing.T) {
	o, logs := newMetricsObserver(t, observe.Config{Service: "svc"})
	o.Counter("jobs_total", "Jobs.")
	g := o.Gauge("jobs_total", "Jobs as a gauge.") // conflict: logged, detached
	g.Set(5)                                       // must not panic
	o.Histogram("jobs_total", "").Observe(1)
	o.Timer("jobs_total", "").Start().Stop()
	if body := scrape(t, o); !strings.Contains(body, "jobs_total 0\n") || strings.Contains(body, "jobs_total 5") {
		t.Errorf("the detached gauge leaked into the exposition:\n%s", body)
	}
	var n int
	for _, l := range logs.Lines(t) {
		if l["msg"] == "vigil: metric definition rejected; the returned metric is not exported" && l["metric"] == "jobs_total" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d rejection lines, want 3", n)
	}
}

func TestObserverMetricsConfigErrorAndStatsDFromEnv(t *testing.T) {
	t.Setenv("VIGIL_STATSD_FORMAT", "carbon")
	_, err := observe.New(context.Background(), observe.Config{NoGlobals: true})
	if err == nil || !strings.Contains(err.Error(), `VIGIL_STATSD_FORMAT="carbon"`) {
		t.Fatalf("err = %v, want the bad StatsD format named", err)
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	t.Setenv("VIGIL_STATSD_FORMAT", "dogstatsd")
	t.Setenv("VIGIL_STATSD_ADDR", pc.LocalAddr().String())
	o, _ := newMetricsObserver(t, observe.Config{Service: "svc"})
	o.Counter("hits_total", "", "route").With("/a").Add(2)
	if err := o.Shutdown(context.Background()); err != nil { // the final flush
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	_ = pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "hits_total:2|c|#route:/a") {
		t.Fatalf("statsd packet %q, %v", buf[:n], err)
	}
}
