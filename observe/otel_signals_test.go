package observe_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/observe"
	"github.com/vigil-go/vigil/tracing"
)

// signalsWait bounds every wait for the receiver: a liveness bound, not a speed check.
const signalsWait = 10 * time.Second

// signalConfig starts nothing but what a test asks for, logging to out.
func signalConfig(out io.Writer) observe.Config {
	var c observe.Config
	c.NoGlobals = true
	c.Service = "signals-svc"
	c.Logging.Output = out
	c.Metrics.DisableGoCollector, c.Metrics.DisableProcessCollector, c.Metrics.DisableHostCollector = true, true, true
	c.Tracing.Exporter = tracing.ExporterNone
	// Long enough that only ForceFlush and Shutdown push: the tests decide when.
	c.OTelMetrics.Interval = time.Hour
	return c
}

func newObserver(t *testing.T, cfg observe.Config) *observe.Observer {
	t.Helper()
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	return o
}

// TestOTLPMetricsSemconv sends a request through the middleware, a vigil counter and an
// otel.Meter counter, and finds all three at an OTLP receiver, over HTTP and gRPC:
// vigil's HTTP family under its semantic-convention name, unit and attributes.
func TestOTLPMetricsSemconv(t *testing.T) {
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			rcv := otlptest.StartHTTP(t)
			if proto == "grpc" {
				rcv = otlptest.StartGRPC(t)
			}
			cfg := signalConfig(&logtest.Buffer{})
			cfg.OTelMetrics.Exporter = "otlp,prometheus"
			cfg.OTelMetrics.BaseEndpoint = rcv.BaseURL
			cfg.OTelMetrics.Protocol = proto
			o := newObserver(t, cfg)

			mux := http.NewServeMux()
			mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
			srv := httptest.NewServer(o.Middleware(mux))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/orders/42")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			o.Counter("jobs_done_total", "Jobs.", "queue").With("mail").Inc()
			c, _ := o.OTelMetrics().MeterProvider().Meter("user-lib").Int64Counter("user.widgets", metric.WithUnit("{widget}"))
			c.Add(context.Background(), 3)

			if err := o.OTelMetrics().ForceFlush(context.Background()); err != nil {
				t.Fatalf("ForceFlush: %v", err)
			}
			dur := rcv.WaitMetric(t, "http.server.request.duration", signalsWait)
			if dur.Unit != "s" || dur.Kind != "histogram" {
				t.Errorf("http.server.request.duration: unit %q kind %q, want s histogram", dur.Unit, dur.Kind)
			}
			found := false
			for _, p := range dur.Points {
				if p.Attrs["http.route"] == "/orders/{id}" && p.Attrs["http.request.method"] == "GET" &&
					p.Attrs["http.response.status_code"] == "201" && p.Count == 1 {
					found = true
				}
			}
			if !found {
				t.Errorf("no data point with http.route=/orders/{id}, GET, 201, count 1: %+v", dur.Points)
			}
			if dur.Resource["service.name"] != "signals-svc" {
				t.Errorf("resource service.name = %q", dur.Resource["service.name"])
			}
			if m := rcv.WaitMetric(t, "user.widgets", signalsWait); m.Unit != "{widget}" || len(m.Points) != 1 || m.Points[0].Value != 3 {
				t.Errorf("user.widgets = %+v, want one point of 3 {widget}", m)
			}
			if m := rcv.WaitMetric(t, "jobs_done_total", signalsWait); len(m.Points) != 1 || m.Points[0].Attrs["queue"] != "mail" || m.Points[0].Value != 1 {
				t.Errorf("jobs_done_total = %+v, want one point of 1 with queue=mail", m)
			}
			for _, m := range rcv.Metrics() {
				switch m.Name {
				case "http_server_request_duration_seconds":
					t.Errorf("vigil's HTTP family also left under its Prometheus name")
				case "user_widgets_total", "target_info":
					t.Errorf("%s left over OTLP: the prometheus exporter's families were bridged back", m.Name)
				}
			}
			// The same instrument at /metrics, through the prometheus exporter.
			rec := httptest.NewRecorder()
			o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			fams, err := parseExposition(rec.Body.String())
			if err != nil {
				t.Fatal(err)
			}
			if uw := fams["user_widgets_total"]; len(uw.GetMetric()) != 1 || uw.GetMetric()[0].GetCounter().GetValue() != 3 {
				t.Errorf("user_widgets_total at /metrics = %v", uw)
			}
		})
	}
}

