package observe

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/tracing"
)

// setting is one configuration value the environment may supply. The table below is the
// only place vigil reads the environment; the parts take plain Config values, and where
// a part owns the syntax of a value (log levels, exporter lists, samplers, OTLP headers,
// StatsD formats) Parse calls that part's parser.
type setting struct {
	Var     string // the environment variable
	Field   string // the Config field it fills, as users write it ("Metrics.StatsD.Addr")
	Default string // what applies when neither field nor variable is set, as documented
	Doc     string // one line, for the README
	Secret  bool   // the value is never printed; see mask
	// Parse sets Field from the variable's value v (trimmed, never empty) unless the
	// field is already set: fields win over variables. It checks syntax and range; its
	// error is the reason only and never quotes v.
	Parse func(c *Config, v string) error
	// mask shows a Secret value in an error; nil means not at all.
	mask func(string) string
	// merge: every variable for Field adds to it (secret names, headers key by key).
	// Otherwise the first variable that applies to a field (the specific one, listed
	// first) is the only one read.
	merge bool
}

// show returns v as an error may print it.
func (s *setting) show(v string) string {
	switch {
	case !s.Secret:
		return v
	case s.mask != nil:
		return s.mask(v)
	}
	return scrub.Redacted
}

// settings is the table. Within a part, order matters only where one variable decides
// whether others apply (OTEL_SDK_DISABLED first) or several fill one field (the
// specific variable before the generic one).
var settings = []setting{
	// General.
	{Var: "OTEL_SERVICE_NAME", Field: "Service", Default: "the executable's name",
		Doc:   "service name, in every log line, event, span and the Pushgateway job",
		Parse: str(func(c *Config) *string { return &c.Service }, nil)},
	{Var: EnvEnvironment, Field: "Environment", Default: "none",
		Doc:   "deployment environment",
		Parse: str(func(c *Config) *string { return &c.Environment }, nil)},
	{Var: "VIGIL_REDACT_KEYS", Field: "RedactKeys", Default: "none",
		Doc:   "extra comma-separated secret names, added to `RedactKeys` and every part's own; redacted in logs, events, spans and labels alike",
		Parse: list(func(c *Config) *[]string { return &c.RedactKeys }), merge: true},
	{Var: "VIGIL_LOG_REDACT", Field: "RedactKeys", Default: "none", merge: true,
		Doc:   "the former name of `VIGIL_REDACT_KEYS`, still honoured (both add)",
		Parse: list(func(c *Config) *[]string { return &c.RedactKeys })},
	{Var: "VIGIL_REDACT_ALLOW", Field: "AllowKeys", Default: "none",
		Doc:   "comma-separated names that only look secret and are kept (`max_tokens`)",
		Parse: list(func(c *Config) *[]string { return &c.AllowKeys }), merge: true},
	{Var: "VIGIL_SHUTDOWN_TIMEOUT", Field: "ShutdownTimeout", Default: "`10s`",
		Doc:   "bound on `Shutdown` when its context has no deadline",
		Parse: duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout }, false)},

	// Logging.
	{Var: "VIGIL_LOG_LEVEL", Field: "Logging.Level", Default: "`info`",
		Doc: "minimum level: `debug`, `info`, `warn`, `error`, optionally `+N`/`-N`; debug records below it are not breadcrumbs either",
		Parse: func(c *Config, v string) error {
			if c.Logging.Level != nil {
				return nil
			}
			l, err := logging.ParseLevel(v)
			if err == nil {
				c.Logging.Level = l
			}
			return err
		}},
	{Var: "VIGIL_LOG_FORMAT", Field: "Logging.Format", Default: "`json`",
		Doc:   "`json` or `text`",
		Parse: str(func(c *Config) *string { return &c.Logging.Format }, logging.ParseFormat)},
	{Var: "VIGIL_LOG_SOURCE", Field: "Logging.AddSource", Default: "`false`",
		Doc:   "`true` adds the source file and line",
		Parse: boolean(func(c *Config) *bool { return &c.Logging.AddSource }, false)},
	{Var: "VIGIL_LOG_FIELDS", Field: "Logging.Fields", Default: "`vigil`",
		Doc:   "names of the fields vigil writes, for the log store: `vigil`, `otel`, `ecs`, `gcp` (or `gcp:PROJECT_ID`) or `datadog`",
		Parse: str(func(c *Config) *string { return &c.Logging.Fields }, logging.ParseFields)},

	// Errors (Sentry).
	{Var: "SENTRY_DSN", Field: "Errors.DSN", Default: "none", Secret: true, mask: verrors.MaskDSN,
		Doc: "Sentry project DSN; without one, captures are only logged",
		Parse: str(func(c *Config) *string { return &c.Errors.DSN },
			func(v string) (string, error) { return v, verrors.CheckDSN(v) })},
	{Var: "SENTRY_ENVIRONMENT", Field: "Errors.Environment", Default: "`Config.Environment`",
		Doc: "environment of every event, when neither `Errors.Environment` nor `Environment` is set",
		Parse: func(c *Config, v string) error {
			if c.Errors.Environment == "" && c.Environment == "" {
				c.Errors.Environment = v
			}
			return nil
		}},
	{Var: "SENTRY_RELEASE", Field: "Errors.Release", Default: "`Config.Version`",
		Doc: "release of every event, when neither `Errors.Release` nor `Version` is set",
		Parse: func(c *Config, v string) error {
			if c.Errors.Release == "" && c.Version == "" {
				c.Errors.Release = v
			}
			return nil
		}},
	{Var: "VIGIL_SENTRY_SAMPLE_RATE", Field: "Errors.SampleRate", Default: "`1`",
		Doc: "fraction of events sent, in (0, 1]",
		Parse: float(func(c *Config) *float64 { return &c.Errors.SampleRate }, "want a number in (0, 1]",
			func(f float64) bool { return f > 0 && f <= 1 }, false)},
	{Var: "VIGIL_SENTRY_DEBUG", Field: "Errors.Debug", Default: "`false`",
		Doc:   "`true` logs sentry-go's diagnostics at debug level",
		Parse: boolean(func(c *Config) *bool { return &c.Errors.Debug }, false)},
	{Var: "VIGIL_SENTRY_DEDUP_WINDOW", Field: "Errors.DedupWindow", Default: "`30s`",
		Doc:   "identical errors inside it are sent once; `0` disables",
		Parse: duration(func(c *Config) *time.Duration { return &c.Errors.DedupWindow }, true)},
	{Var: "VIGIL_SENTRY_MAX_EVENTS_PER_SECOND", Field: "Errors.MaxEventsPerSecond", Default: "`20`",
		Doc: "cap on events sent per second; `0` disables",
		Parse: float(func(c *Config) *float64 { return &c.Errors.MaxEventsPerSecond },
			"want a number of events per second (0 disables)", func(f float64) bool { return f >= 0 }, true)},
	{Var: "VIGIL_SENTRY_SEND_DEFAULT_PII", Field: "Errors.SendDefaultPII", Default: "`false`",
		Doc:   "`true` sends the client IP and IP headers",
		Parse: boolean(func(c *Config) *bool { return &c.Errors.SendDefaultPII }, false)},
	{Var: "VIGIL_SENTRY_QUEUE_SIZE", Field: "Errors.QueueSize", Default: "`100`",
		Doc:   "events waiting to be sent before new ones are dropped",
		Parse: integer(func(c *Config) *int { return &c.Errors.QueueSize })},
	{Var: "VIGIL_SENTRY_TIMEOUT", Field: "Errors.Timeout", Default: "`5s`",
		Doc:   "timeout of one request to Sentry",
		Parse: duration(func(c *Config) *time.Duration { return &c.Errors.Timeout }, false)},
	{Var: "SENTRY_SPOTLIGHT", Field: "Errors.Spotlight", Default: "`false`",
		Doc:   "`true` (http://localhost:8969/stream) or a URL: a copy of every event goes to a Spotlight sidecar; no DSN needed",
		Parse: str(func(c *Config) *string { return &c.Errors.Spotlight }, verrors.ParseSpotlight)},

	// Tracing (OpenTelemetry). OTEL_SDK_DISABLED=true makes every other Tracing setting
	// unread (see apply).
	{Var: "OTEL_SDK_DISABLED", Field: "Tracing.Disabled", Default: "`false`",
		Doc:   "`true`: record and export nothing and read no other tracing variable; spans still get ids",
		Parse: boolean(func(c *Config) *bool { return &c.Tracing.Disabled }, false)},
	{Var: "OTEL_TRACES_EXPORTER", Field: "Tracing.Exporter", Default: "`otlp` if an endpoint is set, else `none`",
		Doc: "`otlp`, `console` (or `stdout`), `none`, or a comma list",
		Parse: str(func(c *Config) *string { return &c.Tracing.Exporter }, func(v string) (string, error) {
			_, err := tracing.ParseExporters(v)
			return v, err
		})},
	{Var: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Field: "Tracing.Endpoint", Default: "none",
		Secret: true, mask: scrub.RawURL,
		Doc:   "traces URL, used as is (an empty path means `/v1/traces`), or host:port",
		Parse: str(func(c *Config) *string { return &c.Tracing.Endpoint }, endpoint)},
	{Var: "OTEL_EXPORTER_OTLP_ENDPOINT", Field: "Tracing.BaseEndpoint", Default: "`http://localhost:4318` (`:4317` for gRPC)",
		Secret: true, mask: scrub.RawURL,
		Doc:   "base URL; `/v1/traces` is appended for HTTP",
		Parse: str(func(c *Config) *string { return &c.Tracing.BaseEndpoint }, endpoint)},
	{Var: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", Field: "Tracing.Protocol", Default: "`http/protobuf`",
		Doc:   "`grpc`, `http/protobuf` or `http/json`",
		Parse: str(func(c *Config) *string { return &c.Tracing.Protocol }, tracing.ParseProtocol)},
	{Var: "OTEL_EXPORTER_OTLP_PROTOCOL", Field: "Tracing.Protocol", Default: "`http/protobuf`",
		Doc:   "as above, for every signal; the traces variable wins",
		Parse: str(func(c *Config) *string { return &c.Tracing.Protocol }, tracing.ParseProtocol)},
	{Var: "OTEL_EXPORTER_OTLP_TRACES_HEADERS", Field: "Tracing.Headers", Default: "none",
		Secret: true, mask: maskHeaders, merge: true,
		Doc:   "`key=value,...`, percent-decoded, sent with every export; `Tracing.Headers` adds and overrides keys",
		Parse: headers},
	{Var: "OTEL_EXPORTER_OTLP_HEADERS", Field: "Tracing.Headers", Default: "none",
		Secret: true, mask: maskHeaders, merge: true,
		Doc:   "as above, for every signal; the traces variable wins key by key",
		Parse: headers},
	{Var: "OTEL_EXPORTER_OTLP_TRACES_INSECURE", Field: "Tracing.Insecure", Default: "`false`",
		Doc:   "`true` sends to a host:port endpoint without TLS; a URL's scheme decides by itself",
		Parse: insecure},
	{Var: "OTEL_EXPORTER_OTLP_INSECURE", Field: "Tracing.Insecure", Default: "`false`",
		Doc:   "as above, for every signal; the traces variable wins",
		Parse: insecure},
	{Var: "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", Field: "Tracing.Certificate", Default: "the system's CAs",
		Doc:   "PEM file of the CA certificates that verify the collector",
		Parse: str(func(c *Config) *string { return &c.Tracing.Certificate }, nil)},
	{Var: "OTEL_EXPORTER_OTLP_CERTIFICATE", Field: "Tracing.Certificate", Default: "the system's CAs",
		Doc:   "as above, for every signal; the traces variable wins",
		Parse: str(func(c *Config) *string { return &c.Tracing.Certificate }, nil)},
	{Var: "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", Field: "Tracing.ClientCertificate", Default: "none",
		Doc:   "PEM file of the client certificate for mutual TLS, with the key below",
		Parse: str(func(c *Config) *string { return &c.Tracing.ClientCertificate }, nil)},
	{Var: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", Field: "Tracing.ClientCertificate", Default: "none",
		Doc:   "as above, for every signal; the traces variable wins",
		Parse: str(func(c *Config) *string { return &c.Tracing.ClientCertificate }, nil)},
	{Var: "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", Field: "Tracing.ClientKey", Default: "none",
		Doc:   "PEM file of the client certificate's private key",
		Parse: str(func(c *Config) *string { return &c.Tracing.ClientKey }, nil)},
	{Var: "OTEL_EXPORTER_OTLP_CLIENT_KEY", Field: "Tracing.ClientKey", Default: "none",
		Doc:   "as above, for every signal; the traces variable wins",
		Parse: str(func(c *Config) *string { return &c.Tracing.ClientKey }, nil)},
	{Var: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", Field: "Tracing.ExportTimeout", Default: "`10000`",
		Doc:   "milliseconds per export, retries included",
		Parse: millis(func(c *Config) *time.Duration { return &c.Tracing.ExportTimeout })},
	{Var: "OTEL_EXPORTER_OTLP_TIMEOUT", Field: "Tracing.ExportTimeout", Default: "`10000`",
		Doc:   "as above, for every signal; the traces variable wins",
		Parse: millis(func(c *Config) *time.Duration { return &c.Tracing.ExportTimeout })},
	{Var: "OTEL_BSP_MAX_QUEUE_SIZE", Field: "Tracing.MaxQueueSize", Default: "`2048`",
		Doc:   "ended spans waiting for export; more are dropped and counted",
		Parse: integer(func(c *Config) *int { return &c.Tracing.MaxQueueSize })},
	{Var: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", Field: "Tracing.MaxExportBatchSize", Default: "`512`",
		Doc:   "most spans in one export; a full batch is exported at once (at most the queue size)",
		Parse: integer(func(c *Config) *int { return &c.Tracing.MaxExportBatchSize })},
	{Var: "OTEL_BSP_SCHEDULE_DELAY", Field: "Tracing.BatchDelay", Default: "`5000`",
		Doc:   "milliseconds an ended span waits at most for its batch to fill",
		Parse: millis(func(c *Config) *time.Duration { return &c.Tracing.BatchDelay })},
	{Var: "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", Field: "Tracing.SpanLimits.AttributeValueLength", Default: "`16384`",
		Doc:   "characters kept of each span, event and link attribute value",
		Parse: integer(func(c *Config) *int { return &c.Tracing.SpanLimits.AttributeValueLength })},
	{Var: "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", Field: "Tracing.SpanLimits.Attributes", Default: "`128`",
		Doc:   "attributes kept per span",
		Parse: integer(func(c *Config) *int { return &c.Tracing.SpanLimits.Attributes })},
	{Var: "OTEL_SPAN_EVENT_COUNT_LIMIT", Field: "Tracing.SpanLimits.Events", Default: "`128`",
		Doc:   "events kept per span",
		Parse: integer(func(c *Config) *int { return &c.Tracing.SpanLimits.Events })},
	{Var: "OTEL_SPAN_LINK_COUNT_LIMIT", Field: "Tracing.SpanLimits.Links", Default: "`128`",
		Doc:   "links kept per span",
		Parse: integer(func(c *Config) *int { return &c.Tracing.SpanLimits.Links })},
	{Var: "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", Field: "Tracing.SpanLimits.AttributesPerEvent", Default: "`128`",
		Doc:   "attributes kept per span event",
		Parse: integer(func(c *Config) *int { return &c.Tracing.SpanLimits.AttributesPerEvent })},
	{Var: "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", Field: "Tracing.SpanLimits.AttributesPerLink", Default: "`128`",
		Doc:   "attributes kept per span link",
		Parse: integer(func(c *Config) *int { return &c.Tracing.SpanLimits.AttributesPerLink })},
	{Var: "OTEL_TRACES_SAMPLER", Field: "Tracing.Sampler", Default: "`parentbased_always_on`",
		Doc: "`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`; `Tracing.SampleRatio` wins",
		Parse: func(c *Config, v string) error {
			if c.Tracing.Sampler != "" || c.Tracing.SampleRatio != nil {
				return nil
			}
			if _, err := tracing.ParseSampler(v, ""); err != nil {
				return err
			}
			c.Tracing.Sampler = v
			return nil
		}},
	{Var: "OTEL_TRACES_SAMPLER_ARG", Field: "Tracing.SamplerArg", Default: "`1`",
		Doc: "ratio from 0 to 1 for the ratio samplers; the others ignore it",
		Parse: func(c *Config, v string) error {
			if c.Tracing.SamplerArg != "" || c.Tracing.SampleRatio != nil {
				return nil
			}
			// Checked against the sampler in force: only the ratio samplers read it.
			if _, err := tracing.ParseSampler(c.Tracing.Sampler, v); err != nil {
				return err
			}
			c.Tracing.SamplerArg = v
			return nil
		}},
	{Var: "OTEL_RESOURCE_ATTRIBUTES", Field: "Tracing.ResourceAttributes", Default: "none",
		Doc: "`key=value,...` resource attributes; `service.name`, `service.version`, `deployment.environment.name` lose to `OTEL_SERVICE_NAME` and the Config fields",
		Parse: func(c *Config, v string) error {
			attrs, err := tracing.ParseResourceAttributes(v)
			if err != nil {
				return err
			}
			// Key by key: the field's keys win.
			maps.Copy(attrs, c.Tracing.ResourceAttributes)
			c.Tracing.ResourceAttributes = attrs
			return nil
		}},
	// The Kubernetes downward API, under OTEL_RESOURCE_ATTRIBUTES (applied before them).
	k8sAttr("K8S_POD_NAME", "k8s.pod.name"),
	k8sAttr("K8S_POD_UID", "k8s.pod.uid"),
	k8sAttr("K8S_NAMESPACE_NAME", "k8s.namespace.name"),
	k8sAttr("K8S_NODE_NAME", "k8s.node.name"),
	{Var: "OTEL_PROPAGATORS", Field: "Tracing.Propagators", Default: "`tracecontext,baggage`",
		Doc: "trace context formats read and written by the middleware, the client transport, gRPC and the OTel global: `tracecontext`, `baggage`, `b3`, `b3multi`, `jaeger`, `xray`, `ottrace`, or `none`, as a comma list",
		Parse: str(func(c *Config) *string { return &c.Tracing.Propagators }, func(v string) (string, error) {
			_, err := tracing.ParsePropagators(v)
			return v, err
		})},

	// OpenTelemetry metrics and logs (otel_signals.go). The generic OTEL_EXPORTER_OTLP_*
	// variables above apply to them too, under these (see Config.resolveSignals).
	{Var: "OTEL_METRICS_EXPORTER", Field: "OTelMetrics.Exporter", Default: "`prometheus`",
		Doc:   "`prometheus` (`otel.Meter` instruments at `MetricsHandler`), `otlp`, `console` (push them and vigil's own metrics), `none`, or a comma list",
		Parse: str(func(c *Config) *string { return &c.OTelMetrics.Exporter }, metricsExporters)},
	{Var: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", Field: "OTelMetrics.Endpoint", Default: "`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`",
		Secret: true, mask: scrub.RawURL,
		Doc:   "metrics URL, used as is (an empty path means `/v1/metrics`), or host:port",
		Parse: str(func(c *Config) *string { return &c.OTelMetrics.Endpoint }, endpoint)},
	{Var: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", Field: "OTelMetrics.Protocol", Default: "`OTEL_EXPORTER_OTLP_PROTOCOL`",
		Doc:   "`grpc`, `http/protobuf` or `http/json` (sent as protobuf)",
		Parse: str(func(c *Config) *string { return &c.OTelMetrics.Protocol }, tracing.ParseProtocol)},
	{Var: "OTEL_EXPORTER_OTLP_METRICS_HEADERS", Field: "OTelMetrics.Headers", Default: "`OTEL_EXPORTER_OTLP_HEADERS`",
		Secret: true, mask: maskHeaders, merge: true,
		Doc:   "`key=value,...` sent with every metrics export; wins over the generic variable key by key",
		Parse: signalHeaders(func(c *Config) *map[string]string { return &c.OTelMetrics.Headers })},
	{Var: "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", Field: "OTelMetrics.ExportTimeout", Default: "`OTEL_EXPORTER_OTLP_TIMEOUT`",
		Doc:   "milliseconds per metrics export, retries included",
		Parse: millis(func(c *Config) *time.Duration { return &c.OTelMetrics.ExportTimeout })},
	{Var: "OTEL_METRIC_EXPORT_INTERVAL", Field: "OTelMetrics.Interval", Default: "`60000`",
		Doc:   "milliseconds between two pushes (`otlp`, `console`); one more at shutdown",
		Parse: millis(func(c *Config) *time.Duration { return &c.OTelMetrics.Interval })},
	{Var: "OTEL_LOGS_EXPORTER", Field: "OTelLogs.Exporter", Default: "`none`",
		Doc:   "`otlp`, `console`, `none`, or a comma list: every line of the application's logger also leaves as a log record, redacted as the stdout line",
		Parse: str(func(c *Config) *string { return &c.OTelLogs.Exporter }, logsExporters)},
	{Var: "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", Field: "OTelLogs.Endpoint", Default: "`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/logs`",
		Secret: true, mask: scrub.RawURL,
		Doc:   "logs URL, used as is (an empty path means `/v1/logs`), or host:port",
		Parse: str(func(c *Config) *string { return &c.OTelLogs.Endpoint }, endpoint)},
	{Var: "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", Field: "OTelLogs.Protocol", Default: "`OTEL_EXPORTER_OTLP_PROTOCOL`",
		Doc:   "`grpc`, `http/protobuf` or `http/json` (sent as protobuf)",
		Parse: str(func(c *Config) *string { return &c.OTelLogs.Protocol }, tracing.ParseProtocol)},
	{Var: "OTEL_EXPORTER_OTLP_LOGS_HEADERS", Field: "OTelLogs.Headers", Default: "`OTEL_EXPORTER_OTLP_HEADERS`",
		Secret: true, mask: maskHeaders, merge: true,
		Doc:   "`key=value,...` sent with every logs export; wins over the generic variable key by key",
		Parse: signalHeaders(func(c *Config) *map[string]string { return &c.OTelLogs.Headers })},
	{Var: "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", Field: "OTelLogs.ExportTimeout", Default: "`OTEL_EXPORTER_OTLP_TIMEOUT`",
		Doc:   "milliseconds per logs export, retries included",
		Parse: millis(func(c *Config) *time.Duration { return &c.OTelLogs.ExportTimeout })},
	{Var: "OTEL_BLRP_MAX_QUEUE_SIZE", Field: "OTelLogs.MaxQueueSize", Default: "`2048`",
		Doc:   "log records waiting for export; more are dropped and counted",
		Parse: integer(func(c *Config) *int { return &c.OTelLogs.MaxQueueSize })},

	// Metrics.
	{Var: "VIGIL_METRICS_SERIES_LIMIT", Field: "Metrics.SeriesLimit", Default: "`2000`",
		Doc:   "series per family before the `_overflow` series",
		Parse: integer(func(c *Config) *int { return &c.Metrics.SeriesLimit })},
	{Var: "VIGIL_METRICS_GO", Field: "Metrics.DisableGoCollector", Default: "`true`",
		Doc:   "`false` turns the Go runtime collector off",
		Parse: boolean(func(c *Config) *bool { return &c.Metrics.DisableGoCollector }, true)},
	{Var: "VIGIL_METRICS_PROCESS", Field: "Metrics.DisableProcessCollector", Default: "`true`",
		Doc:   "`false` turns the process collector off",
		Parse: boolean(func(c *Config) *bool { return &c.Metrics.DisableProcessCollector }, true)},
	{Var: "VIGIL_METRICS_HOST", Field: "Metrics.DisableHostCollector", Default: "`true`",
		Doc:   "`false` turns the Linux host collector off",
		Parse: boolean(func(c *Config) *bool { return &c.Metrics.DisableHostCollector }, true)},
	{Var: "VIGIL_STATSD_ADDR", Field: "Metrics.StatsD.Addr", Default: "off",
		Doc:   "StatsD `host:port` (UDP), or a Unix socket: `unixgram:///path`, `unixstream:///path`, `unix:///path`; StatsD is off without it",
		Parse: str(func(c *Config) *string { return &c.Metrics.StatsD.Addr }, metrics.ParseStatsDAddr)},
	// Datadog's variables, as its clients read them: below vigil's own.
	{Var: "DD_DOGSTATSD_URL", Field: "Metrics.StatsD.Addr", Default: "off",
		Doc:   "Datadog's StatsD address: `udp://host:port`, `unix:///path`, `unixgram:///path` or `unixstream:///path`; read without `VIGIL_STATSD_ADDR`",
		Parse: str(func(c *Config) *string { return &c.Metrics.StatsD.Addr }, metrics.ParseStatsDAddr)},
	{Var: "DD_AGENT_HOST", Field: "Metrics.StatsD.Addr", Default: "off",
		Doc: "Datadog Agent host, sent to on `DD_DOGSTATSD_PORT`; read without either variable above",
		Parse: func(c *Config, v string) error {
			if c.Metrics.StatsD.Addr != "" {
				return nil
			}
			addr, portUsed, err := metrics.AgentAddr(v, "")
			if err == nil {
				c.Metrics.StatsD.Addr = addr
				if portUsed {
					c.ddAgentHost = v
				}
			}
			return err
		}},
	{Var: "DD_DOGSTATSD_PORT", Field: "Metrics.StatsD.Addr", Default: "`8125`", merge: true,
		Doc: "port of `DD_AGENT_HOST` when it names no port",
		Parse: func(c *Config, v string) error {
			if _, _, err := metrics.AgentAddr("localhost", v); err != nil {
				return err
			}
			if c.ddAgentHost != "" {
				c.Metrics.StatsD.Addr, _, _ = metrics.AgentAddr(c.ddAgentHost, v)
			}
			return nil
		}},
	{Var: "VIGIL_STATSD_FORMAT", Field: "Metrics.StatsD.Format", Default: "`dogstatsd`",
		Doc:   "`dogstatsd`, `influx`, `graphite` or `plain`",
		Parse: str(func(c *Config) *string { return &c.Metrics.StatsD.Format }, metrics.ParseStatsDFormat)},
	{Var: "VIGIL_STATSD_PREFIX", Field: "Metrics.StatsD.Prefix", Default: "none",
		Doc:   "prefix of every StatsD name",
		Parse: str(func(c *Config) *string { return &c.Metrics.StatsD.Prefix }, nil)},
	{Var: "VIGIL_STATSD_FLUSH_INTERVAL", Field: "Metrics.StatsD.FlushInterval", Default: "`1s`",
		Doc:   "aggregation window, a Go duration, at least 10ms",
		Parse: duration(func(c *Config) *time.Duration { return &c.Metrics.StatsD.FlushInterval }, false)},
	{Var: "VIGIL_STATSD_MAX_PACKET_SIZE", Field: "Metrics.StatsD.MaxPacketSize", Default: "`1432` (UDP), `8192` (Unix socket)",
		Doc:   "bytes per packet, 64 to 65507",
		Parse: integer(func(c *Config) *int { return &c.Metrics.StatsD.MaxPacketSize })},
	{Var: "VIGIL_STATSD_DISTRIBUTIONS", Field: "Metrics.StatsD.Distributions", Default: "`false`",
		Doc:   "`true` sends DogStatsD histograms and timers as distributions (type `d`)",
		Parse: boolean(func(c *Config) *bool { return &c.Metrics.StatsD.Distributions }, false)},
	{Var: "VIGIL_STATSD_ONE_VALUE_PER_LINE", Field: "Metrics.StatsD.OneValuePerLine", Default: "`false`",
		Doc:   "`true` sends one sample per line, for servers that read DogStatsD tags but not protocol v1.1 (`name:1:2` values)",
		Parse: boolean(func(c *Config) *bool { return &c.Metrics.StatsD.OneValuePerLine }, false)},
	// The unified service tags of StatsD lines: a Config field, then vigil's or
	// OpenTelemetry's variable, then Datadog's.
	{Var: "DD_SERVICE", Field: "Metrics.Service", Default: "the service name",
		Doc: "`service` tag of StatsD lines (and the Pushgateway job) when neither `Service` nor `OTEL_SERVICE_NAME` (nor `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) names the service",
		Parse: func(c *Config, v string) error {
			if c.Metrics.Service == "" && c.Service == "" && c.Tracing.ResourceAttributes["service.name"] == "" {
				c.Metrics.Service = v
			}
			return nil
		}},
	{Var: "DD_ENV", Field: "Metrics.Environment", Default: "`Config.Environment`",
		Doc: "`env` tag of StatsD lines when neither `Environment` nor `VIGIL_ENVIRONMENT` is set",
		Parse: func(c *Config, v string) error {
			if c.Metrics.Environment == "" && c.Environment == "" {
				c.Metrics.Environment = v
			}
			return nil
		}},
	{Var: "DD_VERSION", Field: "Metrics.Version", Default: "`Config.Version`",
		Doc: "`version` tag of StatsD lines when `Version` is not set",
		Parse: func(c *Config, v string) error {
			if c.Metrics.Version == "" && c.Version == "" {
				c.Metrics.Version = v
			}
			return nil
		}},
	{Var: "VIGIL_PUSHGATEWAY_URL", Field: "Metrics.Push.URL", Default: "off",
		Secret: true, mask: scrub.RawURL,
		Doc:   "Pushgateway base URL (userinfo becomes basic auth); push is off without it",
		Parse: str(func(c *Config) *string { return &c.Metrics.Push.URL }, metrics.ParsePushURL)},
	{Var: "VIGIL_PUSHGATEWAY_JOB", Field: "Metrics.Push.Job", Default: "the service name",
		Doc:   "job name",
		Parse: str(func(c *Config) *string { return &c.Metrics.Push.Job }, nil)},
	{Var: "VIGIL_PUSHGATEWAY_INTERVAL", Field: "Metrics.Push.Interval", Default: "`15s`",
		Doc:   "time between pushes; one more at shutdown",
		Parse: duration(func(c *Config) *time.Duration { return &c.Metrics.Push.Interval }, false)},
	{Var: "VIGIL_GRAPHITE_ADDR", Field: "Metrics.Graphite.Addr", Default: "off",
		Doc:   "Graphite plaintext `host:port` (TCP); off without it",
		Parse: str(func(c *Config) *string { return &c.Metrics.Graphite.Addr }, metrics.ParseAddr)},
	{Var: "VIGIL_GRAPHITE_PREFIX", Field: "Metrics.Graphite.Prefix", Default: "none",
		Doc:   "prefix of every Graphite path",
		Parse: str(func(c *Config) *string { return &c.Metrics.Graphite.Prefix }, nil)},
	{Var: "VIGIL_GRAPHITE_INTERVAL", Field: "Metrics.Graphite.Interval", Default: "`15s`",
		Doc:   "time between Graphite pushes",
		Parse: duration(func(c *Config) *time.Duration { return &c.Metrics.Graphite.Interval }, false)},

	// HTTP and gRPC.
	{Var: EnvHTTPSkip, Field: "HTTP.Skip", Default: "`/healthz,/readyz,/livez,/metrics`",
		Doc: "comma-separated exact paths that get no access-log line and no span, still counted; `none` skips nothing",
		Parse: skip(func(c *Config) *[]string { return &c.HTTP.Skip }, func(p string) error {
			if !strings.HasPrefix(p, "/") {
				return fmt.Errorf("%q is not a path starting with /", p)
			}
			return nil
		})},
	{Var: EnvHTTPMetricsOnly, Field: "HTTP.MetricsOnly", Default: "`false`",
		Doc:   "`true` records only the metrics: no request id, span, access log or panic recovery",
		Parse: boolean(func(c *Config) *bool { return &c.HTTP.MetricsOnly }, false)},
	{Var: EnvHTTPAccessLog, Field: "HTTP.DisableAccessLog", Default: "`true`",
		Doc:   "`false` drops the per-request access-log line",
		Parse: boolean(func(c *Config) *bool { return &c.HTTP.DisableAccessLog }, true)},
	{Var: EnvHTTPRequestIDHeader, Field: "HTTP.RequestIDHeader", Default: "`X-Request-ID`",
		Doc: "header the request id is read from and echoed in",
		Parse: str(func(c *Config) *string { return &c.HTTP.RequestIDHeader }, func(v string) (string, error) {
			if !headerName(v) {
				return "", errors.New("not a header name")
			}
			return v, nil
		})},
	{Var: EnvGRPCSkip, Field: "GRPC.Skip", Default: "`grpc.health.v1.Health`",
		Doc:   "comma-separated services or full methods (`/pkg.Service/Method`) with no span and no access-log line, still counted; `none` skips nothing",
		Parse: skip(func(c *Config) *[]string { return &c.GRPC.Skip }, nil)},
	{Var: EnvGRPCAccessLog, Field: "GRPC.DisableAccessLog", Default: "`true`",
		Doc:   "`false` drops the per-call access-log line",
		Parse: boolean(func(c *Config) *bool { return &c.GRPC.DisableAccessLog }, true)},
	{Var: EnvGRPCSpans, Field: "GRPC.DisableSpans", Default: "`true`",
		Doc:   "`false` starts no gRPC spans and leaves trace propagation to other instrumentation (otelgrpc); metrics, access lines and recovery stay",
		Parse: boolean(func(c *Config) *bool { return &c.GRPC.DisableSpans }, true)},
	{Var: EnvGRPCInterceptorsOnly, Field: "GRPC.InterceptorsOnly", Default: "`false`",
		Doc:   "`true` gives servers vigil's interceptors without its stats handler: 20 allocations and about a tenth of its CPU less per call, but calls grpc-go answers before any interceptor (unknown methods, undecodable or oversized requests) are not recorded",
		Parse: boolean(func(c *Config) *bool { return &c.GRPC.InterceptorsOnly }, false)},

	// Databases (db.go).
	{Var: "VIGIL_DB_SLOW_QUERY", Field: "DB.SlowQuery", Default: "`500ms`",
		Doc:   "a database operation at least this long is logged at WARN with its sanitized statement and trace id; `0` disables",
		Parse: duration(func(c *Config) *time.Duration { return &c.DB.SlowQuery }, true)},
	{Var: "VIGIL_DB_COMMENT", Field: "DB.Comment", Default: "`false`",
		Doc:   "`true` appends a sqlcommenter comment with the traceparent to each statement run directly",
		Parse: boolean(func(c *Config) *bool { return &c.DB.Comment }, false)},

	// The dev console.
	{Var: EnvConsole, Field: "Console.Enabled", Default: "`false`",
		Doc:   "`true` serves the dev console at `/debug/vigil/` from `Middleware` (loopback clients only unless a token is set)",
		Parse: boolean(func(c *Config) *bool { return &c.Console.Enabled }, false)},
	{Var: EnvConsoleToken, Field: "Console.Token", Default: "none", Secret: true,
		Doc:   "token the dev console requires of every client (`Authorization: Bearer`, or `?token=` once); with it, non-loopback clients are served",
		Parse: str(func(c *Config) *string { return &c.Console.Token }, nil)},

	// Health checks (health.go).
	{Var: EnvHealth, Field: "Health.Enabled", Default: "`false`",
		Doc:   "`true`: `Middleware` answers `GET /livez` and `/readyz` itself, ahead of the handler and uncounted",
		Parse: boolean(func(c *Config) *bool { return &c.Health.Enabled }, false)},
	{Var: EnvHealthTimeout, Field: "Health.Timeout", Default: "`2s`",
		Doc:   "bound on one run of the readiness checks, and on each check without its own timeout",
		Parse: duration(func(c *Config) *time.Duration { return &c.Health.Timeout }, false)},
	{Var: EnvHealthInterval, Field: "Health.Interval", Default: "`1s`",
		Doc:   "how long one run's results answer every readiness probe; the checks run at most once per interval",
		Parse: duration(func(c *Config) *time.Duration { return &c.Health.Interval }, false)},
}

