package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/observe"
	"github.com/vigil-go/vigil/tracing"
)

// testDSN points at nothing: every side gets a transport that drops events, so the DSN
// only has to parse.
const testDSN = "https://public@sentry.invalid/1"

// queueSize is the span queue of both tracer providers (the SDK's default).
const queueSize = 2048

// spanSink is a span exporter that drops every batch and counts the spans, so tests can
// see that spans were really produced.
type spanSink struct{ n atomic.Int64 }

func (s *spanSink) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	s.n.Add(int64(len(spans)))
	return nil
}

func (s *spanSink) Shutdown(context.Context) error { return nil }

func (s *spanSink) count() int64 { return s.n.Load() }

// eventSink is a Sentry transport that drops every event and counts them.
type eventSink struct{ n atomic.Int64 }

func (t *eventSink) Flush(time.Duration) bool              { return true }
func (t *eventSink) FlushWithContext(context.Context) bool { return true }
func (t *eventSink) Configure(sentry.ClientOptions)        {}
func (t *eventSink) SendEvent(*sentry.Event)               { t.n.Add(1) }
func (t *eventSink) Close()                                {}
func (t *eventSink) count() int64                          { return t.n.Load() }

// countingWriter is io.Discard that counts lines, for tests.
type countingWriter struct {
	mu    sync.Mutex
	lines [][]byte
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.lines = append(w.lines, append([]byte(nil), p...))
	w.mu.Unlock()
	return len(p), nil
}

func (w *countingWriter) all() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.lines...)
}

// Where access lines go in the HTTP and gRPC families.
const (
	sinkDiscard = "discard" // io.Discard: the encoder's cost alone
	sinkPipe    = "pipe"    // a pipe another process drains: one real write(2) per line
)

// logSink is where a stack under test writes its log lines: io.Discard in benchmarks (on
// both sides of every comparison), a countingWriter in tests so they can check the lines.
func logSink(tb testing.TB) (io.Writer, *countingWriter) { return sinkWriter(tb, sinkDiscard) }

// sinkWriter is logSink for a named sink: in benchmarks io.Discard for sinkDiscard and ""
// and a drained pipe for sinkPipe; in tests always a countingWriter (TestPipeSink checks
// the pipe itself).
func sinkWriter(tb testing.TB, sink string) (io.Writer, *countingWriter) {
	lines := &countingWriter{}
	if _, isTest := tb.(*testing.T); isTest {
		return lines, lines
	}
	if sink == sinkPipe {
		return pipeSink(tb, io.Discard), lines
	}
	return io.Discard, lines
}

// pipeSink returns the write end of an os.Pipe whose read end another process (cat)
// copies into dst, as a container runtime reads a service's stdout: every line written
// costs the writer a write(2) into the kernel's pipe buffer, and the reader's wake-ups
// and reads are that process's, not the stack's. A reader goroutine in this process
// would compete with the stack for its Ps and be woken by the Go scheduler, which
// rewards a stack for keeping a second core busy (the reader then drains several lines
// per wake-up). Cleanup closes the write end and waits for cat to finish.
func pipeSink(tb testing.TB, dst io.Writer) io.Writer {
	tb.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("cat")
	cmd.Stdin = r
	if dst != io.Discard {
		cmd.Stdout = dst // nil (io.Discard) is the null device
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	r.Close() // cat holds the read end now
	tb.Cleanup(func() {
		w.Close()
		if err := cmd.Wait(); err != nil {
			tb.Errorf("the pipe's reader: %v", err)
		}
	})
	return w
}

// discardUDP returns the address of a bound UDP socket that nobody reads: datagrams sent
// to it cost the sender a real syscall and are then dropped by the kernel once its
// receive buffer is full. Both StatsD clients point at it.
func discardUDP(tb testing.TB) string {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// sdkProvider is the raw OpenTelemetry SDK set up as vigil sets itself up: parent-based
// sampling at ratio, a batch processor with the default queue, and a dropping exporter.
func sdkProvider(tb testing.TB, ratio float64, sink sdktrace.SpanExporter) *sdktrace.TracerProvider {
	tb.Helper()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithBatcher(sink, sdktrace.WithMaxQueueSize(queueSize)),
	)
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// vigilSinks are where a test observer's telemetry goes.
type vigilSinks struct {
	logs   io.Writer
	spans  sdktrace.SpanExporter
	events sentry.Transport
	statsd string // StatsD address, "" for none
	// otlpMetrics, when set, is an OTLP/HTTP base URL: OTEL_METRICS_EXPORTER=otlp,
	// pushing every 100ms (vigil's families and OTel instruments, over the bridge).
	otlpMetrics string
	// seriesLimit, when set, is Metrics.SeriesLimit (the scale benchmarks raise it above
	// their route count).
	seriesLimit int
	// grpcInterceptorsOnly is GRPC.InterceptorsOnly: servers get vigil's interceptors
	// without its stats handler.
	grpcInterceptorsOnly bool
}

// newObserver builds a vigil Observer that writes nothing anywhere real: logs to
// sinks.logs (io.Discard by default), spans to a dropping exporter, events to a dropping
// transport, no runtime or host collectors. It leaves process globals alone.
func newObserver(tb testing.TB, sinks vigilSinks) *observe.Observer {
	tb.Helper()
	if sinks.logs == nil {
		sinks.logs = io.Discard
	}
	if sinks.spans == nil {
		sinks.spans = &spanSink{}
	}
	if sinks.events == nil {
		sinks.events = &eventSink{}
	}
	ratio := 1.0
	cfg := observe.Config{
		Service:   "bench",
		NoGlobals: true,
		Logging:   logging.Config{Output: sinks.logs, Format: "json"},
		Errors: verrors.Config{
			DSN:                testDSN,
			Transport:          sinks.events,
			DedupWindow:        time.Minute,
			MaxEventsPerSecond: 1e9,
		},
		Tracing: tracing.Config{
			SpanExporter: sinks.spans,
			SampleRatio:  &ratio,
			MaxQueueSize: queueSize,
		},
		Metrics: metrics.Config{
			DisableGoCollector:      true,
			DisableProcessCollector: true,
			DisableHostCollector:    true,
			StatsD:                  metrics.StatsDConfig{Addr: sinks.statsd},
			SeriesLimit:             sinks.seriesLimit,
		},
	}
	cfg.GRPC.InterceptorsOnly = sinks.grpcInterceptorsOnly
	if sinks.otlpMetrics != "" {
		cfg.OTelMetrics.Exporter = "otlp"
		cfg.OTelMetrics.BaseEndpoint = sinks.otlpMetrics
		cfg.OTelMetrics.Interval = 100 * time.Millisecond
	}
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	return o
}

// TestPipeSink checks that lines written to the pipe sink arrive whole and in order.
func TestPipeSink(t *testing.T) {
	got := &countingWriter{}
	t.Run("write", func(t *testing.T) {
		w := pipeSink(t, got)
		for i := range 100 {
			if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
				t.Fatal(err)
			}
		}
	}) // the subtest's cleanup closes the pipe and waits for the reader
	var all []byte
	for _, p := range got.all() {
		all = append(all, p...)
	}
	lines := strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
	if len(lines) != 100 || lines[0] != "line 0" || lines[99] != "line 99" {
		t.Fatalf("read %d lines back: %q ...", len(lines), lines[:min(3, len(lines))])
	}
}
