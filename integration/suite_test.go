//go:build integration

package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/envtest"
)

// env holds the servers run.sh started (VIGIL_IT_* variables).
type env struct {
	ctl             string // run.sh: `start NAME` and `stop NAME`
	prometheus      string
	alertmanager    string
	pushgateway     string
	statsd          string // UDP address the service sends to
	statsdAdmin     string
	statsdHoldAdmin string // the StatsD that never flushes: the run's totals
	carbonDir       string
	otlpGRPC        string
	otlpHTTP        string
	otelFile        string
	quickstartAddr  string // Prometheus scrapes this address
	grpcMetricsAddr string // and this one, the gRPC service's /metrics
}

func loadEnv() (env, error) {
	e := env{}
	vars := []struct {
		name string
		dst  *string
	}{
		{"VIGIL_IT_CTL", &e.ctl}, {"VIGIL_IT_PROMETHEUS", &e.prometheus},
		{"VIGIL_IT_ALERTMANAGER", &e.alertmanager}, {"VIGIL_IT_PUSHGATEWAY", &e.pushgateway},
		{"VIGIL_IT_STATSD", &e.statsd}, {"VIGIL_IT_STATSD_ADMIN", &e.statsdAdmin},
		{"VIGIL_IT_STATSD_HOLD_ADMIN", &e.statsdHoldAdmin}, {"VIGIL_IT_CARBON_DIR", &e.carbonDir},
		{"VIGIL_IT_OTLP_GRPC", &e.otlpGRPC}, {"VIGIL_IT_OTLP_HTTP", &e.otlpHTTP},
		{"VIGIL_IT_OTEL_FILE", &e.otelFile}, {"VIGIL_IT_QUICKSTART_ADDR", &e.quickstartAddr},
		{"VIGIL_IT_GRPC_METRICS_ADDR", &e.grpcMetricsAddr},
	}
	var missing []string
	for _, v := range vars {
		*v.dst = os.Getenv(v.name)
		if *v.dst == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return e, fmt.Errorf("%s not set: run integration/run.sh, which starts the servers", strings.Join(missing, ", "))
	}
	return e, nil
}

// The traffic the suite drives through the quick start, and what every server must make of it.
// One tick every 100ms for trafficTicks ticks: a GET /orders/{id} on every tick, a request to
// a path no route matches on every 5th, a GET /panic on every 4th, a GET /checkout/{sku} (which
// calls GET /inventory/{sku}, 50 to 250ms, through the instrumented client) on every 10th.
const (
	trafficTicks   = 200
	tickEvery      = 100 * time.Millisecond
	wantOrders     = trafficTicks      // 200 answered 200
	wantNotFound   = trafficTicks / 5  // 40 answered 404
	wantPanics     = trafficTicks / 4  // 50 answered 500, each captured
	wantCheckouts  = trafficTicks / 10 // 20 answered 200, and as many inventory calls
	wantRequests   = wantOrders + wantNotFound + wantPanics + 2*wantCheckouts
	routeOrders    = "/orders/{id}"
	routePanic     = "/panic"
	routeCheckout  = "/checkout/{sku}"
	routeInventory = "/inventory/{sku}"
	quickstartJob  = "quickstart"
)

// Trace ids the suite sets through W3C traceparent headers, to find one request everywhere.
const (
	traceOrder    = "4bf92f3577b34da6a3ce929d0e0e4736" // a GET /orders/{id}, exported over gRPC
	tracePanic    = "5a0e4fb7d0c14b0f9d1c6e2b3a4f5061" // a GET /panic: log line, span, Sentry event
	traceHTTP     = "6b1f5ac8e1d25c1fae2d7f3c4b5a6172" // a request to the instance exporting over HTTP
	traceOutage   = "7c2a6bd9f2e36d2abf3e8a4d5c6b7283" // during the collector outage
	traceRecovery = "8d3b7cea03f47e3bca4f9b5e6d7c8394" // after the collector restarted
)

