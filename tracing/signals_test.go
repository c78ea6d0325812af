package tracing

import (
	"context"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/conferr"
)

func TestParseSignalExporters(t *testing.T) {
	metricsAllowed := []string{ExporterPrometheus, ExporterOTLP, ExporterConsole}
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "prometheus", want: []string{"prometheus"}},
		{in: " OTLP , prometheus,otlp", want: []string{"otlp", "prometheus"}},
		{in: "stdout", want: []string{"console"}},
		{in: "none", want: nil},
		{in: "none,otlp", wantErr: true},
		{in: "zipkin", wantErr: true},
	} {
		got, err := ParseSignalExporters(tc.in, metricsAllowed...)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("ParseSignalExporters(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if _, err := ParseSignalExporters("prometheus", ExporterOTLP, ExporterConsole); err == nil {
		t.Errorf("logs accepted the prometheus exporter")
	}
}

func TestResolveOTLPEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    OTLP
		want string
	}{
		{"default http", OTLP{}, "http://localhost:4318/v1/metrics"},
		{"default grpc", OTLP{Protocol: "grpc"}, "http://localhost:4317/v1/metrics"},
		{"base gets the path", OTLP{BaseEndpoint: "https://col:4318/otlp/"}, "https://col:4318/otlp/v1/metrics"},
		{"signal endpoint as is", OTLP{Endpoint: "http://col:9/custom", BaseEndpoint: "http://other:1"}, "http://col:9/custom"},
		{"signal endpoint without path", OTLP{Endpoint: "http://col:9"}, "http://col:9/v1/metrics"},
		{"host:port is TLS", OTLP{Endpoint: "col:4318"}, "https://col:4318/v1/metrics"},
		{"host:port insecure", OTLP{Endpoint: "col:4318", Insecure: true}, "http://col:4318/v1/metrics"},
	} {
		errs := &conferr.Error{Part: "test"}
		s := resolveOTLP(tc.o, "/v1/metrics", errs)
		if err := errs.Err(); err != nil || s.endpoint != tc.want {
			t.Errorf("%s: endpoint %q, %v; want %q", tc.name, s.endpoint, err, tc.want)
		}
	}
	errs := &conferr.Error{Part: "test"}
	resolveOTLP(OTLP{Endpoint: "ftp://bob:pw@x", Protocol: "thrift", ExportTimeout: -1}, "/v1/logs", errs)
	if errs.Err() == nil {
		t.Fatal("invalid OTLP settings accepted")
	}
	for _, want := range []string{"Endpoint", "Protocol", "ExportTimeout"} {
		if !strings.Contains(errs.Err().Error(), want) {
			t.Errorf("error does not name %s: %v", want, errs.Err())
		}
	}
	if strings.Contains(errs.Err().Error(), "pw") {
		t.Errorf("error shows the endpoint's password: %v", errs.Err())
	}
}

// TestSemconvRenames: a family of the table leaves under its semantic-convention name,
// unit and attribute names (integers as integers); others are untouched.
func TestSemconvRenames(t *testing.T) {
	attrs := attribute.NewSet(attribute.String("http_route", "/a/{id}"), attribute.String("http_response_status_code", "404"),
		attribute.String("http_request_method", "GET"), attribute.String("http_response_status_class", "4xx"))
	next := producerFunc(func(context.Context) ([]metricdata.ScopeMetrics, error) {
		return []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: "http_server_request_duration_seconds", Data: metricdata.Histogram[float64]{
				DataPoints: []metricdata.HistogramDataPoint[float64]{{Attributes: attrs, Count: 1,
					Exemplars: []metricdata.Exemplar[float64]{{
						TraceID: []byte("0af7651916cd43dd8448eb211c80319c"), SpanID: []byte("b7ad6b7169203331")}}}}}},
			{Name: "jobs_total", Data: metricdata.Sum[float64]{
				DataPoints: []metricdata.DataPoint[float64]{{Attributes: attrs, Value: 1}}}},
		}}}, nil
	})
	sms, err := (&semconvProducer{next: next}).Produce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := sms[0].Metrics
	if got[0].Name != "http.server.request.duration" || got[0].Unit != "s" {
		t.Errorf("renamed to %q unit %q", got[0].Name, got[0].Unit)
	}
	set := got[0].Data.(metricdata.Histogram[float64]).DataPoints[0].Attributes
	if v, _ := set.Value("http.route"); v.AsString() != "/a/{id}" {
		t.Errorf("http.route = %v", v.String())
	}
	if v, _ := set.Value("http.response.status_code"); v.Type() != attribute.INT64 || v.AsInt64() != 404 {
		t.Errorf("http.response.status_code = %v (%v), want int 404", v.String(), v.Type())
	}
	// The bridge copies the exemplar's id labels as text; OTLP wants the bytes.
	ex := got[0].Data.(metricdata.Histogram[float64]).DataPoints[0].Exemplars[0]
	if hex.EncodeToString(ex.TraceID) != "0af7651916cd43dd8448eb211c80319c" || hex.EncodeToString(ex.SpanID) != "b7ad6b7169203331" {
		t.Errorf("exemplar ids %x/%x, want the 16 and 8 bytes of the hex labels", ex.TraceID, ex.SpanID)
	}
	if _, ok := set.Value("http_response_status_class"); !ok {
		t.Errorf("unmapped label dropped")
	}
	if got[1].Name != "jobs_total" || got[1].Unit != "" {
		t.Errorf("untouched family changed: %q %q", got[1].Name, got[1].Unit)
	}
	if _, ok := got[1].Data.(metricdata.Sum[float64]).DataPoints[0].Attributes.Value("http_route"); !ok {
		t.Errorf("labels of an unmapped family renamed")
	}
}

type producerFunc func(context.Context) ([]metricdata.ScopeMetrics, error)

func (f producerFunc) Produce(ctx context.Context) ([]metricdata.ScopeMetrics, error) { return f(ctx) }

// TestSlogHandler: levels, groups, redaction and the span context reach the record.
func TestSlogHandler(t *testing.T) {
	exp := &memLogs{}
	lp, err := NewLoggerProvider(context.Background(), LogsConfig{LogExporter: exp, RedactKeys: []string{"pin"}}, SignalResource(Config{Service: "s"}))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(lp.Handler(slog.LevelInfo)).With("pin", "1234").WithGroup("req")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	log.DebugContext(ctx, "hidden")
	log.WarnContext(ctx, "careful", "authorization", "Bearer abc", "n", 3)
	if err := lp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(exp.got) != 1 {
		t.Fatalf("got %d records, want 1", len(exp.got))
	}
	r := exp.got[0]
	if r.Severity() != 13 || r.SeverityText() != "WARN" || r.Body().AsString() != "careful" {
		t.Errorf("severity %d %q body %q", r.Severity(), r.SeverityText(), r.Body().String())
	}
	if r.TraceID() != sc.TraceID() || r.SpanID() != sc.SpanID() {
		t.Errorf("ids %v/%v, want the span's", r.TraceID(), r.SpanID())
	}
	attrs := map[string]string{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool { attrs[string(kv.Key)] = kv.Value.String(); return true })
	want := map[string]string{"pin": "[REDACTED]", "req.authorization": "[REDACTED]", "req.n": "3"}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, attrs[k], v, attrs)
		}
	}
}

type memLogs struct{ got []sdklog.Record }

func (m *memLogs) Export(_ context.Context, rs []sdklog.Record) error {
	for _, r := range rs {
		m.got = append(m.got, r.Clone())
	}
	return nil
}
func (*memLogs) Shutdown(context.Context) error   { return nil }
func (*memLogs) ForceFlush(context.Context) error { return nil }
