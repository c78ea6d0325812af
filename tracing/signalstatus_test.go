package tracing

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// errLeaky is an export failure whose text quotes a URL with a password, as an HTTP
// client's error does.
var errLeaky = errors.New(`post "https://ops:url-s3cret@collector.example/v1/x": 503 Service Unavailable`)

// flakyExport fails while fail is set.
type flakyExport struct {
	mu   sync.Mutex
	fail bool
}

func (f *flakyExport) result() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errLeaky
	}
	return nil
}

func (f *flakyExport) set(fail bool) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

type flakyMetrics struct{ flakyExport }

func (*flakyMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}
func (*flakyMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}
func (f *flakyMetrics) Export(context.Context, *metricdata.ResourceMetrics) error { return f.result() }
func (*flakyMetrics) ForceFlush(context.Context) error                            { return nil }
func (*flakyMetrics) Shutdown(context.Context) error                              { return nil }

type flakyLogs struct{ flakyExport }

func (f *flakyLogs) Export(context.Context, []sdklog.Record) error { return f.result() }
func (*flakyLogs) Shutdown(context.Context) error                  { return nil }
func (*flakyLogs) ForceFlush(context.Context) error                { return nil }

// checkStatus asserts one exporter's status after a failure then a success.
func checkStatus(t *testing.T, failed, recovered []ExportStatus, before time.Time) {
	t.Helper()
	if len(failed) != 1 || len(recovered) != 1 {
		t.Fatalf("statuses: %+v then %+v, want one exporter", failed, recovered)
	}
	f, r := failed[0], recovered[0]
	if !f.LastOK.IsZero() || f.LastErrorTime.Before(before) {
		t.Errorf("after a failure: %+v", f)
	}
	if !strings.Contains(f.LastError, "503") || strings.Contains(f.LastError, "s3cret") {
		t.Errorf("LastError = %q, want the failure without the password", f.LastError)
	}
	if r.LastOK.Before(r.LastErrorTime) || r.LastError != f.LastError || !r.LastErrorTime.Equal(f.LastErrorTime) {
		t.Errorf("after recovery: %+v", r)
	}
}

func TestMeterProviderExportStatus(t *testing.T) {
	exp := &flakyMetrics{flakyExport{fail: true}}
	mp, err := NewMeterProvider(context.Background(), MetricsConfig{MetricExporter: exp, Interval: time.Hour, Logger: slog.New(slog.DiscardHandler)}, SignalResource(Config{Service: "s"}))
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Shutdown(context.Background())
	if st := mp.ExportStatus(); len(st) != 1 || !st[0].LastOK.IsZero() || !st[0].LastErrorTime.IsZero() {
		t.Fatalf("before an export: %+v", st)
	}
	before := time.Now()
	mp.MeterProvider().Meter("t").Int64Counter("jobs")
	if err := mp.ForceFlush(context.Background()); err == nil {
		t.Fatal("ForceFlush hid the failed push")
	}
	failed := mp.ExportStatus()
	exp.set(false)
	if err := mp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStatus(t, failed, mp.ExportStatus(), before)

	// The prometheus exporter is scraped, not pushed: nothing to report.
	prom, err := NewMeterProvider(context.Background(), MetricsConfig{}, SignalResource(Config{Service: "s"}))
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Shutdown(context.Background())
	if st := prom.ExportStatus(); len(st) != 0 {
		t.Errorf("prometheus only: %+v", st)
	}
	if st := (*MeterProvider)(nil).ExportStatus(); st != nil {
		t.Errorf("nil: %+v", st)
	}
}

func TestLoggerProviderExportStatus(t *testing.T) {
	exp := &flakyLogs{flakyExport{fail: true}}
	lp, err := NewLoggerProvider(context.Background(), LogsConfig{LogExporter: exp, Logger: slog.New(slog.DiscardHandler)}, SignalResource(Config{Service: "s"}))
	if err != nil {
		t.Fatal(err)
	}
	defer lp.Shutdown(context.Background())
	emit := func() {
		var r log.Record
		r.SetBody(attribute.StringValue("hello"))
		lp.LoggerProvider().Logger("t").Emit(context.Background(), r)
		_ = lp.ForceFlush(context.Background())
	}
	before := time.Now()
	emit()
	failed := lp.ExportStatus()
	exp.set(false)
	emit()
	checkStatus(t, failed, lp.ExportStatus(), before)

	none, err := NewLoggerProvider(context.Background(), LogsConfig{}, SignalResource(Config{Service: "s"}))
	if err != nil {
		t.Fatal(err)
	}
	if st := none.ExportStatus(); len(st) != 0 {
		t.Errorf("no exporter: %+v", st)
	}
	if st := (*LoggerProvider)(nil).ExportStatus(); st != nil {
		t.Errorf("nil: %+v", st)
	}
}