func traceparent(traceID string) string { return "00-" + traceID + "-00f067aa0ba902b7-01" }

// suite is the state every test shares: the servers, the binaries and the running services.
type suite struct {
	env
	bin        string // directory of the built examples
	sentry     *sentryServer
	quickstart *service // exports over OTLP gRPC; scraped by Prometheus
	viaHTTP    *service // a second quick start exporting over OTLP HTTP, not scraped
	grpcErr    error    // why the gRPC service did not start or answer, if it did not
	trafficT0  time.Time
	trafficT1  time.Time
	// trafficErrs are answers the quick start gave that the traffic did not expect; the
	// "traffic" test reports them, the other tests still run and say what they saw.
	trafficErrs []string
}

var (
	the      *suite
	setupErr error
)

func TestMain(m *testing.M) {
	// The services inherit this process's environment: the shell's VIGIL_*, OTEL_*, SENTRY_*
	// must not reach them, only what setUp passes (the VIGIL_IT_* addresses are kept).
	envtest.Clean()
	code := func() int {
		s, cleanup, err := setUp()
		defer cleanup()
		the, setupErr = s, err
		return m.Run()
	}()
	os.Exit(code)
}

// setUp builds the examples, starts the quick starts and drives the traffic. The returned
// cleanup stops everything it started, even when setUp failed part way.
func setUp() (*suite, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	e, err := loadEnv()
	if err != nil {
		return nil, cleanup, err
	}
	s := &suite{env: e}
	dir, err := os.MkdirTemp("", "vigil-integration-")
	if err != nil {
		return nil, cleanup, err
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	s.bin = dir
	if err := buildExamples(dir, "quickstart", "batch"); err != nil {
		return s, cleanup, err
	}

	s.sentry = newSentryServer()
	cleanups = append(cleanups, s.sentry.Close)

	common := []string{
		"SENTRY_DSN=" + s.sentry.DSN(),
		"SENTRY_ENVIRONMENT=integration",
		"VIGIL_STATSD_ADDR=" + e.statsd,
		// The Etsy daemon with carbon reads Graphite's ;k=v tags; DogStatsD's |h histograms are
		// a Datadog agent type it would add up as a counter (statsd-library covers DogStatsD).
		"VIGIL_STATSD_FORMAT=graphite",
		"OTEL_BSP_SCHEDULE_DELAY=200", // export within the test's patience, not after 5s
		"OTEL_TRACES_SAMPLER=parentbased_always_on",
		"OTEL_LOGS_EXPORTER=otlp", // every log line also to the collector (otlp_signals_test.go)
	}
	s.quickstart, err = startService(filepath.Join(dir, "quickstart"), []string{"-addr", e.quickstartAddr},
		append(common, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+e.otlpGRPC))
	if err != nil {
		return s, cleanup, err
	}
	cleanups = append(cleanups, s.quickstart.Stop)

	httpAddr, err := freeAddr()
	if err != nil {
		return s, cleanup, err
	}
	// This instance only proves OTLP/HTTP export. Its StatsD is off (the last value of a
	// variable wins), so the StatsD assertions count the first instance's traffic alone.
	s.viaHTTP, err = startService(filepath.Join(dir, "quickstart"), []string{"-addr", httpAddr},
		append(common, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+e.otlpHTTP, "VIGIL_STATSD_ADDR=",
			// Its metrics too, pushed every half second (otlp_signals_test.go).
			"OTEL_METRICS_EXPORTER=otlp,prometheus", "OTEL_METRIC_EXPORT_INTERVAL=500"))
	if err != nil {
		return s, cleanup, err
	}
	cleanups = append(cleanups, s.viaHTTP.Stop)

	g, err := startGRPCService(e.grpcMetricsAddr)
	if g != nil {
		cleanups = append(cleanups, g.Stop)
	}
	s.grpcErr = err

	s.driveTraffic()
	return s, cleanup, nil
}

// suiteFor returns the shared suite, or stops the test when the setup failed.
func suiteFor(t *testing.T) *suite {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("setup: %v", setupErr)
	}
	return the
}