// envResult is what applying the environment found: the problems with variables, and
// which variable filled which field, so that a part's complaint about a field names the
// variable the user actually set.
type envResult struct {
	problems []Problem
	origin   map[string]*setting // Field -> the setting whose variable filled it
	values   map[string]string   // Var -> trimmed value
}

// apply fills c from the environment, as lookup reports it, for the settings keep
// accepts (nil: all).
func apply(c *Config, lookup func(string) (string, bool), keep func(*setting) bool) *envResult {
	res := &envResult{origin: map[string]*setting{}, values: map[string]string{}}
	read := map[string]bool{} // fields a variable was read for
	for i := range settings {
		s := &settings[i]
		if keep != nil && !keep(s) {
			continue
		}
		if c.Tracing.Disabled && strings.HasPrefix(s.Field, "Tracing.") && s.Field != "Tracing.Disabled" {
			// Nothing is exported: no other tracing setting is read or can fail.
			continue
		}
		if read[s.Field] && !s.merge {
			continue // a more specific variable decided
		}
		raw, ok := lookup(s.Var)
		v := strings.TrimSpace(raw)
		if !ok || v == "" {
			continue // empty counts as unset, as the OpenTelemetry specification says
		}
		read[s.Field] = true
		before := fieldSnapshot(c, s.Field)
		if err := s.Parse(c, v); err != nil {
			res.problems = append(res.problems, Problem{Name: s.Var, Value: s.show(v), Reason: err.Error()})
			continue
		}
		res.values[s.Var] = v
		if _, seen := res.origin[s.Field]; !seen && fieldSnapshot(c, s.Field) != before {
			res.origin[s.Field] = s
		}
	}
	return res
}

