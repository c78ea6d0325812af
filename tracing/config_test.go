package tracing

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// want is the part of the resolved settings a case checks; zero fields are not checked
// unless the case says so.
type want struct {
	exporters []string
	protocol  string
	url       string // scheme://host/path as the exporter will be given it
	headers   map[string]string
	timeout   time.Duration
	queue     int
	sampler   string // Sampler.Description()
	disabled  bool
	resource  map[string]string
}

func TestEnvTable(t *testing.T) {
	exe := "unknown_service:" + filepath.Base(os.Args[0])
	tests := []struct {
		name string
		env  map[string]string
		cfg  Config
		want want
		errs []string // substrings every one of which the error must contain
	}{
		{
			name: "zero config, empty env: no exporter, spec defaults",
			want: want{exporters: nil, protocol: "http/protobuf", url: "http://localhost:4318/v1/traces",
				timeout: 10 * time.Second, queue: 2048, sampler: "ParentBased{root:AlwaysOnSampler",
				resource: map[string]string{"service.name": exe}},
		},
		{
			name: "generic endpoint turns otlp on and gets /v1/traces appended",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/otlp/"},
			want: want{exporters: []string{"otlp"}, url: "https://collector:4318/otlp/v1/traces"},
		},
		{
			name: "traces endpoint used as is and wins over generic",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"},
			want: want{exporters: []string{"otlp"}, url: "http://b:4318/custom"},
		},
		{
			name: "Config.Endpoint wins, empty path means /v1/traces",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"},
			cfg:  Config{Endpoint: "http://c:4318"},
			want: want{exporters: []string{"otlp"}, url: "http://c:4318/v1/traces"},
		},
		{
			name: "grpc host:port is TLS unless insecure",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"},
			want: want{protocol: "grpc", url: "https://collector:4317"},
		},
		{
			name: "insecure variable, traces protocol wins over generic",
			env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
				"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "TRUE"},
			want: want{protocol: "grpc", url: "http://collector:4317"},
		},
		{
			name: "Config.Insecure and Protocol win",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_INSECURE": "false"},
			cfg:  Config{Protocol: "grpc", Insecure: true, Endpoint: "collector:4317"},
			want: want{protocol: "grpc", url: "http://collector:4317"},
		},
		{
			name: "no endpoint with grpc: localhost:4317",
			cfg:  Config{Protocol: "grpc", Exporter: "otlp"},
			want: want{exporters: []string{"otlp"}, url: "http://localhost:4317"},
		},
		{
			name: "exporter variable: console means stdout, list deduplicated",
			env:  map[string]string{"OTEL_TRACES_EXPORTER": "console, otlp,stdout"},
			want: want{exporters: []string{"stdout", "otlp"}},
		},
		{
			name: "exporter none wins over an endpoint",
			env:  map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"},
			want: want{exporters: nil},
		},
		{
			name: "Config.Exporter wins over the variable",
			env:  map[string]string{"OTEL_TRACES_EXPORTER": "otlp"},
			cfg:  Config{Exporter: "none"},
			want: want{exporters: nil},
		},
		{
			name: "headers: traces variable over generic, Config over both, percent-decoded",
			env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=2,api-key=x%20y",
				"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=3"},
			cfg:  Config{Headers: map[string]string{"a": "9"}},
			want: want{headers: map[string]string{"a": "9", "b": "3", "api-key": "x y"}},
		},
		{
			name: "timeout: traces variable over generic",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "5000", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "250"},
			want: want{timeout: 250 * time.Millisecond},
		},
		{
			name: "timeout and queue: Config wins",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "5000", "OTEL_BSP_MAX_QUEUE_SIZE": "10"},
			cfg:  Config{ExportTimeout: time.Second, MaxQueueSize: 7},
			want: want{timeout: time.Second, queue: 7},
		},
		{
			name: "queue from the variable",
			env:  map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "10"},
			want: want{queue: 10},
		},
		{name: "sampler always_on", env: map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}, want: want{sampler: "AlwaysOnSampler"}},
		{name: "sampler always_off", env: map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, want: want{sampler: "AlwaysOffSampler"}},
		{
			name: "sampler traceidratio with arg",
			env:  map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
			want: want{sampler: "TraceIDRatioBased{0.25}"},
		},
		{
			name: "sampler parentbased_traceidratio defaults arg to 1",
			env:  map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"},
			want: want{sampler: "ParentBased{root:TraceIDRatioBased{1}"},
		},
		{
			name: "sampler parentbased_always_off, arg ignored",
			env:  map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_always_off", "OTEL_TRACES_SAMPLER_ARG": "junk"},
			want: want{sampler: "ParentBased{root:AlwaysOffSampler"},
		},
		{
			name: "Config.SampleRatio wins over the sampler variable",
			env:  map[string]string{"OTEL_TRACES_SAMPLER": "always_off"},
			cfg:  Config{SampleRatio: ptr(0.5)},
			want: want{sampler: "ParentBased{root:TraceIDRatioBased{0.5}"},
		},
		{name: "OTEL_SDK_DISABLED", env: map[string]string{"OTEL_SDK_DISABLED": "true"}, want: want{disabled: true}},
		{
			name: "disabled reads and validates nothing else",
			env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_SAMPLER": "bogus",
				"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x", "OTEL_RESOURCE_ATTRIBUTES": "a=%zz"},
			want: want{disabled: true, exporters: nil, sampler: "AlwaysOffSampler"},
		},
		{
			name: "Config.Disabled is a fallback that cannot fail",
			env:  map[string]string{"OTEL_SDK_DISABLED": "bogus", "OTEL_TRACES_SAMPLER": "bogus"},
			cfg:  Config{Disabled: true, Service: "checkout"},
			want: want{disabled: true, sampler: "AlwaysOffSampler", resource: map[string]string{"service.name": "checkout"}},
		},
		{
			name: "resource: attributes, service name variable, Config fields in that order",
			env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team=pay%2Cments,service.name=a,service.version=0.1,deployment.environment.name=dev",
				"OTEL_SERVICE_NAME": "b"},
			cfg: Config{Version: "1.0"},
			want: want{resource: map[string]string{"team": "pay,ments", "service.name": "b",
				"service.version": "1.0", "deployment.environment.name": "dev"}},
		},
		{
			name: "resource: Config.Service wins",
			env:  map[string]string{"OTEL_SERVICE_NAME": "b"},
			cfg:  Config{Service: "checkout", Environment: "prod"},
			want: want{resource: map[string]string{"service.name": "checkout", "deployment.environment.name": "prod"}},
		},

		// Invalid values: every one is named with its value, all in one error.
		{
			name: "invalid variables are all reported",
			env: map[string]string{
				"OTEL_SDK_DISABLED":                  "yes",
				"OTEL_TRACES_EXPORTER":               "zipkin",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "thrift",
				"OTEL_EXPORTER_OTLP_INSECURE":        "maybe",
				"OTEL_EXPORTER_OTLP_ENDPOINT":        "ftp://x",
				"OTEL_EXPORTER_OTLP_HEADERS":         "novalue",
				"OTEL_EXPORTER_OTLP_TIMEOUT":         "10s",
				"OTEL_BSP_MAX_QUEUE_SIZE":            "-1",
				"OTEL_TRACES_SAMPLER":                "jaeger_remote",
				"OTEL_RESOURCE_ATTRIBUTES":           "a=%zz",
			},
			errs: []string{
				`OTEL_SDK_DISABLED="yes"`, `OTEL_TRACES_EXPORTER="zipkin"`, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="thrift"`,
				`OTEL_EXPORTER_OTLP_INSECURE="maybe"`, `OTEL_EXPORTER_OTLP_ENDPOINT="ftp://x"`,
				`OTEL_EXPORTER_OTLP_HEADERS="novalue"`, `OTEL_EXPORTER_OTLP_TIMEOUT="10s"`,
				`OTEL_BSP_MAX_QUEUE_SIZE="-1"`, `OTEL_TRACES_SAMPLER="jaeger_remote"`, `OTEL_RESOURCE_ATTRIBUTES="a=%zz"`,
			},
		},
		{
			name: "invalid sampler argument",
			env:  map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"},
			errs: []string{`OTEL_TRACES_SAMPLER_ARG="1.5"`},
		},
		{
			name: "none combined with an exporter",
			env:  map[string]string{"OTEL_TRACES_EXPORTER": "none,otlp"},
			errs: []string{`OTEL_TRACES_EXPORTER="none,otlp"`},
		},
		{
			name: "invalid Config fields are named",
			cfg: Config{Exporter: "jaeger", Protocol: "udp", Endpoint: "https://x:1", Insecure: true,
				SampleRatio: ptr(-0.1), MaxQueueSize: -5, ExportTimeout: -time.Second},
			errs: []string{`Config.Exporter="jaeger"`, `Config.Protocol="udp"`, `Config.Endpoint="https://x:1"`,
				`Config.SampleRatio=-0.1`, `Config.MaxQueueSize="-5"`, `Config.ExportTimeout="-1s"`},
		},
		{
			name: "endpoint without host",
			cfg:  Config{Endpoint: "http://"},
			errs: []string{`Config.Endpoint="http://": missing host`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{
				envSDKDisabled, envServiceName, envResourceAttributes, envExporter, envSampler, envSamplerArg,
				envEndpoint, envTracesEndpoint, envProtocol, envTracesProtocol, envHeaders, envTracesHeaders,
				envInsecure, envTracesInsecure, envTimeout, envTracesTimeout, envQueueSize,
			} {
				t.Setenv(k, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s, err := resolve(tc.cfg)
			if len(tc.errs) > 0 {
				if err == nil {
					t.Fatalf("resolve = nil error, want one naming %v", tc.errs)
				}
				for _, e := range tc.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("error does not name %s:\n%v", e, err)
					}
				}
				// New reports the same error and starts nothing.
				if p, nerr := New(context.Background(), tc.cfg); nerr == nil || p != nil {
					t.Errorf("New = %v, %v; want nil, error", p, nerr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			w := tc.want
			if w.exporters != nil || strings.Contains(tc.name, "no exporter") || strings.Contains(tc.name, "none") {
				if !reflect.DeepEqual(s.exporters, w.exporters) {
					t.Errorf("exporters = %v, want %v", s.exporters, w.exporters)
				}
			}
			if w.protocol != "" && s.protocol != w.protocol {
				t.Errorf("protocol = %q, want %q", s.protocol, w.protocol)
			}
			if w.url != "" {
				scheme := "https"
				if s.insecure {
					scheme = "http"
				}
				if got := scheme + "://" + s.host + s.path; got != w.url && !(s.protocol == "grpc" && scheme+"://"+s.host == w.url) {
					t.Errorf("endpoint = %q, want %q", got, w.url)
				}
			}
			for k, v := range w.headers {
				if s.headers[k] != v {
					t.Errorf("header %s = %q, want %q (all: %v)", k, s.headers[k], v, s.headers)
				}
			}
			if w.timeout != 0 && s.timeout != w.timeout {
				t.Errorf("timeout = %v, want %v", s.timeout, w.timeout)
			}
			if w.queue != 0 && s.queueSize != w.queue {
				t.Errorf("queue = %d, want %d", s.queueSize, w.queue)
			}
			if w.sampler != "" && !strings.HasPrefix(s.sampler.Description(), w.sampler) {
				t.Errorf("sampler = %q, want prefix %q", s.sampler.Description(), w.sampler)
			}
			if s.disabled != w.disabled {
				t.Errorf("disabled = %v, want %v", s.disabled, w.disabled)
			}
			for k, v := range w.resource {
				if s.resource[k] != v {
					t.Errorf("resource %s = %q, want %q", k, s.resource[k], v)
				}
			}
		})
	}
}
