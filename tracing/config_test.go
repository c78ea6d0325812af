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

// TestConfigTable checks the fields alone. The OTEL_* variables that fill them, and
// which of two variables wins, are package observe's (TestSettingsEveryVariable,
// TestTracingPrecedence there).
func TestConfigTable(t *testing.T) {
	exe := "unknown_service:" + filepath.Base(os.Args[0])
	tests := []struct {
		name string
		cfg  Config
		want want
		errs []string // substrings every one of which the error must contain
	}{
		{
			name: "zero config: no exporter, spec defaults",
			want: want{exporters: nil, protocol: "http/protobuf", url: "http://localhost:4318/v1/traces",
				timeout: 10 * time.Second, queue: 2048, sampler: "ParentBased{root:AlwaysOnSampler",
				resource: map[string]string{"service.name": exe}},
		},
		{
			name: "base endpoint turns otlp on and gets /v1/traces appended",
			cfg:  Config{BaseEndpoint: "https://collector:4318/otlp/"},
			want: want{exporters: []string{"otlp"}, url: "https://collector:4318/otlp/v1/traces"},
		},
		{
			name: "endpoint used as is and wins over the base",
			cfg:  Config{BaseEndpoint: "http://a:4318", Endpoint: "http://b:4318/custom"},
			want: want{exporters: []string{"otlp"}, url: "http://b:4318/custom"},
		},
		{
			name: "endpoint with an empty path means /v1/traces",
			cfg:  Config{Endpoint: "http://c:4318"},
			want: want{exporters: []string{"otlp"}, url: "http://c:4318/v1/traces"},
		},
		{
			name: "grpc host:port is TLS unless insecure",
			cfg:  Config{Protocol: "grpc", BaseEndpoint: "collector:4317"},
			want: want{protocol: "grpc", url: "https://collector:4317"},
		},
		{
			name: "insecure host:port",
			cfg:  Config{Protocol: "grpc", Insecure: true, Endpoint: "collector:4317"},
			want: want{protocol: "grpc", url: "http://collector:4317"},
		},
		{
			name: "a URL's scheme decides over Insecure",
			cfg:  Config{Insecure: true, Endpoint: "https://collector:4318"},
			want: want{url: "https://collector:4318/v1/traces"},
		},
		{
			name: "no endpoint with grpc: localhost:4317",
			cfg:  Config{Protocol: "grpc", Exporter: "otlp"},
			want: want{exporters: []string{"otlp"}, url: "http://localhost:4317"},
		},
		{
			name: "exporter list: console means stdout, deduplicated",
			cfg:  Config{Exporter: "console, otlp,stdout"},
			want: want{exporters: []string{"stdout", "otlp"}},
		},
		{
			name: "exporter none wins over an endpoint",
			cfg:  Config{Exporter: "none", BaseEndpoint: "http://a:4318"},
			want: want{exporters: nil},
		},
		{
			name: "headers",
			cfg:  Config{Headers: map[string]string{"a": "9", "api-key": "x y"}},
			want: want{headers: map[string]string{"a": "9", "api-key": "x y"}},
		},
		{
			name: "timeout and queue",
			cfg:  Config{ExportTimeout: time.Second, MaxQueueSize: 7},
			want: want{timeout: time.Second, queue: 7},
		},
		{name: "sampler always_on", cfg: Config{Sampler: "always_on"}, want: want{sampler: "AlwaysOnSampler"}},
		{name: "sampler always_off", cfg: Config{Sampler: "ALWAYS_OFF"}, want: want{sampler: "AlwaysOffSampler"}},
		{
			name: "sampler traceidratio with arg",
			cfg:  Config{Sampler: "traceidratio", SamplerArg: "0.25"},
			want: want{sampler: "TraceIDRatioBased{0.25}"},
		},
		{
			name: "sampler parentbased_traceidratio defaults arg to 1",
			cfg:  Config{Sampler: "parentbased_traceidratio"},
			want: want{sampler: "ParentBased{root:TraceIDRatioBased{1}"},
		},
		{
			name: "sampler parentbased_always_off, arg ignored",
			cfg:  Config{Sampler: "parentbased_always_off", SamplerArg: "junk"},
			want: want{sampler: "ParentBased{root:AlwaysOffSampler"},
		},
		{
			name: "SampleRatio wins over Sampler",
			cfg:  Config{Sampler: "always_off", SampleRatio: ptr(0.5)},
			want: want{sampler: "ParentBased{root:TraceIDRatioBased{0.5}"},
		},
		{
			name: "Disabled validates nothing else and cannot fail",
			cfg:  Config{Disabled: true, Service: "checkout", Sampler: "bogus", Endpoint: "ftp://x"},
			want: want{disabled: true, sampler: "AlwaysOffSampler", resource: map[string]string{"service.name": "checkout"}},
		},
		{
			name: "resource: attributes, then the Config fields",
			cfg: Config{Version: "1.0", ResourceAttributes: map[string]string{"team": "pay,ments", "service.name": "a",
				"service.version": "0.1", "deployment.environment.name": "dev"}},
			want: want{resource: map[string]string{"team": "pay,ments", "service.name": "a",
				"service.version": "1.0", "deployment.environment.name": "dev"}},
		},
		{
			name: "resource: Config.Service wins",
			cfg:  Config{Service: "checkout", Environment: "prod", ResourceAttributes: map[string]string{"service.name": "b"}},
			want: want{resource: map[string]string{"service.name": "checkout", "deployment.environment.name": "prod"}},
		},

		// Invalid values: every one is named with its value, all in one error.
		{
			name: "invalid fields are all reported",
			cfg: Config{Exporter: "jaeger", Protocol: "udp", Endpoint: "ftp://x", Sampler: "jaeger_remote",
				MaxQueueSize: -5, ExportTimeout: -time.Second, RedactKeys: []string{""}, AllowKeys: []string{" "}},
			errs: []string{`tracing: Exporter="jaeger"`, `tracing: Protocol="udp"`, `tracing: Endpoint="ftp://x"`,
				`tracing: Sampler="jaeger_remote"`, `tracing: MaxQueueSize="-5"`, `tracing: ExportTimeout="-1s"`,
				`tracing: RedactKeys[0]`, `tracing: AllowKeys[0]`},
		},
		{
			name: "invalid sampler argument",
			cfg:  Config{Sampler: "traceidratio", SamplerArg: "1.5"},
			errs: []string{`tracing: SamplerArg="1.5"`},
		},
		{
			name: "invalid ratio",
			cfg:  Config{SampleRatio: ptr(-0.1)},
			errs: []string{`tracing: SampleRatio="-0.1"`},
		},
		{
			name: "none combined with an exporter",
			cfg:  Config{Exporter: "none,otlp"},
			errs: []string{`tracing: Exporter="none,otlp"`},
		},
		{
			name: "endpoint without host",
			cfg:  Config{Endpoint: "http://"},
			errs: []string{`tracing: Endpoint="http://": missing host`},
		},
		{
			name: "a header value never shows",
			cfg:  Config{Headers: map[string]string{"authorization": "Bearer s3cr3t\r\n"}},
			errs: []string{`tracing: Headers["authorization"]="[REDACTED]"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
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
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("error shows a secret:\n%v", err)
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

// The parsers observe's settings table calls for the variables: their errors never
// quote a credential.
func TestParsers(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"headers without =", func() error { _, err := ParseHeaders("a=1,Bearer s3cr3t"); return err }()},
		{"header value escape", func() error { _, err := ParseHeaders("authorization=s3cr3t%zz"); return err }()},
		{"endpoint", ParseEndpoint("ftp://user:s3cr3t@host")},
		{"endpoint unparseable", ParseEndpoint("http://user:s3cr3t@[::1")},
	} {
		if tc.err == nil {
			t.Errorf("%s: accepted", tc.name)
		} else if strings.Contains(tc.err.Error(), "s3cr3t") {
			t.Errorf("%s: error %q shows the secret", tc.name, tc.err)
		}
	}
	h, err := ParseHeaders("a=1, api-key = x%20y ,,b=%3D")
	if err != nil || !reflect.DeepEqual(h, map[string]string{"a": "1", "api-key": "x y", "b": "="}) {
		t.Errorf("ParseHeaders = %v, %v", h, err)
	}
	if _, err := ParseSampler("always_off", "junk"); err != nil {
		t.Errorf("ParseSampler read the argument of a sampler that takes none: %v", err)
	}
}
