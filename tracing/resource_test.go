package tracing_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/vigil-go/vigil/tracing"
)

// Detected attributes sit under ResourceAttributes (OTEL_RESOURCE_ATTRIBUTES and the
// Kubernetes variables, which observe puts there), which sit under the Config fields.
func TestResourceMergeOrder(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		name  string
		cfg   tracing.Config
		want  map[string]string
		unset []string
	}{
		{"detected", tracing.Config{Service: "checkout"}, map[string]string{
			"service.name": "checkout", "host.name": host, "process.pid": strconv.Itoa(os.Getpid()),
			"process.runtime.name": "go", "telemetry.sdk.language": "go",
		}, nil},
		{"attributes over detected", tracing.Config{Service: "checkout", ResourceAttributes: map[string]string{
			"host.name": "node-7", "k8s.pod.name": "checkout-5d9f", "process.pid": "1",
		}}, map[string]string{"host.name": "node-7", "k8s.pod.name": "checkout-5d9f", "process.pid": "1"}, nil},
		{"fields over attributes", tracing.Config{Service: "checkout", Version: "2.0", Environment: "prod",
			ResourceAttributes: map[string]string{"service.name": "other", "service.version": "1.0", "deployment.environment.name": "dev"}},
			map[string]string{"service.name": "checkout", "service.version": "2.0", "deployment.environment.name": "prod"}, nil},
		{"detection off", tracing.Config{Service: "checkout", DisableResourceDetection: true},
			map[string]string{"service.name": "checkout"}, []string{"host.name", "process.pid", "process.runtime.name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, exp := memProvider(t, tc.cfg)
			_, span := p.Start(context.Background(), "x")
			span.End()
			_ = p.ForceFlush(context.Background())
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("got %d spans", len(spans))
			}
			got := map[string]string{}
			for _, kv := range spans[0].Resource.Attributes() {
				got[string(kv.Key)] = kv.Value.String()
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("resource %s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tc.unset {
				if _, ok := got[k]; ok {
					t.Errorf("resource has %s = %q, want it absent", k, got[k])
				}
			}
			if _, ok := got["process.command_args"]; ok {
				t.Error("resource carries the command line, which may hold credentials")
			}
		})
	}
}
