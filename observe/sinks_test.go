package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/observe"
)

// This file is the harness of the trust tests (trust_test.go): every sink vigil writes to,
// live at once on loopback, so a test can ask "did this reach anything?" of all of them.

// trustService is the Service every harness Config names.
const trustService = "trust-svc"

// trustWait bounds every wait for a sink. It is a liveness bound, not a speed check: the
// things awaited normally arrive within milliseconds, but a CI machine running the race
// detector on two busy cores can take seconds.
const trustWait = 20 * time.Second

// sinks is every backend of one Observer: stdout (a JSON-lines buffer), a Sentry envelope
// server, an OTLP/gRPC receiver, the /metrics exposition and a StatsD UDP listener.
type sinks struct {
	t      testing.TB
	out    *logtest.Buffer
	sentry *sentrytest.Server
	otlp   *otlptest.Receiver
	udp    *udpSink

	mu       sync.Mutex
	o        *observe.Observer
	metrics  *httptest.Server
	lastScr  string // the last exposition scraped, kept for all() after Shutdown
	stopped  bool
	stopErr  error
	initErrs []string // Init/New errors, for all()
}

// newSinks starts every sink and returns a Config wired to them: a fixed Service, JSON
// logs at Info into s.out, every capture sent to the Sentry server (dedup and rate limit
// off, so each capture is one event), spans exported over OTLP/gRPC with a short batch
// delay, StatsD with a short flush interval, and no runtime collectors (they add noise,
// not coverage). NoGlobals is set; tests that need globals use s.init.
func newSinks(t testing.TB) (*sinks, observe.Config) {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		// The SDK's batch processor reads this itself; 20 ms keeps waits short.
		tt.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
	}
	s := &sinks{
		t:      t,
		out:    new(logtest.Buffer),
		sentry: sentrytest.NewServer(t),
		otlp:   otlptest.StartGRPC(t),
		udp:    listenUDP(t),
	}
	var cfg observe.Config
	cfg.Service = trustService
	cfg.NoGlobals = true
	cfg.Logging.Output = s.out
	cfg.Errors.DSN = s.sentry.DSN()
	cfg.Errors.DedupWindow = -1
	cfg.Errors.MaxEventsPerSecond = -1
	cfg.Errors.Timeout = 5 * time.Second
	cfg.Tracing.Exporter = "otlp"
	cfg.Tracing.Protocol = "grpc"
	cfg.Tracing.Endpoint = s.otlp.URL
	cfg.Metrics.StatsD.Addr = s.udp.addr()
	cfg.Metrics.StatsD.FlushInterval = 20 * time.Millisecond
	cfg.Metrics.DisableGoCollector = true
	cfg.Metrics.DisableProcessCollector = true
	cfg.Metrics.DisableHostCollector = true
	return s, cfg
}

// start builds an Observer with observe.New (no globals, no package default) and serves
// its /metrics; t's cleanup shuts it down. A failing New fails t.
func (s *sinks) start(cfg observe.Config) *observe.Observer {
	s.t.Helper()
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		s.t.Fatalf("observe.New: %v", err)
	}
	s.attach(o)
	return o
}

// init is start through observe.Init: o becomes the package default and, unless
// cfg.NoGlobals, slog's default and OpenTelemetry's globals.
func (s *sinks) init(cfg observe.Config) *observe.Observer {
	s.t.Helper()
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		s.t.Fatalf("observe.Init: %v", err)
	}
	s.attach(o)
	return o
}

func (s *sinks) attach(o *observe.Observer) {
	s.mu.Lock()
	s.o = o
	s.metrics = httptest.NewServer(o.MetricsHandler())
	srv := s.metrics
	s.mu.Unlock()
	s.t.Cleanup(func() {
		_ = s.stop()
		srv.Close()
	})
}

// stop shuts the Observer down (10 s deadline, so its final flushes reach the sinks) and
// returns Shutdown's error; later calls return the same. It scrapes /metrics first, so
// all() still holds the last exposition.
func (s *sinks) stop() error {
	s.mu.Lock()
	o, done := s.o, s.stopped
	s.stopped = true
	s.mu.Unlock()
	if o == nil || done {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.stopErr
	}
	s.scrape()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := boundedShutdown(s.t, o, ctx)
	s.mu.Lock()
	s.stopErr = err
	s.mu.Unlock()
	return err
}

