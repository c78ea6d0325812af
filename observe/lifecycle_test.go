package observe_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/observe"
)

// lcConfig is an Init Config that starts nothing in the background and logs to out.
func lcConfig(out *logtest.Buffer) observe.Config {
	var cfg observe.Config
	cfg.Service = "lifecycle"
	cfg.Logging.Output = out
	cfg.Metrics.DisableHostCollector = true
	cfg.Tracing.Exporter = "none"
	return cfg
}

// toFallback shuts down whatever Observers earlier tests left live, so the package is
// on its fallback, and returns the fallback.
func toFallback(t *testing.T) *observe.Observer {
	t.Helper()
	for range 100 {
		before := observe.Default()
		_ = observe.Shutdown(context.Background())
		if observe.Default() == before {
			return before
		}
	}
	t.Fatal("Observers keep being live")
	return nil
}

func lcScrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// series returns the value of the exposition line that starts with prefix ("" if none).
func lcSeries(exposition, prefix string) string {
	for _, l := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix+" "); ok {
			return rest
		}
	}
	return ""
}

var lcRun atomic.Int64 // metric names unique per run, as the fallback lives for the process

// lcStatsD collects the lines sent to a UDP socket.
func lcStatsD(t *testing.T) (addr string, lines func() []string) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String(), func() []string {
		var out []string
		buf := make([]byte, 65536)
		for {
			_ = pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return out
			}
			out = append(out, strings.Split(string(buf[:n]), "\n")...)
		}
	}
}

