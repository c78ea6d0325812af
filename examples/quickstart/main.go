// Command quickstart is a small net/http service instrumented with vigil: every request
// gets a span, metrics, an access-log line and a request id; errors and panics are
// captured with the request; a background worker shows the recover-and-capture pattern.
// The dev console is on: open http://localhost:8080/debug/vigil/ for the errors, traces,
// routes and log lines of this process, one click apart (it answers loopback clients only).
//
//	go run ./examples/quickstart -demo       # generates traffic: watch logs, spans, errors
//	go run ./examples/quickstart             # listens on :8080
//	open http://localhost:8080/debug/vigil/  # the dev console
//	curl localhost:8080/orders/42            # 200
//	curl localhost:8080/checkout/book        # a slow call through the instrumented client
//	curl localhost:8080/fail                 # 500 with a captured error
//	curl localhost:8080/panic                # a recovered panic: 500 and a captured event
//	curl localhost:8080/nope                 # 404, route "unmatched"
//	curl localhost:8080/metrics              # Prometheus exposition
//	curl localhost:8080/readyz               # readiness, with the inventory check
//
// Set SENTRY_DSN to send the captured errors to Sentry and OTEL_EXPORTER_OTLP_ENDPOINT
// (http://localhost:4318, a collector's OTLP/HTTP port; for its gRPC port 4317 also set
// OTEL_EXPORTER_OTLP_PROTOCOL=grpc), or OTEL_TRACES_EXPORTER=console, to export spans;
// with -demo and neither set, spans are printed to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/observe"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	demo := flag.Bool("demo", false, "generate demo traffic and a failing background job")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := observe.Config{Service: "quickstart"}
	cfg.Console.Enabled = true // the dev console at /debug/vigil/, for loopback clients
	cfg.Health.Enabled = true  // /livez and /readyz, answered by the middleware
	if *demo && os.Getenv("OTEL_TRACES_EXPORTER") == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" &&
		os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		// No tracing backend configured: print spans so the demo shows them.
		cfg.Tracing.Exporter = "stdout"
		cfg.Tracing.Output = os.Stderr
	}
	o, err := observe.Init(ctx, cfg)
	if err != nil {
		slog.Error("observe.Init", "error", err)
		os.Exit(1)
	}
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := o.Shutdown(shutdownCtx); err != nil {
			slog.Error("observe.Shutdown: telemetry lost", "error", err) // names what was not delivered
		}
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		observe.Logger().Error("listen", "addr", *addr, "error", err)
		return
	}
	base := "http://" + dialAddr(ln.Addr())
	a := newApp(base)
	// A readiness check for /readyz (and the console's health panel): the inventory service
	// (this same process here) accepts connections.
	if err := observe.AddCheck("inventory", func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", dialAddr(ln.Addr()))
		if err != nil {
			return err
		}
		return c.Close()
	}); err != nil {
		observe.Logger().Error("health check", "error", err)
	}
	srv := &http.Server{Handler: observe.Middleware(a.routes()), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()

	workEvery := 30 * time.Second
	if *demo {
		workEvery = 2 * time.Second
		go demoTraffic(ctx, base)
	}
	go worker(ctx, workEvery)

	console := base + observe.ConsolePath
	observe.Logger().Info("listening", "addr", ln.Addr().String(), "try", base+"/orders/42", "metrics", base+"/metrics", "console", console)
	fmt.Fprintln(os.Stderr, "vigil console: "+console)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		observe.Logger().Error("server", "error", err)
	}
}

// app holds what the handlers share: an instrumented HTTP client (its calls become child
// spans and client metrics) and a business metric.
type app struct {
	base    string
	client  *http.Client
	orders  *metrics.Counter
	latency *metrics.Histogram
}

func newApp(base string) *app {
	return &app{
		base:    base,
		client:  &http.Client{Transport: observe.Transport(nil), Timeout: 5 * time.Second},
		orders:  observe.Counter("quickstart_checkouts_total", "Checkouts by outcome.", "outcome"),
		latency: observe.Histogram("quickstart_inventory_wait_seconds", "Time spent waiting for inventory."),
	}
}

func (a *app) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", a.getOrder)
	mux.HandleFunc("GET /checkout/{sku}", a.checkout)
	mux.HandleFunc("GET /inventory/{sku}", a.inventory)
	mux.HandleFunc("GET /fail", a.fail)
	mux.HandleFunc("GET /panic", a.panics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("GET /metrics", observe.MetricsHandler())
	return mux
}