// boundedShutdown calls o.Shutdown(ctx) and fails t if it has not returned within
// trustWait after ctx's deadline (or trustWait when ctx has none): a hang is a failure
// with a message, never a stuck test binary.
func boundedShutdown(t testing.TB, o *observe.Observer, ctx context.Context) error {
	t.Helper()
	bound := trustWait
	if d, ok := ctx.Deadline(); ok {
		bound += time.Until(d)
	}
	done := make(chan error, 1)
	go func() { done <- o.Shutdown(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		t.Fatalf("Shutdown did not return within %v (its context deadline plus %v)", bound, trustWait)
		return nil
	}
}

// sentryEvent is the decoded event the Sentry server hands back.
type sentryEvent = sentry.Event

// logs parses every stdout line; a line that is not a JSON object fails the test.
func (s *sinks) logs() []map[string]any { s.t.Helper(); return s.out.Lines(s.t) }

// events returns the Sentry events received so far (decoded from real envelopes).
func (s *sinks) events() []*sentry.Event { return s.sentry.Events() }

// spans returns the spans the OTLP receiver got so far.
func (s *sinks) spans() []otlptest.Span { return s.otlp.Spans() }

// scrape fetches /metrics over HTTP, as Prometheus would. After Shutdown it returns the
// last exposition scraped before.
func (s *sinks) scrape() string {
	s.t.Helper()
	s.mu.Lock()
	srv, stopped := s.metrics, s.stopped && s.lastScr != ""
	s.mu.Unlock()
	if srv == nil || stopped {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.lastScr
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		s.t.Errorf("scrape /metrics: %v", err)
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Errorf("scrape /metrics: %d %v", resp.StatusCode, err)
	}
	s.mu.Lock()
	s.lastScr = string(b)
	s.mu.Unlock()
	return string(b)
}

// statsd returns the StatsD lines received so far.
func (s *sinks) statsd() []string { return s.udp.lines() }

// all is everything every sink received, as one text: stdout, every Sentry request body,
// every span (as protobuf JSON and as flat attribute lines), the last /metrics, the StatsD
// lines, and the text of any error Init or Shutdown returned. For "appears nowhere".
func (s *sinks) all() string {
	var b strings.Builder
	b.WriteString("== stdout\n")
	b.WriteString(s.out.String())
	b.WriteString("\n== sentry\n")
	for _, body := range s.sentry.RawBodies() {
		b.Write(body)
		b.WriteByte('\n')
	}
	b.WriteString("== spans\n")
	for _, rs := range s.otlp.ResourceSpans() {
		j, _ := protojson.Marshal(rs)
		b.Write(j)
		b.WriteByte('\n')
	}
	b.WriteString(s.spanText())
	b.WriteString("== metrics\n")
	b.WriteString(s.scrape())
	b.WriteString("\n== statsd\n")
	b.WriteString(strings.Join(s.statsd(), "\n"))
	s.mu.Lock()
	if s.stopErr != nil {
		b.WriteString("\n== shutdown error\n" + s.stopErr.Error())
	}
	for _, e := range s.initErrs {
		b.WriteString("\n== init error\n" + e)
	}
	s.mu.Unlock()
	return b.String()
}

// sinkText returns one sink's content in a flat "path=value" form (JSON sinks) or as
// received (/metrics, StatsD), for redactedIn and strings.Contains checks. Names:
// logs, sentry, spans, metrics, statsd.
func (s *sinks) sinkText(name string) string {
	switch name {
	case "logs":
		var b strings.Builder
		for _, line := range bytes.Split([]byte(s.out.String()), []byte("\n")) {
			var v any
			if json.Unmarshal(line, &v) == nil {
				flatten(&b, "", v)
			}
		}
		return b.String()
	case "sentry":
		var b strings.Builder
		for _, env := range s.sentry.Envelopes() {
			for _, it := range env.Items {
				var v any
				if json.Unmarshal(it.Payload, &v) == nil {
					flatten(&b, "", v)
				} else {
					b.Write(it.Payload)
					b.WriteByte('\n')
				}
			}
		}
		return b.String()
	case "spans":
		return s.spanText()
	case "metrics":
		return s.scrape()
	case "statsd":
		return strings.Join(s.statsd(), "\n")
	}
	s.t.Fatalf("sinkText: no sink %q", name)
	return ""
}

// spanText renders each span as "span <name> k=v ..." lines, with one "event <name> k=v"
// line per event.
func (s *sinks) spanText() string {
	var b strings.Builder
	for _, sp := range s.spans() {
		fmt.Fprintf(&b, "span %s\n", sp.GetName())
		writeAttrs(&b, otlptest.Attrs(sp.GetAttributes()))
		for _, ev := range sp.GetEvents() {
			fmt.Fprintf(&b, "event %s\n", ev.GetName())
			writeAttrs(&b, otlptest.Attrs(ev.GetAttributes()))
		}
	}
	return b.String()
}

func writeAttrs(b *strings.Builder, attrs map[string]string) {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s=%s\n", k, attrs[k])
	}
}

// flatten writes v as "a.b.0.c=value" lines.
func flatten(b *strings.Builder, path string, v any) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(b, join(k), e)
		}
	case []any:
		for i, e := range x {
			flatten(b, join(fmt.Sprint(i)), e)
		}
	default:
		fmt.Fprintf(b, "%s=%v\n", path, x)
	}
}

// redactedIn reports whether text shows key with a redacted value: "key=[REDACTED]"
// (flattened JSON, query strings), `key="[REDACTED]"` (metric labels), "key:[REDACTED]"
// (StatsD tags), and "key.0=[REDACTED]" (a header's first value). Keys match by name,
// case-insensitively, not as part of a longer name.
func redactedIn(text, key string) bool {
	re := regexp.MustCompile(`(?im)(^|[^A-Za-z0-9_-])` + regexp.QuoteMeta(key) +
		`(\.\d+)?\s*[=:]\s*"?(\[REDACTED\]|%5BREDACTED%5D)`)
	return re.MatchString(text)
}

