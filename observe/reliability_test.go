package observe_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/goleak"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/vigil-go/vigil/internal/envtest"
	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/observe"
)

// fullScale reports whether the reliability tests run at full scale (.ci/stages/30-fuzz.sh).
func fullScale() bool { return os.Getenv("VIGIL_RELIABILITY_FULL") == "1" }

// statsdListener records the UDP packets sent to it.
type statsdListener struct {
	pc   net.PacketConn
	mu   sync.Mutex
	buf  strings.Builder
	done chan struct{}
}

func listenStatsD(t *testing.T) *statsdListener {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &statsdListener{pc: pc, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		b := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			l.mu.Lock()
			l.buf.Write(b[:n])
			l.buf.WriteByte('\n')
			l.mu.Unlock()
		}
	}()
	t.Cleanup(l.close)
	return l
}

func (l *statsdListener) addr() string { return l.pc.LocalAddr().String() }
func (l *statsdListener) close()       { l.pc.Close(); <-l.done }
func (l *statsdListener) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// refusedUDP returns a loopback UDP address where nothing listens.
func refusedUDP(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// Every backend dead at once: Sentry and the Pushgateway hang, the OTLP collector and the
// Graphite server are black holes, StatsD refuses. Work keeps flowing without blocking,
// and Shutdown with a 5 s deadline returns within about 5 s because the parts stop in
// parallel under the one deadline.
func TestReliabilityEveryBackendDead(t *testing.T) {
	clearEnv(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // after the servers' own cleanups
	sentry := sentrytest.NewServer(t)
	sentry.Hang()
	collector, pushgw, graphite := otlptest.StartBlackHole(t), otlptest.StartBlackHole(t), otlptest.StartBlackHole(t)

	var out syncBuffer
	cfg := quiet(&out)
	cfg.NoGlobals = true
	cfg.Errors.DSN = sentry.DSN()
	cfg.Errors.Timeout = time.Minute
	cfg.Errors.DedupWindow, cfg.Errors.MaxEventsPerSecond = -1, -1 // every capture goes for the queue
	cfg.Tracing.Exporter, cfg.Tracing.Endpoint, cfg.Tracing.Protocol = "otlp", "http://"+collector.Addr, "grpc"
	cfg.Tracing.ExportTimeout = time.Minute
	cfg.Metrics.StatsD.Addr, cfg.Metrics.StatsD.FlushInterval = refusedUDP(t), 20*time.Millisecond
	cfg.Metrics.Push.URL, cfg.Metrics.Push.Job, cfg.Metrics.Push.Interval = "http://"+pushgw.Addr, "probe", 50*time.Millisecond
	cfg.Metrics.Graphite.Addr, cfg.Metrics.Graphite.Interval = graphite.Addr, 50*time.Millisecond
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := o.Counter("work_total", "work done")
	var slowest time.Duration
	// A fixed amount of work, more than the Sentry queue (100) and the span queue (2048 plus
	// a batch in flight) hold, so drops happen however fast the machine is.
	for i := range 3000 {
		t0 := time.Now()
		ctx, span := o.Start(context.Background(), "work")
		o.Capture(ctx, fmt.Errorf("failure %d", i))
		o.Logger().InfoContext(ctx, "working", "i", i)
		c.Inc()
		span.End()
		slowest = max(slowest, time.Since(t0))
	}
	// Every network timeout here is a minute: a unit of work that waited on one would show.
	if slowest > envtest.Blocked {
		t.Errorf("one unit of work took %v with every backend dead", slowest)
	}

	const deadline = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err = o.Shutdown(ctx)
	took := time.Since(start)
	t.Logf("reliability: Shutdown(%v) with every backend dead returned in %v: %v", deadline, took, err)
	// Only the deadline can end it (the parts' synctest tests check it returns at the deadline).
	if took > deadline+envtest.Blocked {
		t.Errorf("Shutdown took %v, deadline %v", took, deadline)
	}
	if err == nil {
		t.Error("Shutdown reported nothing although Sentry never answered")
	}
	s := o.Reporter().Stats()
	t.Logf("reliability: slowest unit of work %v; errors stats %+v; spans dropped %d", slowest, s, o.Tracing().Dropped())
	if s.QueueFull == 0 || o.Tracing().Dropped() == 0 {
		t.Error("drops not counted")
	}
}

// Init and Shutdown a thousand times, with a Sentry server, an OTLP receiver and a StatsD
// listener configured: no goroutine and no file descriptor survives.
func TestReliabilityInitShutdownLoop(t *testing.T) {
	clearEnv(t)
	sentry := sentrytest.NewServer(t)
	collector := otlptest.StartGRPC(t)
	statsd := listenStatsD(t)
	ignore := goleak.IgnoreCurrent()
	n := 1000
	if testing.Short() {
		n = 100
	}
	fds := openFDs(t)
	start := time.Now()
	for i := range n {
		var out syncBuffer
		cfg := quiet(&out)
		cfg.Errors.DSN = sentry.DSN()
		cfg.Tracing.Exporter, cfg.Tracing.Endpoint, cfg.Tracing.Protocol = "otlp", collector.URL, "grpc"
		cfg.Metrics.StatsD.Addr = statsd.addr()
		o, err := observe.Init(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, span := o.Start(context.Background(), "cycle")
		span.End()
		o.Counter("cycles_total", "").Inc()
		if i%100 == 0 {
			o.Capture(context.Background(), fmt.Errorf("cycle %d", i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := o.Shutdown(ctx); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		cancel()
	}
	took := time.Since(start)
	goleak.VerifyNone(t, ignore)
	// Idle keep-alive connections of the test servers' own side may linger briefly.
	var after int
	for range 50 {
		if after = openFDs(t); after <= fds {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("reliability: %d Init/Shutdown cycles in %v (%v each); open fds %d before, %d after; %d spans received",
		n, took, took/time.Duration(n), fds, after, len(collector.Spans()))
	if after > fds {
		t.Errorf("%d file descriptors leaked over %d cycles", after-fds, n)
	}
	if got := len(collector.Spans()); got < n {
		t.Errorf("%d spans received from %d cycles: Shutdown did not flush", got, n)
	}
}

// Capture, logging, metric updates and span ends race with Shutdown and keep going after
// it: nothing panics, nothing races (run under -race), nothing is left running.
func TestReliabilityConcurrentUseAndShutdown(t *testing.T) {
	clearEnv(t)
	sentry := sentrytest.NewServer(t)
	collector := otlptest.StartHTTP(t)
	statsd := listenStatsD(t)
	ignore := goleak.IgnoreCurrent()
	for round := range 5 {
		var out syncBuffer
		cfg := quiet(&out)
		cfg.Errors.DSN = sentry.DSN()
		cfg.Tracing.Exporter, cfg.Tracing.Endpoint, cfg.Tracing.Protocol = "otlp", collector.URL, "http/protobuf"
		cfg.Metrics.StatsD.Addr, cfg.Metrics.StatsD.FlushInterval = statsd.addr(), 10*time.Millisecond
		o, err := observe.Init(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := o.Counter("ops_total", "", "worker")
				h := o.Histogram("op_seconds", "")
				for i := 0; !stop.Load(); i++ {
					ctx, span := observe.Start(context.Background(), "op")
					span.SetAttributes(attribute.Int("i", i))
					switch i % 4 {
					case 0:
						o.Capture(ctx, fmt.Errorf("round %d worker %d op %d", round, w, i%7))
					case 1:
						o.Logger().InfoContext(ctx, "op", "i", i)
					case 2:
						c.With(fmt.Sprint(w)).Inc()
						observe.Counter("global_total", "").Inc()
					case 3:
						h.Observe(float64(i))
					}
					span.End()
					runtime.Gosched()
				}
			}()
		}
		time.Sleep(30 * time.Millisecond)
		var sd sync.WaitGroup
		for range 3 { // concurrent Shutdown calls, as from several signal handlers
			sd.Add(1)
			go func() {
				defer sd.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = o.Shutdown(ctx)
			}()
		}
		sd.Wait()
		time.Sleep(20 * time.Millisecond) // keep working after Shutdown: the fallback takes over
		stop.Store(true)
		wg.Wait()
	}
	goleak.VerifyNone(t, ignore)
}

// secretMark is in every secret the probe sends; none of the outputs may contain it.
const secretMark = "s3cr3t"

// The secrets probe: one Observer with every output live (Sentry, OTLP, JSON log,
// /metrics, StatsD) receives requests carrying secrets in every place a client or the
// program can put them; none of them reaches any output.
func TestReliabilitySecretsProbe(t *testing.T) {
	clearEnv(t)
	sentry := sentrytest.NewServer(t)
	collector := otlptest.StartHTTP(t)
	statsd := listenStatsD(t)
	var out syncBuffer
	cfg := quiet(&out)
	cfg.NoGlobals = true
	cfg.Service = "probe"
	cfg.Logging.Level = slog.LevelDebug
	cfg.Errors.DSN = sentry.DSN()
	cfg.Errors.DedupWindow = -1
	cfg.Tracing.Exporter, cfg.Tracing.Endpoint, cfg.Tracing.Protocol = "otlp", collector.URL, "http/protobuf"
	cfg.Metrics.StatsD.Addr, cfg.Metrics.StatsD.FlushInterval = statsd.addr(), 10*time.Millisecond
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	labelled := o.Counter("probe_logins_total", "logins by token", "token")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ctx, span := o.Start(r.Context(), "check password")
		span.SetAttributes(attribute.String("user.password", "s3cr3t-span-attr"), attribute.Int("body.bytes", len(body)))
		span.End()
		o.Logger().InfoContext(ctx, "login attempt", "password", "s3cr3t-slog-pw",
			slog.Group("db", "api_key", "s3cr3t-slog-key", "dsn_secret", "s3cr3t-slog-dsn"), "Authorization", "Bearer s3cr3t-slog-authz")
		labelled.With("s3cr3t-label").Inc()
		o.Capture(ctx, errors.New("login failed"), slog.String("session_id", "s3cr3t-capture-attr"))
		http.Error(w, "no", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("probe panic") })
	srv := httptest.NewServer(o.Middleware(mux))
	defer srv.Close()

	client := &http.Client{Transport: o.Transport(nil)}
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("probe", "s3cr3t-userinfo")
	query := "?token=s3cr3t-q-token&password=s3cr3t-q-pw&X-Amz-Signature=s3cr3t-q-sig&page=2"
	for _, req := range []struct {
		method, path, ctype, body string
	}{
		{"POST", "/login", "application/json", `{"user":"bob","password":"s3cr3t-json-pw","nested":{"api_key":"s3cr3t-json-key"}}`},
		{"POST", "/login", "application/x-www-form-urlencoded", "user=bob&password=s3cr3t-form-pw&csrf_token=s3cr3t-form-csrf"},
		{"GET", "/panic", "", ""},
		{"GET", "/missing", "", ""},
	} {
		r, err := http.NewRequest(req.method, u.String()+req.path+query, strings.NewReader(req.body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", req.ctype)
		r.Header.Set("Authorization", "Bearer s3cr3t-authz")
		r.Header.Set("Cookie", "session=s3cr3t-cookie")
		r.Header.Set("X-Auth-Token", "s3cr3t-x-auth")
		r.Header.Set("X-CSRF-Token", "s3cr3t-csrf")
		r.Header.Set("X-Amz-Security-Token", "s3cr3t-amz")
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	// gRPC: a handler that panics makes the middleware report the call with its metadata.
	hc := startGRPC(t, o, panicHealth{health.NewServer()})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer s3cr3t-grpc-authz",
		"x-api-key", "s3cr3t-grpc-key", "cookie", "sid=s3cr3t-grpc-cookie", "tenant", "acme")
	_, _ = hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "token=s3cr3t-grpc-body"})

	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	exposition := rec.Body.String()
	ctx5, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.Shutdown(ctx5); err != nil {
		t.Fatal(err)
	}

	var events strings.Builder
	for _, b := range sentry.RawBodies() {
		events.Write(b)
	}
	var spans strings.Builder
	for _, rs := range collector.ResourceSpans() {
		spans.WriteString(rs.String())
	}
	outputs := map[string]string{
		"Sentry events": events.String(), "spans": spans.String(), "log": out.String(),
		"/metrics": exposition, "StatsD": statsd.text(),
	}
	for name, text := range outputs {
		if text == "" {
			t.Errorf("%s: nothing recorded, the probe proves nothing", name)
		}
		for i := 0; ; {
			j := strings.Index(text[i:], secretMark)
			if j < 0 {
				break
			}
			at := i + j
			t.Errorf("%s leaks a secret: …%s…", name, text[max(0, at-80):min(len(text), at+40)])
			i = at + len(secretMark)
		}
	}
	for _, want := range []string{"Sentry events", "spans", "log"} {
		if !strings.Contains(outputs[want], "[REDACTED]") {
			t.Errorf("%s: no [REDACTED] value: secrets were dropped silently or never recorded", want)
		}
	}
	t.Logf("reliability: secrets probe scanned %d bytes of events, %d of spans, %d of log, %d of /metrics, %d of StatsD",
		len(outputs["Sentry events"]), len(outputs["spans"]), len(outputs["log"]), len(exposition), len(outputs["StatsD"]))
}

// A user's background goroutine with the recover pattern: the panic is reported and
// logged, the host program goes on.
func TestReliabilityBackgroundGoroutinePanic(t *testing.T) {
	clearEnv(t)
	sentry := sentrytest.NewServer(t)
	var out syncBuffer
	cfg := quiet(&out)
	cfg.NoGlobals = true
	cfg.Errors.DSN = sentry.DSN()
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	done := make(chan string)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- o.Capture(context.Background(), r, slog.String("job", "nightly"))
			}
		}()
		idx := len(os.Args) + 10
		_ = []int{1}[idx] // a runtime error panic
	}()
	id := <-done
	ev := sentry.WaitForEvents(t, 1, 5*time.Second)[0]
	if id == "" || string(ev.EventID) != id {
		t.Errorf("event id %q, Capture returned %q", ev.EventID, id)
	}
	if len(ev.Exception) == 0 || !strings.Contains(ev.Exception[len(ev.Exception)-1].Value, "index out of range") {
		t.Errorf("exception %+v", ev.Exception)
	}
	if ex := ev.Exception[len(ev.Exception)-1]; ex.Stacktrace == nil || len(ex.Stacktrace.Frames) == 0 {
		t.Error("no stack trace")
	}
	if !strings.Contains(out.String(), "index out of range") {
		t.Errorf("not logged: %s", out.String())
	}
}

// Hostile backends: a Sentry endpoint and an OTLP/HTTP collector that answer with an
// endless body, or trickle it a byte at a time. Reads stay bounded, nothing grows the
// heap, and Shutdown still meets its deadline.
func TestReliabilityHostileBackends(t *testing.T) {
	endless := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, io.LimitReader(zeros{}, 1<<30)) // a 1 GB answer, never buffered here
	}
	trickle := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		for {
			if _, err := w.Write([]byte{' '}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{{"1GB body", endless}, {"trickle", trickle}} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			hostile := httptest.NewServer(tc.handler)
			defer hostile.Close()
			defer hostile.CloseClientConnections()
			ignore := goleak.IgnoreCurrent()
			u, _ := url.Parse(hostile.URL)
			var out syncBuffer
			cfg := quiet(&out)
			cfg.NoGlobals = true
			cfg.Errors.DSN = "http://" + sentrytest.PublicKey + "@" + u.Host + "/42"
			cfg.Errors.Timeout = time.Second
			cfg.Tracing.Exporter, cfg.Tracing.Endpoint, cfg.Tracing.Protocol = "otlp", hostile.URL+"/v1/traces", "http/protobuf"
			cfg.Tracing.ExportTimeout = time.Second
			before := heapNow()
			o, err := observe.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for i := range 2 {
				ctx, span := o.Start(context.Background(), "op")
				o.Capture(ctx, fmt.Errorf("hostile %d", i))
				span.End()
			}
			// Had a unit of work waited on the backend, it would have taken a 1s timeout.
			if d := time.Since(start); d >= cfg.Errors.Timeout {
				t.Errorf("work took %v against a hostile backend", d)
			}
			// Let both parts run into the hostile answers, in parallel as Shutdown does:
			// two events and one batch, each bounded by its 1s timeout. Given a minute, the
			// flushes must end by those timeouts, long before their context does.
			var wg sync.WaitGroup
			var flushed bool
			var ferr error
			fctx, fcancel := context.WithTimeout(context.Background(), time.Minute)
			wg.Add(2)
			go func() { defer wg.Done(); flushed = o.Reporter().Flush(fctx) }()
			go func() { defer wg.Done(); ferr = o.Tracing().ForceFlush(fctx) }()
			wg.Wait()
			unbounded := fctx.Err() != nil
			fcancel()
			t.Logf("reliability: %s: flush after %v: sentry %v, tracing %v", tc.name, time.Since(start), flushed, ferr)
			if unbounded {
				t.Errorf("flushing lasted %v, until its context ended: a read was not bounded by the 1s timeouts", time.Since(start))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			sstart := time.Now()
			_ = o.Shutdown(ctx)
			grown := int64(heapNow()) - int64(before)
			t.Logf("reliability: %s: shutdown in %v, heap grew %d KB, errors %+v", tc.name, time.Since(sstart), grown>>10, o.Reporter().Stats())
			if d := time.Since(sstart); d > 2*time.Second+envtest.Blocked {
				t.Errorf("Shutdown took %v, deadline 2s", d)
			}
			if grown > 32<<20 {
				t.Errorf("heap grew %d MB reading a hostile answer", grown>>20)
			}
			hostile.CloseClientConnections()
			goleak.VerifyNone(t, ignore)
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Random traffic from scanners and proxies: random methods, paths, user agents,
// X-Forwarded-For and gRPC peers. Every metric's series stay under the cap and the heap
// stays flat. 50,000 requests in the normal suite; a million with VIGIL_RELIABILITY_FULL=1.
func TestReliabilityRandomTraffic(t *testing.T) {
	clearEnv(t)
	n := 50_000
	if fullScale() {
		n = 1_000_000
	}
	var out syncBuffer
	cfg := quiet(&out)
	cfg.NoGlobals = true
	cfg.HTTP.DisableAccessLog = true // a million access lines would measure the buffer, not us
	cfg.GRPC.DisableAccessLog = true
	cfg.Metrics.DisableGoCollector, cfg.Metrics.DisableProcessCollector = true, true
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	h := o.Middleware(mux)
	hc := startGRPC(t, o, okHealth{})
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "BREW", "get", "X" + strings.Repeat("Y", 100)}
	rng := rand.New(rand.NewPCG(7, 11))
	randomRequest := func(i int) *http.Request {
		var path string
		switch rng.IntN(4) {
		case 0:
			path = fmt.Sprintf("/orders/%d", rng.Int())
		case 1:
			path = "/orders"
		case 2:
			path = fmt.Sprintf("/%x/%x?q=%d", rng.Uint64(), rng.Uint64(), i)
		default:
			path = fmt.Sprintf("/wp-admin/%d.php", i)
		}
		req := httptest.NewRequest(methods[rng.IntN(len(methods))], path, nil)
		req.Header.Set("User-Agent", fmt.Sprintf("scanner/%d (%x)", rng.Int(), rng.Uint64()))
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("%d.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256)))
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:%d", rng.IntN(256), rng.IntN(256), rng.IntN(256), 1024+rng.IntN(60000))
		return req
	}
	run := func(count int) {
		for i := range count {
			h.ServeHTTP(discardWriter{}, randomRequest(i))
			if i%50 == 0 { // gRPC calls from random services and peers
				svc := fmt.Sprintf("svc-%d", rng.Int())
				_, _ = hc.Check(metadata.AppendToOutgoingContext(context.Background(),
					"x-forwarded-for", fmt.Sprint(rng.Int()), "user-agent", svc), &healthpb.HealthCheckRequest{Service: svc})
			}
		}
	}
	run(n / 10) // warm up: every bounded series exists
	before := heapNow()
	start := time.Now()
	run(n)
	took := time.Since(start)
	after := heapNow()

	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	series := map[string]int{}
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(l, "{")
		name, _, _ = strings.Cut(name, " ")
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			name = strings.TrimSuffix(name, suf)
		}
		series[name]++
	}
	worst, worstName := 0, ""
	for name, c := range series {
		if c > worst {
			worst, worstName = c, name
		}
	}
	grown := int64(after) - int64(before)
	t.Logf("reliability: %d random requests (+%d gRPC calls) in %v (%v each); heap %d KB -> %d KB (%+d KB); largest family %s with %d samples",
		n, n/50, took, took/time.Duration(n), before>>10, after>>10, grown>>10, worstName, worst)
	const cap = 2000 // the default series limit per family, plus buckets per series below
	for name, c := range series {
		if c > 20*cap {
			t.Errorf("%s has %d samples: unbounded", name, c)
		}
	}
	if dur := series["http_server_request_duration_seconds"]; dur == 0 || dur > 16*60 {
		t.Errorf("http_server_request_duration_seconds has %d samples; routes x methods x statuses is far less", dur)
	}
	if grown > 4<<20 {
		t.Errorf("heap grew %d KB over %d requests after warm-up: not flat", grown>>10, n)
	}
}

type okHealth struct {
	healthpb.UnimplementedHealthServer
}

func (okHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}

// Every variable and field with an invalid value: Init fails with an error naming it, and
// nothing it started is left running.
func TestReliabilityInvalidConfigNamesItAndLeavesNothing(t *testing.T) {
	env := map[string]string{
		"VIGIL_LOG_LEVEL": "chatty", "VIGIL_LOG_FORMAT": "xml", "VIGIL_LOG_SOURCE": "perhaps",
		"SENTRY_DSN": "not a dsn", "VIGIL_SENTRY_SAMPLE_RATE": "2", "VIGIL_SENTRY_DEBUG": "perhaps",
		"VIGIL_SENTRY_DEDUP_WINDOW": "soon", "VIGIL_SENTRY_MAX_EVENTS_PER_SECOND": "lots",
		"VIGIL_SENTRY_SEND_DEFAULT_PII": "perhaps", "VIGIL_SENTRY_QUEUE_SIZE": "-1", "VIGIL_SENTRY_TIMEOUT": "forever",
		"OTEL_SDK_DISABLED": "perhaps", "OTEL_TRACES_EXPORTER": "zipkin", "OTEL_TRACES_SAMPLER": "sometimes",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://collector", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://collector",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "udp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "udp",
		"OTEL_EXPORTER_OTLP_HEADERS": "novalue", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "novalue",
		"OTEL_EXPORTER_OTLP_INSECURE": "perhaps", "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "perhaps",
		"OTEL_EXPORTER_OTLP_TIMEOUT": "-5", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "soon",
		"OTEL_BSP_MAX_QUEUE_SIZE": "0", "OTEL_RESOURCE_ATTRIBUTES": "novalue",
		"VIGIL_METRICS_SERIES_LIMIT": "-1", "VIGIL_METRICS_GO": "perhaps", "VIGIL_METRICS_PROCESS": "perhaps",
		"VIGIL_METRICS_HOST": "perhaps", "VIGIL_STATSD_ADDR": "nohost", "VIGIL_STATSD_FORMAT": "carbon",
		"VIGIL_STATSD_FLUSH_INTERVAL": "1ms", "VIGIL_STATSD_MAX_PACKET_SIZE": "10",
		"VIGIL_PUSHGATEWAY_URL": "ftp://pg", "VIGIL_PUSHGATEWAY_INTERVAL": "-1s",
		"VIGIL_GRAPHITE_ADDR": "nohost", "VIGIL_GRAPHITE_INTERVAL": "soon",
		"VIGIL_HTTP_SKIP": "nopath", "VIGIL_HTTP_METRICS_ONLY": "perhaps", "VIGIL_HTTP_ACCESS_LOG": "perhaps",
		"VIGIL_HTTP_REQUEST_ID_HEADER": "bad header", "VIGIL_GRPC_ACCESS_LOG": "perhaps",
	}
	// Variables that are only read in company: the sampler argument with a ratio sampler.
	companions := map[string]map[string]string{
		"OTEL_TRACES_SAMPLER_ARG": {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
	}
	for name, value := range env {
		companions[name] = map[string]string{name: value}
	}
	fields := []struct {
		want string
		set  func(*observe.Config)
	}{
		{"Logging.Format", func(c *observe.Config) { c.Logging.Format = "xml" }},
		{"Errors.DSN", func(c *observe.Config) { c.Errors.DSN = "not a dsn" }},
		{"SampleRate", func(c *observe.Config) { c.Errors.SampleRate = 2 }},
		{"Tracing.Exporter", func(c *observe.Config) { c.Tracing.Exporter = "zipkin" }},
		{"Tracing.Protocol", func(c *observe.Config) { c.Tracing.Protocol = "udp" }},
		{"SeriesLimit", func(c *observe.Config) { c.Metrics.SeriesLimit = -1 }},
		{"Metrics.StatsD.Format", func(c *observe.Config) { c.Metrics.StatsD.Format = "carbon" }},
		{"Metrics.Push.URL", func(c *observe.Config) { c.Metrics.Push.URL = "ftp://pg" }},
		{"HTTP.Skip[0]", func(c *observe.Config) { c.HTTP.Skip = []string{"nopath"} }},
		{"DurationBuckets", func(c *observe.Config) { c.GRPC.DurationBuckets = []float64{2, 1} }},
	}
	check := func(t *testing.T, want string, cfg observe.Config) {
		t.Helper()
		ignore := goleak.IgnoreCurrent()
		o, err := observe.Init(context.Background(), cfg)
		if err == nil {
			o.Shutdown(context.Background())
			t.Fatalf("Init accepted it")
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
		goleak.VerifyNone(t, ignore)
	}
	for name, vars := range companions {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range vars {
				t.Setenv(k, v)
			}
			var out syncBuffer
			cfg := quiet(&out)
			cfg.Tracing.Exporter = "" // let the variables choose
			cfg.Metrics.DisableHostCollector = false
			check(t, name, cfg)
		})
	}
	for _, f := range fields {
		t.Run(f.want, func(t *testing.T) {
			clearEnv(t)
			var out syncBuffer
			cfg := quiet(&out)
			f.set(&cfg)
			check(t, f.want, cfg)
		})
	}
}