// TestPrometheusExporterUserInstruments: with the default exporter, an otel.Meter
// counter appears at MetricsHandler beside vigil's families, each family once, and the
// exposition parses.
func TestPrometheusExporterUserInstruments(t *testing.T) {
	cfg := signalConfig(&logtest.Buffer{})
	o := newObserver(t, cfg)
	c, err := o.OTelMetrics().MeterProvider().Meter("user-lib").Int64Counter("user.widgets")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 5)
	o.Counter("jobs_done_total", "Jobs.").Inc()

	if _, err := o.Registry().Prometheus().Gather(); err != nil {
		t.Fatalf("Gather (duplicate or inconsistent families): %v", err)
	}
	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	fams, err := parseExposition(rec.Body.String())
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, rec.Body.String())
	}
	uw, ok := fams["user_widgets_total"]
	if !ok || len(uw.GetMetric()) != 1 || uw.GetMetric()[0].GetCounter().GetValue() != 5 {
		t.Errorf("user_widgets_total missing or wrong at /metrics:\n%s", rec.Body.String())
	}
	if _, ok := fams["jobs_done_total"]; !ok {
		t.Errorf("vigil's own counter missing at /metrics")
	}
	if _, ok := fams["target_info"]; ok {
		t.Errorf("target_info at /metrics: the exposition changed for programs without instruments")
	}
	for _, name := range []string{"vigil_otel_metrics_export_failures_total", "vigil_otel_logs_dropped_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing at /metrics", name)
		}
	}
}

// TestOTLPLogsCorrelatedAndRedacted: log lines written inside a span leave over OTLP with
// the span's trace and span ids (the same ids the receiver got the span with), and
// through the secret policy exactly as the stdout line.
func TestOTLPLogsCorrelatedAndRedacted(t *testing.T) {
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			rcv := otlptest.StartHTTP(t)
			if proto == "grpc" {
				rcv = otlptest.StartGRPC(t)
			}
			out := &logtest.Buffer{}
			cfg := signalConfig(out)
			cfg.Tracing.Exporter = "otlp"
			cfg.Tracing.BaseEndpoint = rcv.BaseURL
			cfg.Tracing.Protocol = proto
			cfg.OTelLogs.Exporter = "otlp"
			cfg.OTelLogs.BaseEndpoint = rcv.BaseURL
			cfg.OTelLogs.Protocol = proto
			cfg.OTelMetrics.Exporter = "none"
			o := newObserver(t, cfg)

			// An access-log line, which the middleware writes: it leaves too.
			srv := httptest.NewServer(o.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
			resp, err := http.Get(srv.URL + "/ping?token=abc")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			srv.Close()

			ctx, span := o.Start(context.Background(), "checkout")
			o.Logger().InfoContext(ctx, "charging https://bob:hunter2@pay.example/x",
				slog.String("password", "s3cr3t"), slog.String("order", "o-1"),
				slog.Group("card", slog.String("token", "tok_live_123")))
			o.Logger().DebugContext(ctx, "below the level")
			span.End()

			if err := o.OTelLogs().ForceFlush(context.Background()); err != nil {
				t.Fatalf("logs ForceFlush: %v", err)
			}
			if err := o.Tracing().ForceFlush(context.Background()); err != nil {
				t.Fatalf("tracing ForceFlush: %v", err)
			}
			var checkout otlptest.Span
			for _, s := range rcv.WaitSpans(t, 2, signalsWait) {
				if s.GetName() == "checkout" {
					checkout = s
				}
			}
			logs := rcv.WaitLogs(t, 2, signalsWait)
			if len(logs) != 2 {
				t.Fatalf("got %d log records, want 2 (debug is below the level)", len(logs))
			}
			if access := logs[0]; access.Body() != "http request" || strings.Contains(access.Attributes()["url.query"], "abc") {
				t.Errorf("access-log record: %q %v", access.Body(), access.Attributes())
			}
			spans := []otlptest.Span{checkout}
			l := logs[1]
			if got, want := string(l.GetTraceId()), string(spans[0].GetTraceId()); got != want {
				t.Errorf("log trace id %x, span's %x", got, want)
			}
			if got, want := string(l.GetSpanId()), string(spans[0].GetSpanId()); got != want {
				t.Errorf("log span id %x, span's %x", got, want)
			}
			attrs := l.Attributes()
			if attrs["password"] != "[REDACTED]" || attrs["card.token"] != "[REDACTED]" || attrs["order"] != "o-1" {
				t.Errorf("attributes not redacted as the policy says: %v", attrs)
			}
			if strings.Contains(l.Body(), "hunter2") {
				t.Errorf("body keeps the URL's password: %q", l.Body())
			}
			if l.GetSeverityText() != "INFO" || l.GetSeverityNumber() != 9 {
				t.Errorf("severity %q/%d, want INFO/9", l.GetSeverityText(), l.GetSeverityNumber())
			}
			// The same policy as the stdout line: what it redacts, the record redacts.
			var line map[string]any
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
				t.Fatalf("stdout: %v: %s", err, out.String())
			}
			card, _ := line["card"].(map[string]any)
			stdout := map[string]any{"password": line["password"], "order": line["order"], "card.token": card["token"]}
			for k, v := range stdout {
				if attrs[k] != v {
					t.Errorf("record attribute %s = %q, stdout line has %q", k, attrs[k], v)
				}
			}
			for _, s := range []string{"s3cr3t", "tok_live_123", "hunter2"} {
				for k, v := range attrs {
					if strings.Contains(v, s) {
						t.Errorf("log record attribute %s leaks %q", k, s)
					}
				}
			}
			if l.Resource["service.name"] != "signals-svc" {
				t.Errorf("log resource service.name = %q", l.Resource["service.name"])
			}
		})
	}
}

