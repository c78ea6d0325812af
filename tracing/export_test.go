package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/envtest"
	"github.com/vigil-go/vigil/internal/logtest"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.uber.org/goleak"

	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/tracing"
)

// otelVars are every variable the package (or the SDK under it) reads.
var otelVars = []string{
	"OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_EXPORTER",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_INSECURE",
	"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
}

// clearEnv blanks every OTEL variable for the test (empty counts as unset).
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range otelVars {
		t.Setenv(k, "")
	}
}

// syncBuffer is the tests' log sink.
type syncBuffer = logtest.Buffer

func TestExportToOTLPReceivers(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		start    func(otlptest.TB) *otlptest.Receiver
	}{
		{"grpc", otlptest.StartGRPC},
		{"http/protobuf", otlptest.StartHTTP},
		{"http/json", otlptest.StartHTTP},
	} {
		t.Run(strings.ReplaceAll(tc.protocol, "/", "-"), func(t *testing.T) {
			clearEnv(t)
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			rcv := tc.start(t)
			defer rcv.Close()

			p, err := tracing.New(context.Background(), tracing.Config{
				Endpoint:           rcv.URL,
				Protocol:           tc.protocol,
				Headers:            map[string]string{"x-tenant": "acme", "x-region": "us"},
				ResourceAttributes: map[string]string{"team": "payments", "service.name": "overridden"},
				Service:            "checkout",
				Version:            "1.2.3",
				Environment:        "prod",
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, parent := p.Start(context.Background(), "GET /orders/{id}")
			_, child := p.Start(ctx, "db.query")
			tracing.RecordError(child, errors.New("connection reset"))
			child.End()
			parent.End()

			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := p.Shutdown(sctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			spans := rcv.WaitSpans(t, 2, 5*time.Second)
			if len(spans) != 2 {
				t.Fatalf("got %d spans, want 2", len(spans))
			}
			byName := map[string]otlptest.Span{}
			for _, s := range spans {
				byName[s.Name] = s
			}
			ps, cs := byName["GET /orders/{id}"], byName["db.query"]
			if ps.Span == nil || cs.Span == nil {
				t.Fatalf("spans by name: %v", byName)
			}
			for k, want := range map[string]string{
				"service.name":                "checkout",
				"service.version":             "1.2.3",
				"deployment.environment.name": "prod",
				"team":                        "payments",
				"telemetry.sdk.language":      "go",
			} {
				if got := cs.Resource[k]; got != want {
					t.Errorf("resource %s = %q, want %q", k, got, want)
				}
			}
			if cs.Scope != tracing.ScopeName {
				t.Errorf("scope = %q, want %q", cs.Scope, tracing.ScopeName)
			}
			if !bytes.Equal(cs.TraceId, ps.TraceId) || !bytes.Equal(cs.ParentSpanId, ps.SpanId) {
				t.Errorf("child (trace %x, parent %x) not linked to parent (trace %x, span %x)",
					cs.TraceId, cs.ParentSpanId, ps.TraceId, ps.SpanId)
			}
			if len(ps.ParentSpanId) != 0 {
				t.Errorf("root span has parent %x", ps.ParentSpanId)
			}
			if cs.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || cs.Status.GetMessage() != "connection reset" {
				t.Errorf("child status = %v, want ERROR connection reset", cs.Status)
			}
			if ps.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
				t.Errorf("parent status = %v, want unset", ps.Status)
			}
			var exc map[string]string
			for _, ev := range cs.Events {
				if ev.Name == "exception" {
					exc = otlptest.Attrs(ev.Attributes)
				}
			}
			if exc["exception.message"] != "connection reset" || exc["exception.type"] == "" {
				t.Errorf("exception event attrs = %v", exc)
			}
			h := rcv.Headers()[0]
			if got := first(h, "x-tenant"); got != "acme" {
				t.Errorf("header x-tenant = %q, want acme", got)
			}
			if got := first(h, "x-region"); got != "us" {
				t.Errorf("header x-region = %q, want us (Config.Headers wins)", got)
			}
			if p.Dropped() != 0 {
				t.Errorf("Dropped = %d, want 0", p.Dropped())
			}
			rcv.Close()
		})
	}
}

// first returns a header value whatever the case of its key (HTTP canonical or gRPC lower).
func first(h map[string][]string, key string) string {
	for k, v := range h {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// endSpans ends n spans and returns the longest single End.
func endSpans(p *tracing.Provider, n int) (slowest, total time.Duration) {
	begin := time.Now()
	for range n {
		_, s := p.Start(context.Background(), "work")
		t0 := time.Now()
		s.End()
		slowest = max(slowest, time.Since(t0))
	}
	return slowest, time.Since(begin)
}

func TestDeadCollector(t *testing.T) {
	type target struct {
		name     string
		addr     func(t *testing.T) string
		protocol string
	}
	refused := func(t *testing.T) string { return otlptest.RefusedAddr(t) }
	blackHole := func(t *testing.T) string { return otlptest.StartBlackHole(t).Addr }
	for _, tc := range []target{
		{"refused/grpc", refused, "grpc"},
		{"refused/http", refused, "http/protobuf"},
		{"blackhole/grpc", blackHole, "grpc"},
		{"blackhole/http", blackHole, "http/protobuf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			addr := tc.addr(t)
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			logs := &syncBuffer{}
			const queue, spans = 50, 2000
			p, err := tracing.New(context.Background(), tracing.Config{
				Endpoint:      "http://" + addr,
				Protocol:      tc.protocol,
				MaxQueueSize:  queue,
				BatchDelay:    20 * time.Millisecond, // exports in flight while spans keep ending
				ExportTimeout: time.Minute,           // longer than the test: Shutdown must not wait for it
				Logger:        slog.New(slog.NewJSONHandler(logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			slowest, total := endSpans(p, spans/2)
			time.Sleep(100 * time.Millisecond) // let exports start and fail or hang
			s2, t2 := endSpans(p, spans/2)
			slowest, total = max(slowest, s2), total+t2
			// Exports hang for a minute or fail: an End that waited on one would take that
			// long. TestShutdownReturnsAtDeadline has the exact bounds, in synctest time.
			if slowest > envtest.Blocked {
				t.Errorf("span.End blocked: slowest %v, %d spans in %v", slowest, spans, total)
			}
			if d := p.Dropped(); d < spans-2*queue {
				t.Errorf("Dropped = %d before shutdown, want >= %d", d, spans-2*queue)
			}

			const budget = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), budget)
			defer cancel()
			begin := time.Now()
			err = p.Shutdown(ctx)
			took := time.Since(begin)
			if took > budget+envtest.Blocked {
				t.Errorf("Shutdown took %v, deadline %v: it waited on the collector", took, budget)
			}
			// Every span ended is accounted for: none reached a collector.
			if d := p.Dropped(); d != spans {
				t.Errorf("Dropped = %d after shutdown, want %d (err %v)", d, spans, err)
			}
			if strings.HasPrefix(tc.name, "blackhole") && err == nil {
				t.Errorf("Shutdown = nil, want a deadline error: the collector never answered")
			}
			if strings.HasPrefix(tc.name, "refused") {
				// Export failures are logged once per outage, not once per batch.
				if n := strings.Count(logs.String(), "span export failed"); n != 1 {
					t.Errorf("logged the failure %d times, want 1:\n%s", n, logs)
				}
			}
		})
	}
}

func TestShutdownIdempotentAndAfterwardsNoop(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rcv := otlptest.StartHTTP(t)
	p, err := tracing.New(context.Background(), tracing.Config{Endpoint: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Exporters(); len(got) != 1 || got[0] != tracing.ExporterOTLP {
		t.Fatalf("Exporters = %v, want [otlp] (an endpoint is set)", got)
	}
	_, s := p.Start(context.Background(), "before")
	s.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if n := len(rcv.Spans()); n != 1 {
		t.Fatalf("after ForceFlush: %d spans at the receiver, want 1", n)
	}
	for range 2 {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	}
	_, s = p.Start(context.Background(), "after")
	s.End()
	if n := len(rcv.Spans()); n != 1 {
		t.Fatalf("spans after Shutdown reached the receiver: %d", n)
	}
	rcv.Close()
}

func TestStdoutExporter(t *testing.T) {
	clearEnv(t)
	out := &syncBuffer{}
	p, err := tracing.New(context.Background(), tracing.Config{Exporter: "console", Output: out, Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	_, s := p.Start(context.Background(), "work")
	s.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var got struct {
		Name     string
		Resource []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &got) != nil || got.Name != "work" {
		t.Fatalf("stdout exporter wrote %q, want one JSON line for span work", out.String())
	}
	found := false
	for _, kv := range got.Resource {
		found = found || (kv.Key == "service.name" && kv.Value.Value == "checkout")
	}
	if !found {
		t.Errorf("resource %+v lacks service.name=checkout", got.Resource)
	}
}
