package otlptest

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// signals holds the metrics and logs a Receiver got; r.mu guards it.
type signals struct {
	metrics []*metricspb.ResourceMetrics
	logs    []*logspb.ResourceLogs
}

func (r *Receiver) recordSignal(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Receiver) registerGRPC(srv *grpc.Server) {
	colmetricspb.RegisterMetricsServiceServer(srv, &grpcMetrics{r: r})
	collogspb.RegisterLogsServiceServer(srv, &grpcLogs{r: r})
}

type grpcMetrics struct {
	colmetricspb.UnimplementedMetricsServiceServer
	r *Receiver
}

func (s *grpcMetrics) Export(_ context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	if err := checkMetrics(req); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.r.recordSignal(func() { s.r.metrics = append(s.r.metrics, req.GetResourceMetrics()...) })
	return &colmetricspb.ExportMetricsServiceResponse{}, nil
}

type grpcLogs struct {
	collogspb.UnimplementedLogsServiceServer
	r *Receiver
}

func (s *grpcLogs) Export(_ context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	s.r.recordSignal(func() { s.r.logs = append(s.r.logs, req.GetResourceLogs()...) })
	return &collogspb.ExportLogsServiceResponse{}, nil
}

func (r *Receiver) serveMetrics(w http.ResponseWriter, req *http.Request) {
	var msg colmetricspb.ExportMetricsServiceRequest
	if ct, ok := decodeHTTP(w, req, &msg); ok {
		if err := checkMetrics(&msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.recordSignal(func() { r.metrics = append(r.metrics, msg.GetResourceMetrics()...) })
		respond(w, ct, &colmetricspb.ExportMetricsServiceResponse{})
	}
}

func (r *Receiver) serveLogs(w http.ResponseWriter, req *http.Request) {
	var msg collogspb.ExportLogsServiceRequest
	if ct, ok := decodeHTTP(w, req, &msg); ok {
		r.recordSignal(func() { r.logs = append(r.logs, msg.GetResourceLogs()...) })
		respond(w, ct, &collogspb.ExportLogsServiceResponse{})
	}
}

// decodeHTTP reads an OTLP/HTTP request body (protobuf or JSON, optionally gzipped)
// into msg; on failure it has answered the request.
func decodeHTTP(w http.ResponseWriter, req *http.Request, msg proto.Message) (string, bool) {
	var body io.Reader = http.MaxBytesReader(w, req.Body, maxBody)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return "", false
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return "", false
	}
	ct := req.Header.Get("Content-Type")
	switch ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(data, msg)
	case "application/json":
		err = protojson.Unmarshal(data, msg)
	default:
		http.Error(w, "unsupported content type "+ct, http.StatusUnsupportedMediaType)
		return "", false
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return "", false
	}
	return ct, true
}

// checkMetrics refuses what the Collector refuses: exemplar trace and span ids must be
// empty or 16 and 8 bytes.
func checkMetrics(req *colmetricspb.ExportMetricsServiceRequest) error {
	check := func(es []*metricspb.Exemplar) error {
		for _, e := range es {
			if n := len(e.GetTraceId()); n != 0 && n != 16 {
				return fmt.Errorf("invalid TraceID length %d", n)
			}
			if n := len(e.GetSpanId()); n != 0 && n != 8 {
				return fmt.Errorf("invalid SpanID length %d", n)
			}
		}
		return nil
	}
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				for _, p := range m.GetHistogram().GetDataPoints() {
					if err := check(p.GetExemplars()); err != nil {
						return err
					}
				}
				for _, p := range m.GetSum().GetDataPoints() {
					if err := check(p.GetExemplars()); err != nil {
						return err
					}
				}
				for _, p := range m.GetGauge().GetDataPoints() {
					if err := check(p.GetExemplars()); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func respond(w http.ResponseWriter, ct string, resp proto.Message) {
	var b []byte
	if ct == "application/json" {
		b, _ = protojson.Marshal(resp)
	} else {
		b, _ = proto.Marshal(resp)
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(b)
}

// ResourceMetrics returns every metrics export received so far.
func (r *Receiver) ResourceMetrics() []*metricspb.ResourceMetrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*metricspb.ResourceMetrics(nil), r.metrics...)
}

// ResourceLogs returns every logs export received so far.
func (r *Receiver) ResourceLogs() []*logspb.ResourceLogs {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*logspb.ResourceLogs(nil), r.logs...)
}

// Point is one data point of a received metric: a sum's or a gauge's value, or a
// histogram's count and sum.
type Point struct {
	Attrs map[string]string
	Value float64 // sum or gauge value; histogram sum
	Count uint64  // histogram count
}