// fieldSnapshot renders a Config field, to tell whether Parse changed it.
func fieldSnapshot(c *Config, path string) string {
	v := reflect.ValueOf(c).Elem()
	for _, name := range strings.Split(path, ".") {
		v = v.FieldByName(name)
		if !v.IsValid() {
			panic("observe: settings table names unknown field " + path)
		}
	}
	return fmt.Sprintf("%#v", v.Interface())
}

// lookupEnv is the process environment.
func lookupEnv(name string) (string, bool) { return os.LookupEnv(name) }

// Parsers for the common kinds. Each leaves a field already set alone.

func str(field func(*Config) *string, check func(string) (string, error)) func(*Config, string) error {
	return func(c *Config, v string) error {
		p := field(c)
		if *p != "" {
			return nil
		}
		if check != nil {
			var err error
			if v, err = check(v); err != nil {
				return err
			}
		}
		*p = v
		return nil
	}
}

// boolean parses true/false (also 1/0, t/f, any case). With invert, the variable says
// "on" where the field says "disable".
func boolean(field func(*Config) *bool, invert bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return errors.New("want true or false")
		}
		if p := field(c); !*p {
			*p = b != invert
		}
		return nil
	}
}

// integer parses a positive integer: 0 would silently mean the default, and unsetting
// the variable says that.
func integer(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return errors.New("want a positive integer")
		}
		if p := field(c); *p == 0 {
			*p = n
		}
		return nil
	}
}