func buildExamples(dir string, names ...string) error {
	for _, name := range names {
		src := filepath.Join("..", "examples", name)
		if _, err := os.Stat(src); err != nil {
			if name == "batch" {
				continue // TestPushgateway reports it missing; the rest can run
			}
			return fmt.Errorf("examples/%s: %w", name, err)
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./"+filepath.ToSlash(src))
		cmd.Dir = "."
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build examples/%s: %v\n%s", name, err, out)
		}
	}
	return nil
}

// driveTraffic sends the mix described above at a steady pace, so rates are known too.
func (s *suite) driveTraffic() {
	base := "http://" + s.quickstartAddr
	s.trafficT0 = time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	get := func(path, traceID string, want int) {
		defer wg.Done()
		code, err := getStatus(base+path, traceID)
		if err != nil || code != want {
			mu.Lock()
			errs = append(errs, fmt.Sprintf("GET %s: %d %v (want %d)", path, code, err, want))
			mu.Unlock()
		}
	}
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for i := range trafficTicks {
		trace := ""
		if i == trafficTicks/2 {
			trace = traceOrder
		}
		wg.Add(1)
		go get(fmt.Sprintf("/orders/%d", 1000+i), trace, http.StatusOK)
		if i%5 == 0 {
			wg.Add(1)
			go get(fmt.Sprintf("/no/such/page/%d", i), "", http.StatusNotFound)
		}
		if i%10 == 0 {
			wg.Add(1)
			go get("/checkout/book", "", http.StatusOK)
		}
		if i%4 == 0 {
			// The first panic carries the known trace: storm control sends an error's first
			// occurrence and counts the identical ones after it.
			trace := ""
			if i == 0 {
				trace = tracePanic
			}
			wg.Add(1)
			go get("/panic", trace, http.StatusInternalServerError)
		}
		<-tick.C
	}
	wg.Wait()
	s.trafficT1 = time.Now()
	// The second instance: one request, exported over OTLP HTTP.
	if code, err := getStatus("http://"+s.viaHTTP.addr+"/orders/7", traceHTTP); err != nil || code != 200 {
		errs = append(errs, fmt.Sprintf("GET /orders/7 on the OTLP/HTTP instance: %d %v", code, err))
	}
	if len(errs) > 10 {
		errs = append(errs[:10], fmt.Sprintf("... and %d more", len(errs)-10))
	}
	s.trafficErrs = errs
}

var client = &http.Client{Timeout: 5 * time.Second}

func getStatus(url, traceID string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if traceID != "" {
		req.Header.Set("traceparent", traceparent(traceID))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// eventually retries check every 250ms until it returns nil or d has passed.
func eventually(t *testing.T, d time.Duration, check func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %v: %v", d, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ctl starts or stops one of run.sh's servers.
func (s *suite) ctl(t *testing.T, verb, server string) {
	t.Helper()
	out, err := exec.Command("bash", s.env.ctl, verb, server).CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh %s %s: %v\n%s", verb, server, err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}

// TestRealBackends runs the checks in an order that matters: everything that reads the
// traffic's telemetry first, the fault-survival run (which stops servers) last.
func TestRealBackends(t *testing.T) {
	s := suiteFor(t)
	t.Run("traffic", func(t *testing.T) {
		if len(s.trafficErrs) > 0 {
			t.Errorf("the quick start answered otherwise than its routes promise: %s", strings.Join(s.trafficErrs, "; "))
		}
	})
	t.Run("prometheus", s.testPrometheus)
	t.Run("grpc", s.testGRPC)
	t.Run("dashboard", s.testDashboard)
	t.Run("alertmanager", s.testAlerts)
	t.Run("otlp", s.testOTLP)
	t.Run("sentry", s.testSentry)
	t.Run("statsd", s.testStatsDService)
	t.Run("statsd-library", s.testStatsDLibrary)
	t.Run("pushgateway", s.testPushgateway)
	t.Run("fault-survival", s.testFaultSurvival)
}
