package benchmarks

import (
	"context"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// recordedHistograms is a MeterProvider that keeps the attributes of every float64
// histogram sample by instrument name: what otelgrpc would export, without an SDK.
type recordedHistograms struct {
	metricnoop.MeterProvider
	mu    sync.Mutex
	attrs map[string][]attribute.Set
}

func (r *recordedHistograms) Meter(string, ...metric.MeterOption) metric.Meter {
	return recordingMeter{r: r}
}

func (r *recordedHistograms) get(name string) []attribute.Set {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attrs[name]
}

type recordingMeter struct {
	metricnoop.Meter
	r *recordedHistograms
}

func (m recordingMeter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return recordingHistogram{r: m.r, name: name}, nil
}

type recordingHistogram struct {
	metricnoop.Float64Histogram
	r    *recordedHistograms
	name string
}

func (h recordingHistogram) Enabled(context.Context) bool { return true }

func (h recordingHistogram) Record(_ context.Context, _ float64, opts ...metric.RecordOption) {
	set := metric.NewRecordConfig(opts).Attributes()
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	if h.r.attrs == nil {
		h.r.attrs = map[string][]attribute.Set{}
	}
	h.r.attrs[h.name] = append(h.r.attrs[h.name], set)
}

// unavailableService fails UnaryCall with a server fault, so that error.type is set.
type unavailableService struct {
	testpb.UnimplementedTestServiceServer
}

func (unavailableService) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return nil, status.Error(codes.Unavailable, "db down")
}

// With otelgrpc's stats handlers installed next to vigil's and vigil's spans off, a call
// has exactly one server span and one client span, otelgrpc's; vigil still records its
// metrics, whose labels are otelgrpc's metric attributes in Prometheus form, with the same
// values.
func TestOtelgrpcNextToVigil(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := middleware.NewGRPC(middleware.GRPCConfig{Registry: reg, TracerProvider: tp, DisableSpans: true})
	if err != nil {
		t.Fatal(err)
	}
	meters := &recordedHistograms{}
	otelOpts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(meters),
		otelgrpc.WithPropagators(propagation.TraceContext{})}

	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(append(g.ServerOptions(), grpc.StatsHandler(otelgrpc.NewServerHandler(otelOpts...)))...)
	testpb.RegisterTestServiceServer(srv, unavailableService{})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		append(g.DialOptions(), grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelOpts...)),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop() })

	const calls = 3
	for range calls {
		_, err := testpb.NewTestServiceClient(conn).UnaryCall(context.Background(), &testpb.SimpleRequest{})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v, want Unavailable", err)
		}
	}

	// grpc-go ends the server's call after the client has its status: wait for it.
	var spans tracetest.SpanStubs
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if spans = exp.GetSpans(); len(spans) >= 2*calls && len(meters.get("rpc.server.call.duration")) == calls {
			break
		}
	}
	kinds := map[trace.SpanKind]int{}
	for _, s := range spans {
		kinds[s.SpanKind]++
		if s.InstrumentationScope.Name != otelgrpc.ScopeName {
			t.Errorf("span %q from %s, want only otelgrpc's", s.Name, s.InstrumentationScope.Name)
		}
	}
	if kinds[trace.SpanKindServer] != calls || kinds[trace.SpanKindClient] != calls || len(spans) != 2*calls {
		t.Errorf("spans by kind %v for %d calls, want one server and one client span each", kinds, calls)
	}

	fams, err := reg.Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	vigil := map[string]map[string]string{} // family -> label -> value
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			vigil[f.GetName()] = labels
		}
	}
	for _, side := range []struct{ otel, prom string }{
		{"rpc.server.call.duration", "rpc_server_call_duration_seconds"},
		{"rpc.client.call.duration", "rpc_client_call_duration_seconds"},
	} {
		recorded := meters.get(side.otel)
		if len(recorded) == 0 {
			t.Errorf("otelgrpc recorded no %s", side.otel)
			continue
		}
		labels := vigil[side.prom]
		if labels == nil {
			t.Errorf("vigil recorded no %s", side.prom)
			continue
		}
		var otelKeys, vigilKeys []string
		for it := recorded[0].Iter(); it.Next(); {
			kv := it.Attribute()
			name := strings.ReplaceAll(string(kv.Key), ".", "_")
			otelKeys = append(otelKeys, name)
			// server.address and .port come from different sources (otelgrpc: the
			// resolved peer; vigil: the :authority); the rest must agree.
			if kv.Key != "server.address" && kv.Key != "server.port" && labels[name] != kv.Value.String() {
				t.Errorf("%s: %s = %q, otelgrpc's %s = %q", side.prom, name, labels[name], kv.Key, kv.Value.String())
			}
		}
		for k, v := range labels {
			if v != "" { // an empty label is an absent one, to Prometheus
				vigilKeys = append(vigilKeys, k)
			}
		}
		sort.Strings(otelKeys)
		sort.Strings(vigilKeys)
		if strings.Join(otelKeys, ",") != strings.Join(vigilKeys, ",") {
			t.Errorf("%s labels %v, otelgrpc's %s attributes %v", side.prom, vigilKeys, side.otel, otelKeys)
		}
	}
}
