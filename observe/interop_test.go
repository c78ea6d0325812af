package observe_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-go/vigil/internal/omstrict"
	"github.com/vigil-go/vigil/internal/tlstest"
	"github.com/vigil-go/vigil/observe"
)

// A collector behind a private CA receives spans on the default http/protobuf protocol
// once OTEL_EXPORTER_OTLP_CERTIFICATE names the CA (and, for mutual TLS, the client
// certificate variables name the client's); an unreadable file fails Init naming the
// variable.
func TestOTLPTLSFromEnvironment(t *testing.T) {
	pki := tlstest.New(t)
	for _, mutual := range []bool{false, true} {
		t.Run(map[bool]string{false: "ca", true: "mtls"}[mutual], func(t *testing.T) {
			clearEnv(t)
			var (
				mu    sync.Mutex
				names []string
			)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var msg coltracepb.ExportTraceServiceRequest
				if err := proto.Unmarshal(body, &msg); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				mu.Lock()
				names = append(names, otlptestSpans(&msg)...)
				mu.Unlock()
				resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
				w.Header().Set("Content-Type", "application/x-protobuf")
				_, _ = w.Write(resp)
			}))
			srv.TLS = pki.ServerConfig(mutual)
			srv.StartTLS()
			defer srv.Close()

			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
			t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", pki.CAFile)
			if mutual {
				t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki.ClientCertFile)
				t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", pki.ClientKeyFile)
			}
			cfg := quiet(&syncBuffer{})
			cfg.NoGlobals = true
			cfg.Tracing.Exporter = ""
			o, err := observe.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, span := o.Start(context.Background(), "charge card")
			span.End()
			if err := o.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(names) != 1 || names[0] != "charge card" {
				t.Errorf("the TLS collector received %v, want [charge card]", names)
			}
		})
	}

	t.Run("unreadable", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example:4318")
		missing := filepath.Join(t.TempDir(), "ca.pem")
		t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", missing)
		cfg := quiet(&syncBuffer{})
		cfg.Tracing.Exporter = ""
		_, err := observe.New(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_CERTIFICATE=") ||
			!strings.Contains(err.Error(), "does not exist") {
			t.Errorf("New: %v, want an error naming OTEL_EXPORTER_OTLP_CERTIFICATE", err)
		}
	})
}

func otlptestSpans(msg *coltracepb.ExportTraceServiceRequest) []string {
	var out []string
	for _, rs := range msg.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out = append(out, s.GetName())
			}
		}
	}
	return out
}

// The Kubernetes downward-API variables and the detected attributes sit under
// OTEL_RESOURCE_ATTRIBUTES, which sits under the Config fields.
func TestResourceDetectionAndKubernetes(t *testing.T) {
	clearEnv(t)
	t.Setenv("K8S_POD_NAME", "checkout-5d9f")
	t.Setenv("K8S_NAMESPACE_NAME", "shop")
	t.Setenv("K8S_NODE_NAME", "node-3")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.node.name=node-override,host.name=from-env,service.name=ignored")
	exp := tracetest.NewInMemoryExporter()
	cfg := quiet(&syncBuffer{})
	cfg.NoGlobals = true
	cfg.Service = "checkout"
	cfg.Tracing.Exporter = ""
	cfg.Tracing.SpanExporter = keptExporter{exp}
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, span := o.Start(context.Background(), "x")
	span.End()
	_ = o.Shutdown(context.Background())
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	got := map[string]string{}
	for _, kv := range spans[0].Resource.Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	for k, v := range map[string]string{
		"service.name": "checkout", "k8s.pod.name": "checkout-5d9f", "k8s.namespace.name": "shop",
		"k8s.node.name": "node-override", "host.name": "from-env", "process.runtime.name": "go",
	} {
		if got[k] != v {
			t.Errorf("resource %s = %q, want %q", k, got[k], v)
		}
	}
	if got["process.pid"] == "" {
		t.Error("resource has no process.pid")
	}
}

// What the program registers with promauto on the default registry shows up at
// MetricsHandler beside vigil's metrics, every family once, in an OpenMetrics exposition
// a strict parser accepts; Gatherer serves the same for promhttp-based setups.
func TestMetricsHandlerServesDefaultRegistry(t *testing.T) {
	clearEnv(t)
	jobs := promauto.NewCounter(prometheus.CounterOpts{Name: "interop_jobs_total", Help: "Jobs done."})
	t.Cleanup(func() { prometheus.Unregister(jobs) })
	jobs.Add(2)

	cfg := quiet(&syncBuffer{})
	cfg.NoGlobals = true
	cfg.Metrics.DisableGoCollector = false // both registries have a Go collector
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	o.Counter("interop_orders_total", "Orders.").Inc()

	for name, h := range map[string]http.Handler{
		"MetricsHandler":    o.MetricsHandler(),
		"promhttp+Gatherer": promhttp.HandlerFor(o.Gatherer(), promhttp.HandlerOpts{EnableOpenMetrics: true}),
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != 200 {
			t.Fatalf("%s: status %d: %s", name, rec.Code, body)
		}
		for _, want := range []string{"interop_jobs_total 2", "interop_orders_total 1", "# TYPE go_goroutines gauge"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		if n := strings.Count(body, "# TYPE go_goroutines "); n != 1 {
			t.Errorf("%s serves go_goroutines %d times", name, n)
		}
		if err := omstrict.Check(body); err != nil {
			t.Errorf("%s: a strict OpenMetrics check rejects the exposition:\n%v", name, err)
		}
	}
}