// duration parses a Go duration. With zeroDisables, "0" disables the feature (stored as
// -1, the parts' "off"); otherwise it must be positive.
func duration(field func(*Config) *time.Duration, zeroDisables bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil || d < 0 || d == 0 && !zeroDisables:
			if zeroDisables {
				return errors.New("want a duration such as 30s (0 disables)")
			}
			return errors.New("want a positive duration such as 10s")
		case d == 0:
			d = -1
		}
		if p := field(c); *p == 0 {
			*p = d
		}
		return nil
	}
}

// millis parses the OpenTelemetry timeouts: a positive number of milliseconds.
func millis(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
			return errors.New("want a positive number of milliseconds")
		}
		if p := field(c); *p == 0 {
			*p = time.Duration(ms) * time.Millisecond
		}
		return nil
	}
}

// float parses a number that ok accepts; with zeroDisables, 0 is stored as -1.
func float(field func(*Config) *float64, want string, ok func(float64) bool, zeroDisables bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || !ok(f) {
			return errors.New(want)
		}
		if f == 0 && zeroDisables {
			f = -1
		}
		if p := field(c); *p == 0 {
			*p = f
		}
		return nil
	}
}

// list adds comma-separated names to a list: secret and allowed names add up from every
// source, so no source can take another's away.
func list(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		p := field(c)
		out := append([]string(nil), *p...)
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				out = append(out, k)
			}
		}
		*p = out
		return nil
	}
}