// TestSignalsDeadReceiverCounted: with the receiver gone, failed metric pushes and
// dropped log records are counted at /metrics, logging never waits, and Shutdown
// returns in time naming the losses.
func TestSignalsDeadReceiverCounted(t *testing.T) {
	base := "http://" + otlptest.RefusedAddr(t)
	out := &logtest.Buffer{}
	cfg := signalConfig(out)
	cfg.OTelMetrics.Exporter = "otlp,prometheus"
	cfg.OTelMetrics.BaseEndpoint = base
	cfg.OTelMetrics.ExportTimeout = 300 * time.Millisecond
	cfg.OTelLogs.Exporter = "otlp"
	cfg.OTelLogs.BaseEndpoint = base
	cfg.OTelLogs.ExportTimeout = 300 * time.Millisecond
	cfg.OTelLogs.MaxQueueSize = 4
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	for i := range 20 {
		o.Logger().Info("line", slog.Int("i", i)) // 4 queue, the rest dropped at once
	}
	if err := o.OTelMetrics().ForceFlush(context.Background()); err == nil {
		t.Errorf("ForceFlush to a dead receiver reported no failure")
	}
	if got := o.OTelMetrics().ExportFailures(); got == 0 {
		t.Errorf("ExportFailures = 0 after a failed push")
	}
	// The exporter may hold a batch of up to 4 (about to fail) while the others are
	// dropped at once; every line is counted lost by the end (checked after Shutdown).
	if got := o.OTelLogs().Dropped(); got < 12 {
		t.Errorf("Dropped = %d after 20 lines into a queue of 4, want at least 12", got)
	}
	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	fams, err := parseExposition(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	if v := fams["vigil_otel_metrics_export_failures_total"].GetMetric()[0].GetCounter().GetValue(); v < 1 {
		t.Errorf("vigil_otel_metrics_export_failures_total = %v", v)
	}
	if v := fams["vigil_otel_logs_dropped_total"].GetMetric()[0].GetCounter().GetValue(); v < 12 {
		t.Errorf("vigil_otel_logs_dropped_total = %v", v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = o.Shutdown(ctx)
	if err == nil {
		t.Fatal("Shutdown named no loss")
	}
	msg := err.Error()
	for _, want := range []string{"metrics (OpenTelemetry): ", "not delivered", "logs (OpenTelemetry): ", "log records dropped", "queue full"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Shutdown error lacks %q: %v", want, msg)
		}
	}
	if ctx.Err() != nil {
		t.Errorf("Shutdown used its whole deadline: %v", err)
	}
	if got := o.OTelLogs().Dropped(); got != 20 {
		t.Errorf("Dropped = %d after Shutdown, want all 20 lines (the receiver never answered)", got)
	}
}

// TestSignalsGlobals: Init installs the MeterProvider and LoggerProvider as
// OpenTelemetry's globals, and Shutdown restores what was there.
func TestSignalsGlobals(t *testing.T) {
	beforeMP, beforeLP := otel.GetMeterProvider(), otel.GetLoggerProvider()
	cfg := signalConfig(&logtest.Buffer{})
	cfg.NoGlobals = false
	cfg.OTelLogs.Exporter = "console"
	cfg.Tracing.Output = io.Discard
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetMeterProvider() != o.OTelMetrics().MeterProvider() {
		t.Errorf("global MeterProvider is not the Observer's")
	}
	if otel.GetLoggerProvider() != o.OTelLogs().LoggerProvider() {
		t.Errorf("global LoggerProvider is not the Observer's")
	}
	if err := o.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if otel.GetMeterProvider() != beforeMP || otel.GetLoggerProvider() != beforeLP {
		t.Errorf("Shutdown did not restore the OpenTelemetry globals")
	}
}

// parseExposition parses the Prometheus text format.
func parseExposition(text string) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(text))
}