// waitFor polls cond until it holds or trustWait passes, then fails with what.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !eventually(cond) {
		t.Fatalf("gave up after %v waiting for %s", trustWait, what)
	}
}

// eventually polls cond until it holds (true) or trustWait passes (false).
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(trustWait)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// waitLog waits for a log line that pred accepts and returns it.
func (s *sinks) waitLog(what string, pred func(map[string]any) bool) map[string]any {
	s.t.Helper()
	var got map[string]any
	waitFor(s.t, "log line: "+what, func() bool {
		for _, l := range s.logs() {
			if pred(l) {
				got = l
				return true
			}
		}
		return false
	})
	return got
}

// waitEvent waits for a Sentry event that pred accepts and returns it.
func (s *sinks) waitEvent(what string, pred func(*sentry.Event) bool) *sentry.Event {
	s.t.Helper()
	var got *sentry.Event
	waitFor(s.t, "Sentry event: "+what, func() bool {
		for _, e := range s.events() {
			if pred(e) {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

// waitSpans waits until n spans have been received.
func (s *sinks) waitSpans(what string, n int) []otlptest.Span {
	s.t.Helper()
	waitFor(s.t, fmt.Sprintf("%d spans: %s", n, what), func() bool { return len(s.spans()) >= n })
	return s.spans()
}

// series returns the value of every sample of family in the exposition, keyed by its
// label set ("" without labels).
func series(exposition, family string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, family) {
			continue
		}
		rest := line[len(family):]
		labels := ""
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // a longer family name
		}
		f := strings.Fields(rest)
		if len(f) > 0 {
			out[labels] = f[0]
		}
	}
	return out
}

// udpSink is a StatsD listener: it records every line of every datagram.
type udpSink struct {
	pc   net.PacketConn
	mu   sync.Mutex
	got  []string
	done chan struct{}
}

func listenUDP(t testing.TB) *udpSink {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("statsd listener: %v", err)
	}
	u := &udpSink{pc: pc, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		buf := make([]byte, 1<<16)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			u.mu.Lock()
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				if l != "" {
					u.got = append(u.got, l)
				}
			}
			u.mu.Unlock()
		}
	}()
	t.Cleanup(func() { pc.Close(); <-u.done })
	return u
}

func (u *udpSink) addr() string { return u.pc.LocalAddr().String() }

func (u *udpSink) lines() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.got)
}

// --- running one case in a child process ---------------------------------------------

// trustChild names the one subtest a child process runs; the parent sets it. A flag, not
// a variable: TestMain clears the VIGIL_* environment.
var trustChild = flag.String("trust.child", "", "internal: the subtest this child process runs")

// isolated runs body in a fresh test process, so that a case can crash the process
// (fatal error: stack overflow, which recover cannot stop) or needs the package's
// pre-Init state, without taking the rest of the suite with it. The parent fails when
// the child dies or fails, and shows the end of its output. env is applied inside the
// child (TestMain's clean-up would drop the parent's).
func isolated(t *testing.T, env map[string]string, body func(t *testing.T)) {
	t.Helper()
	if *trustChild == t.Name() {
		for k, v := range env {
			t.Setenv(k, v)
		}
		// A runaway recursion should die in milliseconds, not after growing 1 GB of stack.
		old := debug.SetMaxStack(16 << 20)
		defer debug.SetMaxStack(old)
		body(t)
		return
	}
	if *trustChild != "" {
		t.Skip("another case's child process")
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+strings.Join(run, "/"),
		"-test.count=1", "-test.v", "-test.timeout=55s", "-trust.child="+t.Name())
	// The race detector sleeps a second at exit by default; a child need not.
	cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	out, err := cmd.CombinedOutput()
	text := string(out)
	switch {
	case ctx.Err() != nil:
		t.Errorf("child process did not finish within 60s:\n%s", tail(text, 4000))
	case err != nil:
		why := "the case failed"
		if strings.Contains(text, "fatal error:") || strings.Contains(text, "goroutine stack exceeds") {
			why = "the process CRASHED"
		} else if strings.Contains(text, "panic:") {
			why = "a panic escaped to the host"
		}
		t.Errorf("%s (%v):\n%s", why, err, tail(text, 4000))
	case !strings.Contains(text, "--- PASS: "+t.Name()) && !strings.Contains(text, "--- SKIP: "+t.Name()):
		t.Errorf("child process ran nothing:\n%s", tail(text, 2000))
	}
}

// tail returns the end of s, at most n bytes, keeping the first line of a panic or
// fatal error when there is one.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	head := ""
	for _, mark := range []string{"fatal error:", "panic:"} {
		if i := strings.Index(s, mark); i >= 0 {
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s) - i
			}
			head = s[i:i+min(end, 300)] + "\n...\n"
			break
		}
	}
	return head + s[len(s)-n:]
}

// logged is a predicate on a log line's msg.
func logged(msg string) func(map[string]any) bool {
	return func(l map[string]any) bool { return l["msg"] == msg }
}