// Handles defined before Init (package-level variables) are exported by the Init'd
// Observer, Prometheus and StatsD alike, with what they recorded before Init.
func TestHandlesMadeBeforeInitAreExported(t *testing.T) {
	toFallback(t)
	n := lcRun.Add(1)
	name := func(s string) string { return fmt.Sprintf("lc%d_%s", n, s) }

	// The promauto idiom: defined at package level, before main calls Init.
	var (
		jobs     = observe.Counter(name("jobs_total"), "Jobs.")
		byRoute  = observe.Counter(name("requests_total"), "Requests.", "route")
		kept     = byRoute.With("/kept")
		inflight = observe.Gauge(name("in_flight"), "In flight.")
		sizes    = observe.Histogram(name("size_bytes"), "Sizes.", "route")
		took     = observe.Timer(name("job_seconds"), "Job time.")
		metrics  = observe.MetricsHandler() // mounted before Init too
	)
	use := func() {
		jobs.Inc()
		byRoute.With("/a").Inc()
		kept.Inc()
		inflight.Inc()
		sizes.With("/a").Observe(3)
		took.Observe(time.Second)
	}
	use()

	addr, statsdLines := lcStatsD(t)
	var out logtest.Buffer
	cfg := lcConfig(&out)
	cfg.Metrics.StatsD.Addr = addr
	cfg.Metrics.StatsD.FlushInterval = time.Hour // only Shutdown's final flush
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	use()

	want := map[string]string{
		name("jobs_total"):                         "2",
		name("requests_total") + `{route="/a"}`:    "2",
		name("requests_total") + `{route="/kept"}`: "2",
		name("in_flight"):                          "2",
		name("size_bytes_count") + `{route="/a"}`:  "2",
		name("size_bytes_sum") + `{route="/a"}`:    "6",
		name("job_seconds_count"):                  "2",
	}
	for _, h := range []struct {
		what string
		h    http.Handler
	}{{"Observer.MetricsHandler", o.MetricsHandler()}, {"MetricsHandler mounted before Init", metrics}} {
		exp := lcScrape(t, h.h)
		for prefix, v := range want {
			if got := lcSeries(exp, prefix); got != v {
				t.Errorf("%s: %s = %q, want %s", h.what, prefix, got, v)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	lines := statsdLines()
	for _, l := range []string{name("jobs_total") + ":2|c", name("in_flight") + ":2|g"} {
		if !slices.ContainsFunc(lines, func(s string) bool { return strings.HasPrefix(s, l) }) {
			t.Errorf("StatsD lines %q lack %q", lines, l)
		}
	}

	// After Shutdown the handles record into the fallback again, which the handler
	// mounted before Init serves; the gauge's value came back with it.
	use()
	exp := lcScrape(t, metrics)
	if got := lcSeries(exp, name("in_flight")); got != "3" {
		t.Errorf("after Shutdown: in_flight = %q, want 3", got)
	}
	if got := lcSeries(exp, name("requests_total")+`{route="/kept"}`); got != "1" {
		t.Errorf("after Shutdown: kept series = %q, want 1 (counted since Shutdown)", got)
	}
}

// lcExporter keeps spans across Shutdown.
type lcExporter struct{ *tracetest.InMemoryExporter }

func (lcExporter) Shutdown(context.Context) error { return nil }

// A Middleware, a Transport and gRPC options made before Init use the Init'd Observer:
// requests are counted in its registry and their spans reach its exporter.
func TestWrappedBeforeInitUsesInitdObserver(t *testing.T) {
	toFallback(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	mw := observe.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	rt := observe.Transport(nil)
	srv := httptest.NewServer(mw)
	defer srv.Close()
	client := &http.Client{Transport: rt}
	defer client.CloseIdleConnections()

	lis := bufconn.Listen(1 << 16)
	gs := grpc.NewServer(observe.GRPCServerOptions()...)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	served := make(chan struct{})
	go func() { defer close(served); _ = gs.Serve(lis) }()
	defer func() { gs.Stop(); <-served }()
	conn, err := grpc.NewClient("passthrough:///bufnet", append(observe.GRPCDialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	exp := tracetest.NewInMemoryExporter()
	var out logtest.Buffer
	cfg := lcConfig(&out)
	cfg.Tracing.Exporter = ""
	cfg.Tracing.SpanExporter = lcExporter{exp}
	cfg.GRPC.Skip = []string{} // the health service gets spans too
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	resp, err := client.Get(srv.URL + "/brew")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}

	// The servers record a call once their handler has returned, which may be just after
	// the client has its answer: wait (bounded) for all four series.
	want := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^http_server_request_duration_seconds_count\{[^}]*http_response_status_code="418"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^http_client_request_duration_seconds_count\{[^}]*http_response_status_code="418"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^rpc_server_call_duration_seconds_count\{[^}]*rpc_method="grpc.health.v1.Health/Check"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^rpc_client_call_duration_seconds_count\{[^}]*rpc_method="grpc.health.v1.Health/Check"[^}]*\} 1$`),
	}
	var exposition string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		exposition = lcScrape(t, o.MetricsHandler())
		if !slices.ContainsFunc(want, func(re *regexp.Regexp) bool { return !re.MatchString(exposition) }) || time.Now().After(deadline) {
			break
		}
	}
	for _, re := range want {
		if !re.MatchString(exposition) {
			t.Errorf("the Init'd registry lacks %s:\n%s", re, exposition)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range exp.GetSpans() {
		kinds = append(kinds, s.SpanKind.String())
	}
	slices.Sort(kinds)
	if want := []string{"client", "client", "server", "server"}; !slices.Equal(kinds, want) {
		t.Errorf("exported span kinds %q, want %q (HTTP and gRPC, each end)", kinds, want)
	}

	// After Shutdown the same wrappers fall back: still served, nothing exported.
	resp, err = client.Get(srv.URL + "/brew")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || len(exp.GetSpans()) != 4 {
		t.Errorf("after Shutdown: status %d, %d spans", resp.StatusCode, len(exp.GetSpans()))
	}
}

// TestShutdownOrder runs every order of shutting two or three Observers down: at each
// step the default, slog's default, the log package's output, OpenTelemetry's tracer
// provider and propagator and the handles made before Init belong to the most recent
// Observer still live, and in the end everything is as it was before the first Init.
func TestShutdownOrder(t *testing.T) {
	type observer struct {
		name      string
		noGlobals bool
	}
	var cases [][]observer
	for _, n := range []int{2, 3} {
		all := []observer{{name: "A"}, {name: "B"}, {name: "C"}}[:n]
		cases = append(cases, all)
		// And with the most recent one leaving the globals alone.
		last := slices.Clone(all)
		last[n-1].noGlobals = true
		cases = append(cases, last)
	}
	for _, obs := range cases {
		for _, order := range permutations(len(obs)) {
			var label []string
			for _, i := range order {
				label = append(label, obs[i].name)
			}
			ng := ""
			if obs[len(obs)-1].noGlobals {
				ng = fmt.Sprintf(" (%s NoGlobals)", obs[len(obs)-1].name)
			}
			t.Run(fmt.Sprintf("init %d, shut down %s%s", len(obs), strings.Join(label, ""), ng), func(t *testing.T) {
				fb := toFallback(t)
				defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
				before := struct {
					logger  *slog.Logger
					logOut  any
					tp, pro any
				}{slog.Default(), log.Writer(), otel.GetTracerProvider(), otel.GetTextMapPropagator()}
				handleName := fmt.Sprintf("lc%d_order_total", lcRun.Add(1))
				handle := observe.Counter(handleName, "Order.")

				type state struct {
					name      string
					o         *observe.Observer
					noGlobals bool
					prop      any
				}
				var live []state
				for _, ob := range obs {
					var out logtest.Buffer
					cfg := lcConfig(&out)
					cfg.NoGlobals = ob.noGlobals
					o, err := observe.Init(context.Background(), cfg)
					if err != nil {
						t.Fatal(err)
					}
					live = append(live, state{name: ob.name, o: o, noGlobals: ob.noGlobals, prop: otel.GetTextMapPropagator()})
				}
				check := func(step string) {
					t.Helper()
					wantDefault := fb
					if len(live) > 0 {
						wantDefault = live[len(live)-1].o
					}
					if observe.Default() != wantDefault {
						t.Errorf("%s: package default is not the most recent live Observer", step)
					}
					owner := -1
					for i := len(live) - 1; i >= 0; i-- {
						if !live[i].noGlobals {
							owner = i
							break
						}
					}
					if owner < 0 {
						if slog.Default() != before.logger || log.Writer() != before.logOut ||
							otel.GetTracerProvider() != before.tp || otel.GetTextMapPropagator() != before.pro {
							t.Errorf("%s: globals not restored to what they were before Init", step)
						}
					} else {
						o := live[owner]
						if slog.Default() != o.o.Logger() {
							t.Errorf("%s: slog.Default is not the owner's logger", step)
						}
						if otel.GetTracerProvider() != o.o.Tracing().TracerProvider() {
							t.Errorf("%s: OpenTelemetry's tracer provider is not the owner's", step)
						}
						if otel.GetTextMapPropagator() != o.prop {
							t.Errorf("%s: OpenTelemetry's propagator is not the owner's", step)
						}
					}
					// The handle made before Init records into the default's registry.
					handle.Inc()
					if len(live) > 0 && lcSeries(lcScrape(t, wantDefault.MetricsHandler()), handleName) == "" {
						t.Errorf("%s: the handle made before Init is not exported by the default", step)
					}
				}
				check("after Init")
				for _, i := range order {
					ob := obs[i]
					o := live[slices.IndexFunc(live, func(s state) bool { return s.name == ob.name })].o
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					if err := o.Shutdown(ctx); err != nil {
						t.Errorf("Shutdown %s: %v", ob.name, err)
					}
					cancel()
					live = slices.DeleteFunc(live, func(s state) bool { return s.o == o })
					check("after Shutdown " + ob.name)
				}
			})
		}
	}
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := slices.Insert(slices.Clone(p), i, n-1)
			out = append(out, q)
		}
	}
	return out
}

// With a Sentry that never answers and a context without a deadline, Shutdown returns
// by Config.ShutdownTimeout, its error names what the errors part lost, and nothing of
// the Observer is left running.
func TestShutdownWithoutDeadlineIsBoundedAndNamesLoss(t *testing.T) {
	toFallback(t)
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // after the server's cleanup
	srv := sentrytest.NewServer(t)
	srv.Hang()
	var out logtest.Buffer
	cfg := lcConfig(&out)
	cfg.Errors.DSN = srv.DSN()
	cfg.Errors.Timeout = time.Minute
	cfg.ShutdownTimeout = 300 * time.Millisecond
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		o.Capture(context.Background(), errors.New("down"))
	}
	// Without the bound this would wait for the minute-long timeout of every event.
	err = o.Shutdown(context.Background())
	t.Logf("Shutdown: %v", err)
	if err == nil || !strings.Contains(err.Error(), "errors") {
		t.Errorf("Shutdown = %v, want an error naming what the errors part lost", err)
	}
}

// Shutting the fallback down (Default() before Init) does nothing: it serves the
// package for the life of the process.
func TestFallbackShutdownIsANoOp(t *testing.T) {
	fb := toFallback(t)
	if err := fb.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("lc%d_after_fallback_shutdown_total", lcRun.Add(1))
	observe.Counter(name, "").Inc()
	if got := lcSeries(lcScrape(t, observe.MetricsHandler()), name); got != "1" {
		t.Errorf("%s = %q after the fallback's Shutdown, want 1", name, got)
	}
	ctx, span := observe.Start(context.Background(), "after")
	if !span.SpanContext().IsValid() {
		t.Error("spans of the fallback lost their ids")
	}
	span.End()
	observe.Capture(ctx, errors.New("still logged"))
}

// Init and Shutdown racing with handles, wrappers and package functions in use: no
// race, no deadlock, no panic, and every request answered.
func TestLifecycleUnderConcurrentUse(t *testing.T) {
	toFallback(t)
	n := lcRun.Add(1)
	hits := observe.Counter(fmt.Sprintf("lc%d_hits_total", n), "", "route")
	depth := observe.Gauge(fmt.Sprintf("lc%d_depth", n), "")
	h := observe.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.With(r.URL.Path).Inc()
		depth.Inc()
		defer depth.Dec()
		observe.Logger().DebugContext(r.Context(), "served")
	}))
	stop := make(chan struct{})
	var served atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("/r%d", (w+i)%3), nil))
				if rec.Code == http.StatusOK {
					served.Add(1)
				}
				_, span := observe.Start(context.Background(), "work")
				span.End()
			}
		})
	}
	for range 10 {
		var out logtest.Buffer
		a, errA := observe.Init(context.Background(), lcConfig(&out))
		b, errB := observe.Init(context.Background(), lcConfig(&out))
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		_ = a.Shutdown(context.Background())
		_ = b.Shutdown(context.Background())
	}
	close(stop)
	wg.Wait()
	if served.Load() == 0 {
		t.Error("no request served")
	}
}