// Metric is one received metric (from one export) with its resource and scope.
type Metric struct {
	Name, Unit, Scope string
	Kind              string // "sum", "gauge", "histogram", "exponential_histogram", "summary"
	Monotonic         bool
	Resource          map[string]string
	Points            []Point
}

// Metrics flattens every metric received so far, in order of arrival.
func (r *Receiver) Metrics() []Metric {
	var out []Metric
	for _, rm := range r.ResourceMetrics() {
		res := Attrs(rm.GetResource().GetAttributes())
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				out = append(out, flattenMetric(m, res, sm.GetScope().GetName()))
			}
		}
	}
	return out
}

func flattenMetric(m *metricspb.Metric, res map[string]string, scope string) Metric {
	out := Metric{Name: m.GetName(), Unit: m.GetUnit(), Scope: scope, Resource: res}
	num := func(p *metricspb.NumberDataPoint) Point {
		v := p.GetAsDouble()
		if _, ok := p.GetValue().(*metricspb.NumberDataPoint_AsInt); ok {
			v = float64(p.GetAsInt())
		}
		return Point{Attrs: Attrs(p.GetAttributes()), Value: v}
	}
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Sum:
		out.Kind, out.Monotonic = "sum", d.Sum.GetIsMonotonic()
		for _, p := range d.Sum.GetDataPoints() {
			out.Points = append(out.Points, num(p))
		}
	case *metricspb.Metric_Gauge:
		out.Kind = "gauge"
		for _, p := range d.Gauge.GetDataPoints() {
			out.Points = append(out.Points, num(p))
		}
	case *metricspb.Metric_Histogram:
		out.Kind = "histogram"
		for _, p := range d.Histogram.GetDataPoints() {
			out.Points = append(out.Points, Point{Attrs: Attrs(p.GetAttributes()), Value: p.GetSum(), Count: p.GetCount()})
		}
	case *metricspb.Metric_ExponentialHistogram:
		out.Kind = "exponential_histogram"
		for _, p := range d.ExponentialHistogram.GetDataPoints() {
			out.Points = append(out.Points, Point{Attrs: Attrs(p.GetAttributes()), Value: p.GetSum(), Count: p.GetCount()})
		}
	case *metricspb.Metric_Summary:
		out.Kind = "summary"
		for _, p := range d.Summary.GetDataPoints() {
			out.Points = append(out.Points, Point{Attrs: Attrs(p.GetAttributes()), Value: p.GetSum(), Count: p.GetCount()})
		}
	}
	return out
}

// LogRecord is one received log record with its resource and scope.
type LogRecord struct {
	*logspb.LogRecord
	Resource map[string]string
	Scope    string
}

// Body returns the record's body as a string.
func (l LogRecord) Body() string { return value(l.GetBody()) }

// Attributes returns the record's attributes as strings.
func (l LogRecord) Attributes() map[string]string { return Attrs(l.GetAttributes()) }

// Logs flattens every log record received so far.
func (r *Receiver) Logs() []LogRecord {
	var out []LogRecord
	for _, rl := range r.ResourceLogs() {
		res := Attrs(rl.GetResource().GetAttributes())
		for _, sl := range rl.GetScopeLogs() {
			for _, l := range sl.GetLogRecords() {
				out = append(out, LogRecord{LogRecord: l, Resource: res, Scope: sl.GetScope().GetName()})
			}
		}
	}
	return out
}

// WaitFor waits until ok holds on the receiver, checking after every request; it fails
// the test after timeout, with what describes the wait.
func (r *Receiver) WaitFor(tb TB, what string, timeout time.Duration, ok func() bool) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		if ok() {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("otlptest: no %s within %v", what, timeout)
			return
		}
	}
}

// WaitMetric waits for a metric named name and returns the last one received.
func (r *Receiver) WaitMetric(tb TB, name string, timeout time.Duration) Metric {
	tb.Helper()
	var got Metric
	r.WaitFor(tb, "metric "+name, timeout, func() bool {
		ms := r.Metrics()
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].Name == name {
				got = ms[i]
				return true
			}
		}
		return false
	})
	return got
}

// WaitLogs waits until at least n log records have arrived and returns them all.
func (r *Receiver) WaitLogs(tb TB, n int, timeout time.Duration) []LogRecord {
	tb.Helper()
	r.WaitFor(tb, "log records", timeout, func() bool { return len(r.Logs()) >= n })
	return r.Logs()
}