func (a *app) getOrder(w http.ResponseWriter, r *http.Request) {
	// This line carries the request's request_id, route, trace_id and span_id.
	observe.Logger().InfoContext(r.Context(), "order requested", "order_id", r.PathValue("id"))
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"id":%q,"status":"shipped"}`+"\n", r.PathValue("id"))
}

// checkout shows a child span around a slow call made through the instrumented client.
func (a *app) checkout(w http.ResponseWriter, r *http.Request) {
	sku := r.PathValue("sku")
	ctx, span := observe.Start(r.Context(), "reserve stock", trace.WithAttributes(attribute.String("sku", sku)))
	start := time.Now()
	err := a.reserve(ctx, sku)
	a.latency.ObserveContext(ctx, time.Since(start).Seconds())
	span.End()
	if err != nil {
		observe.Capture(r.Context(), err, slog.String("sku", sku))
		a.orders.With("failed").Inc()
		http.Error(w, "inventory unavailable", http.StatusBadGateway)
		return
	}
	a.orders.With("ok").Inc()
	_, _ = fmt.Fprintf(w, "reserved %s\n", sku)
}

func (a *app) reserve(ctx context.Context, sku string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/inventory/"+sku, nil)
	if err != nil {
		return err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("reserve %s: %w", sku, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reserve %s: inventory answered %s", sku, resp.Status)
	}
	return nil
}

// inventory is the slow downstream service (here, the same process).
func (a *app) inventory(w http.ResponseWriter, r *http.Request) {
	select {
	case <-time.After(time.Duration(50+rand.IntN(200)) * time.Millisecond):
	case <-r.Context().Done():
		return
	}
	_, _ = io.WriteString(w, "in stock\n")
}

var errPaymentDeclined = errors.New("payment provider: card declined")

func (a *app) fail(w http.ResponseWriter, r *http.Request) {
	// Capture sends the error with the request (method, URL, scrubbed headers), the
	// request id, route and trace id; without SENTRY_DSN it is logged.
	observe.Capture(r.Context(), fmt.Errorf("charge order: %w", errPaymentDeclined))
	http.Error(w, "payment failed", http.StatusInternalServerError)
}

func (a *app) panics(w http.ResponseWriter, r *http.Request) {
	// A child span with a log line inside: the console links the panic to this trace, the
	// trace to this span, and the span to its log line.
	ctx, span := observe.Start(r.Context(), "parse cart")
	items := strings.Split(r.URL.Query().Get("items"), ",")
	span.SetAttributes(attribute.Int("cart.items", len(items)))
	observe.Logger().InfoContext(ctx, "parsing cart", "items", len(items))
	span.End()
	_, _ = io.WriteString(w, items[2]) // index out of range for short carts: the middleware recovers
}

// worker runs a job periodically outside any request. Goroutines need their own recover:
// a panic there would kill the process, and the middleware cannot see it.
func worker(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		runJob(ctx, n)
	}
}

func runJob(ctx context.Context, n int) {
	ctx, span := observe.Start(ctx, "reconcile payments", trace.WithAttributes(attribute.Int("job", n)))
	defer span.End()
	defer func() {
		if r := recover(); r != nil {
			observe.Capture(ctx, r)
		}
	}()
	observe.Logger().InfoContext(ctx, "job started", "job", n)
	if n%3 == 2 {
		var batches []string
		_ = batches[n] // index out of range: recovered above and captured with its stack
	}
}

// demoTraffic calls the service like a mix of users and scanners would, and after a few
// seconds prints the request-duration counts from /metrics.
func demoTraffic(ctx context.Context, base string) {
	client := &http.Client{Timeout: 5 * time.Second}
	paths := []string{
		"/orders/42", "/orders/7", "/orders/42?token=secret", "/checkout/book", "/checkout/lamp",
		"/fail", "/panic", "/wp-login.php", "/healthz",
	}
	fmt.Fprintln(os.Stderr, "demo: sending traffic; stdout has JSON logs (access lines, captured errors), stderr has spans")
	shown := time.After(3 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-shown:
			showMetrics(client, base)
		case <-tick.C:
			resp, err := client.Get(base + paths[rand.IntN(len(paths))])
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

func showMetrics(client *http.Client, base string) {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Fprintln(os.Stderr, "demo: request counts from "+base+"/metrics:")
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "http_server_request_duration_seconds_count") ||
			strings.HasPrefix(line, "http_client_request_duration_seconds_count") {
			fmt.Fprintln(os.Stderr, "  "+line)
		}
	}
}

// dialAddr turns a listener address into one a client can dial ("[::]:8080" ->
// "localhost:8080").
func dialAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