// skip parses a comma-separated skip list, "none" meaning an empty one; nil field only.
func skip(field func(*Config) *[]string, check func(string) error) func(*Config, string) error {
	return func(c *Config, v string) error {
		p := field(c)
		if *p != nil {
			return nil
		}
		if v == "none" {
			*p = []string{}
			return nil
		}
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if check != nil {
				if err := check(s); err != nil {
					return err
				}
			}
			out = append(out, s)
		}
		*p = out
		return nil
	}
}

func endpoint(v string) (string, error) { return v, tracing.ParseEndpoint(v) }

// k8sAttr is the setting of a downward-API variable (env: valueFrom: fieldRef) that
// becomes resource attribute key unless OTEL_RESOURCE_ATTRIBUTES or the field sets it.
func k8sAttr(name, key string) setting {
	return setting{Var: name, Field: "Tracing.ResourceAttributes", Default: "none", merge: true,
		Doc: "`" + key + "` resource attribute (Kubernetes downward API); `OTEL_RESOURCE_ATTRIBUTES` wins",
		Parse: func(c *Config, v string) error {
			if _, ok := c.Tracing.ResourceAttributes[key]; ok {
				return nil
			}
			attrs := maps.Clone(c.Tracing.ResourceAttributes)
			if attrs == nil {
				attrs = map[string]string{}
			}
			attrs[key] = v
			c.Tracing.ResourceAttributes = attrs
			return nil
		}}
}

