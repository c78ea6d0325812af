package observe

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-go/vigil/internal/logtest"
	"github.com/vigil-go/vigil/internal/sentrytest"
	"github.com/vigil-go/vigil/logging"
)

// planted is the secret the tests hide in values; no error or log may show it.
const planted = "s3cr3t"

// hide keeps the planted secret out of test output even when a check fails.
func hide(s string) string { return strings.ReplaceAll(s, planted, "<planted secret>") }

// quietConfig starts nothing in the background and logs to out.
func quietConfig(out *logtest.Buffer) Config {
	var c Config
	c.NoGlobals = true
	c.Logging.Output = out
	c.Metrics.DisableGoCollector, c.Metrics.DisableProcessCollector, c.Metrics.DisableHostCollector = true, true, true
	return c
}

// newWithEnv runs New with exactly env set among the settings' variables.
func newWithEnv(t *testing.T, cfg Config, env map[string]string) (*Observer, error) {
	t.Helper()
	for _, s := range settings {
		t.Setenv(s.Var, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	o, err := New(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { o.Shutdown(context.Background()) })
	}
	return o, err
}

// TestSettingsEveryVariable gives every variable of the table a valid value, which must
// reach its field, and (where one exists) an invalid one, which must fail New with a
// problem naming that variable.
func TestSettingsEveryVariable(t *testing.T) {
	cases := map[string]struct {
		good, bad string
		companion map[string]string // other variables the case needs
	}{
		"OTEL_SERVICE_NAME":                      {good: "checkout"},
		"VIGIL_ENVIRONMENT":                      {good: "staging"},
		"VIGIL_REDACT_KEYS":                      {good: "pin, ssn"},
		"VIGIL_LOG_REDACT":                       {good: "pin"},
		"VIGIL_REDACT_ALLOW":                     {good: "max_tokens"},
		"VIGIL_SHUTDOWN_TIMEOUT":                 {good: "3s", bad: "soon"},
		"VIGIL_LOG_LEVEL":                        {good: "debug", bad: "chatty"},
		"VIGIL_LOG_FORMAT":                       {good: "TEXT", bad: "xml"},
		"VIGIL_LOG_SOURCE":                       {good: "true", bad: "perhaps"},
		"VIGIL_LOG_FIELDS":                       {good: "gcp:my-project", bad: "splunk"},
		"SENTRY_DSN":                             {good: "https://public@sentry.example/1", bad: "https://public@/1"},
		"SENTRY_ENVIRONMENT":                     {good: "prod"},
		"SENTRY_RELEASE":                         {good: "r9"},
		"VIGIL_SENTRY_SAMPLE_RATE":               {good: "0.5", bad: "2"},
		"VIGIL_SENTRY_DEBUG":                     {good: "true", bad: "yes please"},
		"VIGIL_SENTRY_DEDUP_WINDOW":              {good: "0", bad: "soon"},
		"VIGIL_SENTRY_MAX_EVENTS_PER_SECOND":     {good: "0", bad: "-3"},
		"VIGIL_SENTRY_SEND_DEFAULT_PII":          {good: "1", bad: "maybe"},
		"VIGIL_SENTRY_QUEUE_SIZE":                {good: "10", bad: "bogus"},
		"VIGIL_SENTRY_TIMEOUT":                   {good: "2s", bad: "0s"},
		"SENTRY_SPOTLIGHT":                       {good: "true", bad: "ftp://spotlight"},
		"OTEL_SDK_DISABLED":                      {good: "TRUE", bad: "yes"},
		"OTEL_TRACES_EXPORTER":                   {good: "none", bad: "zipkin"},
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":     {good: "http://127.0.0.1:1/t", bad: "ftp://x", companion: map[string]string{"OTEL_TRACES_EXPORTER": "none"}},
		"OTEL_EXPORTER_OTLP_ENDPOINT":            {good: "http://127.0.0.1:1", bad: "ftp://x", companion: map[string]string{"OTEL_TRACES_EXPORTER": "none"}},
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL":     {good: "grpc", bad: "thrift"},
		"OTEL_EXPORTER_OTLP_PROTOCOL":            {good: "http/json", bad: "carrier-pigeon"},
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS":      {good: "a=1", bad: "novalue"},
		"OTEL_EXPORTER_OTLP_HEADERS":             {good: "a=1", bad: "a=%zz"},
		"OTEL_EXPORTER_OTLP_TRACES_INSECURE":     {good: "true", bad: "maybe"},
		"OTEL_EXPORTER_OTLP_INSECURE":            {good: "TRUE", bad: "1"},
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":      {good: "250", bad: "10s"},
		"OTEL_EXPORTER_OTLP_TIMEOUT":             {good: "5000", bad: "-1"},
		"OTEL_BSP_MAX_QUEUE_SIZE":                {good: "10", bad: "-1"},
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE":         {good: "64", bad: "0"},
		"OTEL_BSP_SCHEDULE_DELAY":                {good: "20", bad: "5s"},
		"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": {good: "4096", bad: "-1"},
		"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT":        {good: "64", bad: "many"},
		"OTEL_SPAN_EVENT_COUNT_LIMIT":            {good: "32", bad: "0"},
		"OTEL_SPAN_LINK_COUNT_LIMIT":             {good: "16", bad: "1.5"},
		"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT":       {good: "8", bad: "-8"},
		"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT":        {good: "8", bad: "x"},
		"OTEL_TRACES_SAMPLER":                    {good: "always_off", bad: "jaeger_remote"},
		"OTEL_TRACES_SAMPLER_ARG":                {good: "0.25", bad: "half", companion: map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio"}},
		"OTEL_RESOURCE_ATTRIBUTES":               {good: "team=pay%2Cments", bad: "a=%zz"},
		"VIGIL_METRICS_SERIES_LIMIT":             {good: "7", bad: "0"},
		"VIGIL_METRICS_GO":                       {good: "false", bad: "off"},
		"VIGIL_METRICS_PROCESS":                  {good: "false", bad: "off"},
		"VIGIL_METRICS_HOST":                     {good: "false", bad: "off"},
		"VIGIL_STATSD_ADDR":                      {good: "127.0.0.1:9", bad: "nohost"},
		"VIGIL_STATSD_FORMAT":                    {good: "influx", bad: "carbon"},
		"VIGIL_STATSD_PREFIX":                    {good: "app"},
		"VIGIL_STATSD_FLUSH_INTERVAL":            {good: "250ms", bad: "1ms"}, // the range is the part's
		"VIGIL_STATSD_MAX_PACKET_SIZE":           {good: "9000", bad: "10"},
		"VIGIL_STATSD_DISTRIBUTIONS":             {good: "true", bad: "often"},
		"VIGIL_STATSD_ONE_VALUE_PER_LINE":        {good: "true", bad: "often"},
		"DD_DOGSTATSD_URL":                       {good: "unixgram:///nonexistent/dsd.socket", bad: "tcp://agent:8125"},
		"DD_AGENT_HOST":                          {good: "127.0.0.1", bad: "agent:99999"},
		"DD_DOGSTATSD_PORT":                      {good: "9", bad: "99999", companion: map[string]string{"DD_AGENT_HOST": "127.0.0.1"}},
		"DD_SERVICE":                             {good: "checkout"},
		"DD_ENV":                                 {good: "prod"},
		"DD_VERSION":                             {good: "1.2.3"},
		"VIGIL_PUSHGATEWAY_URL":                  {good: "http://127.0.0.1:9", bad: "ftp://pg"},
		"VIGIL_PUSHGATEWAY_JOB":                  {good: "nightly"},
		"VIGIL_PUSHGATEWAY_INTERVAL":             {good: "1m", bad: "-1s"},
		"VIGIL_GRAPHITE_ADDR":                    {good: "127.0.0.1:2003", bad: "x:99999"},
		"VIGIL_GRAPHITE_PREFIX":                  {good: "app"},
		"VIGIL_GRAPHITE_INTERVAL":                {good: "1m", bad: "never"},
		"VIGIL_HTTP_SKIP":                        {good: "/ping,/health", bad: "/ok,nopath"},
		"VIGIL_HTTP_METRICS_ONLY":                {good: "true", bad: "sometimes"},
		"VIGIL_HTTP_ACCESS_LOG":                  {good: "false", bad: "sometimes"},
		"VIGIL_HTTP_REQUEST_ID_HEADER":           {good: "X-Trace", bad: "bad header"},
		"VIGIL_GRPC_SKIP":                        {good: "none", bad: "has space"}, // the rule is the middleware's
		"VIGIL_GRPC_ACCESS_LOG":                  {good: "false", bad: "sometimes"},
		"VIGIL_GRPC_SPANS":                       {good: "false", bad: "sometimes"},
		"VIGIL_GRPC_INTERCEPTORS_ONLY":           {good: "true", bad: "sometimes"},
		"VIGIL_DB_SLOW_QUERY":                    {good: "0", bad: "slowly"},
		"VIGIL_DB_COMMENT":                       {good: "true", bad: "sometimes"},
		"VIGIL_CONSOLE":                          {good: "true", bad: "sometimes"},
		"VIGIL_CONSOLE_TOKEN":                    {good: "s3cret-console-token"},

		// OpenTelemetry metrics and logs (otel_signals.go).
		"OTEL_METRICS_EXPORTER":               {good: "none", bad: "zipkin"},
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": {good: "http://127.0.0.1:1/m", bad: "ftp://x"},
		"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": {good: "grpc", bad: "thrift"},
		"OTEL_EXPORTER_OTLP_METRICS_HEADERS":  {good: "a=1", bad: "novalue"},
		"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT":  {good: "250", bad: "10s"},
		"OTEL_METRIC_EXPORT_INTERVAL":         {good: "5000", bad: "soon"},
		"OTEL_LOGS_EXPORTER":                  {good: "none", bad: "prometheus"},
		"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT":    {good: "http://127.0.0.1:1/l", bad: "ftp://x"},
		"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL":    {good: "http/json", bad: "thrift"},
		"OTEL_EXPORTER_OTLP_LOGS_HEADERS":     {good: "a=1", bad: "a=%zz"},
		"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT":     {good: "250", bad: "-1"},
		"OTEL_BLRP_MAX_QUEUE_SIZE":            {good: "10", bad: "-1"},

		// Health checks (health.go).
		"VIGIL_HEALTH":          {good: "true", bad: "sometimes"},
		"VIGIL_HEALTH_TIMEOUT":  {good: "500ms", bad: "0s"},
		"VIGIL_HEALTH_INTERVAL": {good: "5s", bad: "-1s"},
	}
	// TLS files (read by the tracing part only when an OTLP exporter is on: the errors
	// naming these variables are in interop_test.go), Kubernetes, propagators.
	for _, c := range []struct{ name, good, bad string }{
		{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/collector/ca.pem", ""},
		{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/collector/ca.pem", ""},
		{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/etc/collector/client.pem", ""},
		{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/collector/client.pem", ""},
		{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/etc/collector/client-key.pem", ""},
		{"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/collector/client-key.pem", ""},
		{"K8S_POD_NAME", "checkout-5d9f", ""},
		{"K8S_POD_UID", "0b8a5a2a-1ef1-4d8a", ""},
		{"K8S_NAMESPACE_NAME", "shop", ""},
		{"K8S_NODE_NAME", "node-3", ""},
		{"OTEL_PROPAGATORS", "b3,tracecontext", "w3c"},
	} {
		tc := cases[c.name]
		tc.good, tc.bad = c.good, c.bad
		cases[c.name] = tc
	}
	for i := range settings {
		s := &settings[i]
		tc, ok := cases[s.Var]
		if !ok {
			t.Errorf("%s has no case", s.Var)
			continue
		}
		t.Run(s.Var, func(t *testing.T) {
			var zero Config
			before := fieldSnapshot(&zero, s.Field)
			env := map[string]string{s.Var: tc.good}
			maps.Copy(env, tc.companion)
			c := Config{}
			res := apply(&c, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
			if len(res.problems) > 0 {
				t.Fatalf("%s=%q: %v", s.Var, tc.good, res.problems)
			}
			if fieldSnapshot(&c, s.Field) == before {
				t.Errorf("%s=%q left %s unset", s.Var, tc.good, s.Field)
			}
			// The valid value passes the parts too (nothing is dialled: exporters and
			// senders connect lazily, and New is shut down at once).
			if _, err := newWithEnv(t, quietConfig(&logtest.Buffer{}), env); err != nil {
				t.Errorf("%s=%q: New: %v", s.Var, tc.good, err)
			}

			if tc.bad == "" {
				return
			}
			env[s.Var] = tc.bad
			_, err := newWithEnv(t, quietConfig(&logtest.Buffer{}), env)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%s=%q: err = %v, want a *ConfigError", s.Var, tc.bad, err)
			}
			if !slices.ContainsFunc(ce.Problems, func(p Problem) bool { return p.Name == s.Var }) {
				t.Errorf("%s=%q: no problem names the variable:\n%v", s.Var, tc.bad, err)
			}
		})
	}
}

// TestSecretsNeverPrinted plants a secret in every value that may carry one, through the
// variable and through the field, and checks that neither the error nor the log shows it.
func TestSecretsNeverPrinted(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		cfg  func(*Config)
		want string // the problem's name
	}{
		{name: "DSN empty host", env: map[string]string{"SENTRY_DSN": "https://pub:" + planted + "@/1"}, want: "SENTRY_DSN"},
		{name: "DSN key alone", env: map[string]string{"SENTRY_DSN": "https://" + planted + "@/1"}, want: "SENTRY_DSN"},
		{name: "DSN scheme", env: map[string]string{"SENTRY_DSN": "ftp://" + planted + "@sentry.example/1"}, want: "SENTRY_DSN"},
		{name: "DSN not a URL", env: map[string]string{"SENTRY_DSN": planted}, want: "SENTRY_DSN"},
		{name: "DSN unparseable", env: map[string]string{"SENTRY_DSN": "http://pub:" + planted + "@[::1"}, want: "SENTRY_DSN"},
		{name: "DSN field", cfg: func(c *Config) { c.Errors.DSN = "https://" + planted + "@/1" }, want: "Errors.DSN"},
		{name: "headers without =", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=1,Bearer " + planted}, want: "OTEL_EXPORTER_OTLP_HEADERS"},
		{name: "header value escape", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "authorization=" + planted + "%zz"}, want: "OTEL_EXPORTER_OTLP_TRACES_HEADERS"},
		{name: "header field", cfg: func(c *Config) { c.Tracing.Headers = map[string]string{"authorization": planted + "\n"} }, want: `Tracing.Headers["authorization"]`},
		{name: "endpoint scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://u:" + planted + "@collector:4318"}, want: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{name: "endpoint unparseable", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://u:" + planted + "@[::1"}, want: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{name: "endpoint field", cfg: func(c *Config) { c.Tracing.Endpoint = "ftp://u:" + planted + "@collector" }, want: "Tracing.Endpoint"},
		{name: "pushgateway scheme", env: map[string]string{"VIGIL_PUSHGATEWAY_URL": "ftp://ops:" + planted + "@pg:9091"}, want: "VIGIL_PUSHGATEWAY_URL"},
		{name: "pushgateway no host", env: map[string]string{"VIGIL_PUSHGATEWAY_URL": "http://ops:" + planted + "@"}, want: "VIGIL_PUSHGATEWAY_URL"},
		{name: "pushgateway field", cfg: func(c *Config) { c.Metrics.Push.URL = "ftp://ops:" + planted + "@pg" }, want: "Metrics.Push.URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log logtest.Buffer
			cfg := quietConfig(&log)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			_, err := newWithEnv(t, cfg, tt.env)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if strings.Contains(err.Error(), planted) || strings.Contains(log.String(), planted) {
				t.Errorf("the secret shows:\n%s\nlog: %s", hide(err.Error()), hide(log.String()))
			}
			if tt.want != "" && !slices.ContainsFunc(ce.Problems, func(p Problem) bool { return p.Name == tt.want }) {
				t.Errorf("no problem names %s:\n%s", tt.want, hide(err.Error()))
			}
		})
	}
}

// TestConfigErrorListsEveryProblem: one error, one line per problem, all at once,
// reachable with errors.As through Init.
func TestConfigErrorListsEveryProblem(t *testing.T) {
	cfg := quietConfig(&logtest.Buffer{})
	cfg.Logging.Format = "yaml"
	cfg.Metrics.StatsD.MaxPacketSize = 1
	cfg.ShutdownTimeout = -time.Second
	cfg.RedactKeys = []string{"ok", " "}
	_, err := newWithEnv(t, cfg, map[string]string{
		"VIGIL_LOG_LEVEL": "chatty", "VIGIL_STATSD_FORMAT": "carbon", "OTEL_TRACES_SAMPLER": "sometimes",
		"VIGIL_SENTRY_QUEUE_SIZE": "x\ny", // a newline in a value cannot forge a line
	})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	want := []string{"Logging.Format", "Metrics.StatsD.MaxPacketSize", "ShutdownTimeout", "RedactKeys[1]",
		"VIGIL_LOG_LEVEL", "VIGIL_STATSD_FORMAT", "OTEL_TRACES_SAMPLER", "VIGIL_SENTRY_QUEUE_SIZE"}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.Name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(want)+1 {
		t.Errorf("%d lines, want a heading and one per problem:\n%s", len(lines), err)
	}
	// Init wraps it the same way and leaves no default behind.
	_, ierr := Init(context.Background(), cfg)
	if !errors.As(ierr, &ce) {
		t.Errorf("Init: %v is not a *ConfigError", ierr)
	}
}

// TestPrecedence: fields over variables, specific variables over generic ones, lists
// added up from every source.
func TestPrecedence(t *testing.T) {
	t.Run("field wins over variable", func(t *testing.T) {
		env := map[string]string{"OTEL_SERVICE_NAME": "env", "VIGIL_LOG_LEVEL": "debug", "VIGIL_STATSD_FORMAT": "influx",
			"OTEL_BSP_MAX_QUEUE_SIZE": "10", "VIGIL_HTTP_SKIP": "/env"}
		c := Config{Service: "field", Logging: logging.Config{Level: slog.LevelWarn}, HTTP: HTTPConfig{Skip: []string{}}}
		c.Metrics.StatsD.Format = "plain"
		c.Tracing.MaxQueueSize = 7
		apply(&c, mapEnv(env), nil)
		if c.Service != "field" || c.Logging.Level != slog.LevelWarn || c.Metrics.StatsD.Format != "plain" ||
			c.Tracing.MaxQueueSize != 7 || len(c.HTTP.Skip) != 0 {
			t.Errorf("a variable beat a field: %+v", c)
		}
	})
	t.Run("traces variables win over generic ones", func(t *testing.T) {
		c := Config{}
		apply(&c, mapEnv(map[string]string{
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TIMEOUT": "5000", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "250",
			"OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "false",
			"OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=2,api-key=x%20y", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=3",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom",
		}), nil)
		tr := c.Tracing
		if tr.Protocol != "grpc" || tr.ExportTimeout != 250*time.Millisecond || tr.Insecure ||
			tr.Endpoint != "http://b:4318/custom" || tr.BaseEndpoint != "http://a:4318" {
			t.Errorf("tracing = %+v", tr)
		}
		if want := map[string]string{"a": "1", "b": "3", "api-key": "x y"}; !maps.Equal(tr.Headers, want) {
			t.Errorf("headers %v, want %v", tr.Headers, want)
		}
	})
	t.Run("header field keys win, the field's map is not modified", func(t *testing.T) {
		h := map[string]string{"a": "9"}
		c := Config{}
		c.Tracing.Headers = h
		apply(&c, mapEnv(map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=2"}), nil)
		if !maps.Equal(c.Tracing.Headers, map[string]string{"a": "9", "b": "2"}) || len(h) != 1 {
			t.Errorf("headers %v (field map now %v)", c.Tracing.Headers, h)
		}
	})
	t.Run("OTEL_SDK_DISABLED reads no other tracing variable", func(t *testing.T) {
		c := Config{}
		res := apply(&c, mapEnv(map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_SAMPLER": "bogus",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x", "OTEL_RESOURCE_ATTRIBUTES": "a=%zz"}), nil)
		if len(res.problems) != 0 || !c.Tracing.Disabled || c.Tracing.BaseEndpoint != "" {
			t.Errorf("problems %v, tracing %+v", res.problems, c.Tracing)
		}
	})
	t.Run("service name: variable, then resource attribute, then the executable", func(t *testing.T) {
		for _, tc := range []struct {
			env  map[string]string
			want string
		}{
			{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team=a,service.name=from%20attrs"}, "from attrs"},
			{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=attrs", "OTEL_SERVICE_NAME": "name"}, "name"},
			{nil, "observe.test"},
		} {
			o, err := newWithEnv(t, quietConfig(&logtest.Buffer{}), tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if o.cfg.Service != tc.want || o.cfg.Tracing.Service != tc.want {
				t.Errorf("%v: service %q, want %q", tc.env, o.cfg.Service, tc.want)
			}
		}
	})
	t.Run("Sentry environment and release", func(t *testing.T) {
		env := map[string]string{"SENTRY_ENVIRONMENT": "sentry-env", "SENTRY_RELEASE": "r9"}
		o, err := newWithEnv(t, quietConfig(&logtest.Buffer{}), env)
		if err != nil {
			t.Fatal(err)
		}
		if o.cfg.Errors.Environment != "sentry-env" || o.cfg.Errors.Release != "r9" {
			t.Errorf("errors %q %q", o.cfg.Errors.Environment, o.cfg.Errors.Release)
		}
		cfg := quietConfig(&logtest.Buffer{})
		cfg.Environment, cfg.Version = "prod", "1.0"
		if o, err = newWithEnv(t, cfg, env); err != nil {
			t.Fatal(err)
		}
		if o.cfg.Errors.Environment != "prod" || o.cfg.Errors.Release != "1.0" {
			t.Errorf("Config fields lost to SENTRY_*: %q %q", o.cfg.Errors.Environment, o.cfg.Errors.Release)
		}
	})
	t.Run("secret names add up from every source and reach every part", func(t *testing.T) {
		cfg := quietConfig(&logtest.Buffer{})
		cfg.RedactKeys = []string{"a"}
		cfg.Logging.RedactKeys = []string{"b"}
		cfg.Errors.RedactKeys = []string{"c"}
		cfg.Tracing.RedactKeys = []string{"d"}
		cfg.Metrics.RedactKeys = []string{"e"}
		cfg.Metrics.AllowKeys = []string{"max_tokens"}
		o, err := newWithEnv(t, cfg, map[string]string{"VIGIL_REDACT_KEYS": "f", "VIGIL_LOG_REDACT": "g", "VIGIL_REDACT_ALLOW": "token_type"})
		if err != nil {
			t.Fatal(err)
		}
		want, wantAllow := []string{"a", "f", "g", "b", "c", "d", "e"}, []string{"token_type", "max_tokens"}
		for part, got := range map[string][2][]string{
			"observe": {o.cfg.RedactKeys, o.cfg.AllowKeys},
			"logging": {o.cfg.Logging.RedactKeys, o.cfg.Logging.AllowKeys},
			"errors":  {o.cfg.Errors.RedactKeys, o.cfg.Errors.AllowKeys},
			"tracing": {o.cfg.Tracing.RedactKeys, o.cfg.Tracing.AllowKeys},
			"metrics": {o.cfg.Metrics.RedactKeys, o.cfg.Metrics.AllowKeys},
		} {
			if !slices.Equal(got[0], want) || !slices.Equal(got[1], wantAllow) {
				t.Errorf("%s: redact %q allow %q, want %q %q", part, got[0], got[1], want, wantAllow)
			}
		}
		if !slices.Equal(o.redactKeys(), want) || !slices.Equal(o.allowKeys(), wantAllow) {
			t.Errorf("middleware lists %q %q", o.redactKeys(), o.allowKeys())
		}
	})
	t.Run("shutdown timeout", func(t *testing.T) {
		o, err := newWithEnv(t, quietConfig(&logtest.Buffer{}), nil)
		if err != nil || o.cfg.ShutdownTimeout != DefaultShutdownTimeout {
			t.Fatalf("default %v, %v", o.cfg.ShutdownTimeout, err)
		}
		o, err = newWithEnv(t, quietConfig(&logtest.Buffer{}), map[string]string{"VIGIL_SHUTDOWN_TIMEOUT": "250ms"})
		if err != nil || o.cfg.ShutdownTimeout != 250*time.Millisecond {
			t.Fatalf("from the variable %v, %v", o.cfg.ShutdownTimeout, err)
		}
	})
}

// TestBreadcrumbsFollowTheLogLevel: at level info, a debug record inside a request is
// not a breadcrumb of the request's event; an info record is.
func TestBreadcrumbsFollowTheLogLevel(t *testing.T) {
	srv := sentrytest.NewServer(t)
	cfg := quietConfig(&logtest.Buffer{})
	cfg.Errors.DSN = srv.DSN()
	o, err := newWithEnv(t, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := o.Middleware(httpHandlerFunc(func(ctx context.Context) {
		o.Logger().DebugContext(ctx, "debug crumb")
		o.Logger().InfoContext(ctx, "info crumb")
		o.Capture(ctx, errors.New("boom"))
	}))
	serve(h)
	ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]
	var msgs []string
	for _, b := range ev.Breadcrumbs {
		msgs = append(msgs, b.Message)
	}
	if slices.Contains(msgs, "debug crumb") || !slices.Contains(msgs, "info crumb") {
		t.Errorf("breadcrumbs %q: want the info record only", msgs)
	}
}

// TestFallbackReadsNoBackendSetting runs the package functions before Init in a fresh
// process whose environment holds invalid and valid backend settings: they must work,
// start nothing and leave no goroutine behind.
func TestFallbackReadsNoBackendSetting(t *testing.T) {
	if os.Getenv("OBSERVE_FALLBACK_CHILD") == "1" {
		fallbackChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFallbackReadsNoBackendSetting$", "-test.v")
	// The child's TestMain clears VIGIL_*, OTEL_* and SENTRY_*, so the hostile
	// environment travels under another name and the child sets it before any call.
	cmd.Env = append(os.Environ(), "OBSERVE_FALLBACK_CHILD=1", "OBSERVE_FALLBACK_ENV="+strings.Join([]string{
		"VIGIL_SENTRY_QUEUE_SIZE=bogus", "VIGIL_STATSD_ADDR=127.0.0.1:9", "VIGIL_HTTP_SKIP=bogus",
		"VIGIL_STATSD_FORMAT=carbon", "SENTRY_DSN=https://public@127.0.0.1:9/1",
		"VIGIL_PUSHGATEWAY_URL=http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9",
		"OTEL_TRACES_EXPORTER=otlp", "VIGIL_LOG_LEVEL=chatty", "VIGIL_REDACT_KEYS=tenant_pin",
	}, "\x1f"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `"msg":"before init"`) || !strings.Contains(out.String(), `"tenant_pin":"[REDACTED]"`) {
		t.Errorf("the fallback did not log JSON with the configured secret names redacted:\n%s", out.String())
	}
}

func fallbackChild(t *testing.T) {
	for _, kv := range strings.Split(os.Getenv("OBSERVE_FALLBACK_ENV"), "\x1f") {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	ignore := goleak.IgnoreCurrent()
	if current.Load() != nil {
		t.Fatal("Init already ran")
	}
	ctx := context.Background()
	Logger().Info("before init", "tenant_pin", "1234")
	Capture(ctx, errors.New("before init"))
	Counter("early_total", "Early.").Inc()
	serve(Middleware(httpHandlerFunc(func(context.Context) {})))
	d := Default()
	if d.Reporter().Stats().Captured != 1 {
		t.Errorf("capture not counted")
	}
	if d.cfg.Metrics.StatsD.Addr != "" || d.cfg.Errors.DSN != "" || d.cfg.Metrics.Push.URL != "" || !d.cfg.Tracing.Disabled {
		t.Errorf("the fallback took a backend setting: %+v", d.cfg)
	}
	goleak.VerifyNone(t, ignore)
}

func mapEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func httpHandlerFunc(f func(context.Context)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(r.Context()) })
}

func serve(h http.Handler) {
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/orders/1", nil))
}