// headers adds the variable's headers whose keys the field (or a more specific variable
// applied before) does not set.
func headers(c *Config, v string) error {
	h, err := tracing.ParseHeaders(v)
	if err != nil {
		return err
	}
	merged := maps.Clone(c.Tracing.Headers)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, val := range h {
		if _, ok := merged[k]; !ok {
			merged[k] = val
		}
	}
	c.Tracing.Headers = merged
	return nil
}

// insecure follows the OpenTelemetry spelling: true or false in any case. Only true
// from the field overrides, and the traces variable, applied first, wins.
func insecure(c *Config, v string) error {
	var b bool
	switch strings.ToLower(v) {
	case "true":
		b = true
	case "false":
	default:
		return errors.New("want true or false")
	}
	if !c.Tracing.Insecure {
		c.Tracing.Insecure = b
	}
	return nil
}

// maskHeaders shows an OTLP headers value by its keys only.
func maskHeaders(v string) string {
	var b strings.Builder
	for i, item := range strings.Split(v, ",") {
		if i > 0 {
			b.WriteByte(',')
		}
		if k, _, ok := strings.Cut(item, "="); ok && !strings.ContainsAny(k, " \t") {
			b.WriteString(strings.TrimSpace(k) + "=" + scrub.Redacted)
		} else if strings.TrimSpace(item) != "" {
			b.WriteString(scrub.Redacted)
		}
	}
	return b.String()
}
