package tracing

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigil-go/vigil/internal/conferr"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Config configures the Provider. The zero Config records spans with ids and exports
// nothing. This package reads no environment variable: package observe maps the
// OTEL_* variables onto these fields, and the parsers here (ParseExporters,
// ParseHeaders, ParseSampler, ParsePropagators, ...) are the ones it uses. The SDK's
// exporters still read the OTEL_EXPORTER_OTLP_* settings no field covers (compression)
// themselves.
type Config struct {
	// RedactKeys are secret names added to the built-in ones, and AllowKeys names that
	// only look secret and are kept: span and event attributes so named are exported as
	// "[REDACTED]". Observe hands every part the same merged lists.
	RedactKeys, AllowKeys []string

	// Exporter is otlp, stdout (console) or none, or a comma-separated list (see
	// ParseExporters). Default: otlp when an endpoint is set, else none.
	Exporter string
	// Endpoint is the OTLP traces endpoint, used as is: a URL
	// (http://collector:4318/v1/traces, where an empty path means /v1/traces) or
	// host:port (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
	Endpoint string
	// BaseEndpoint is a base URL to which /v1/traces is appended for HTTP
	// (OTEL_EXPORTER_OTLP_ENDPOINT); Endpoint wins over it.
	BaseEndpoint string
	// Protocol is grpc, http/protobuf or http/json. Default http/protobuf, as the
	// specification says.
	Protocol string
	// Headers are sent with every export.
	Headers map[string]string
	// Insecure sends to a host:port endpoint without TLS. An http:// or https://
	// endpoint decides by itself.
	Insecure bool
	// Certificate is a PEM file of the CA certificates that verify the collector
	// (OTEL_EXPORTER_OTLP_CERTIFICATE); empty means the system's. ClientCertificate and
	// ClientKey are the PEM files of the client certificate and its key for mutual TLS
	// (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY), both or
	// neither. An unreadable or invalid file is an error from New naming the field.
	Certificate, ClientCertificate, ClientKey string
	// Propagators is the comma-separated list of trace context formats, as
	// OTEL_PROPAGATORS spells it (see ParsePropagators). Default "tracecontext,baggage".
	// Provider.Propagator returns the one propagator built from it.
	Propagators string
	// DisableResourceDetection leaves out the detected host, process and container
	// attributes (see the package doc).
	DisableResourceDetection bool
	// SampleRatio, when set, samples that fraction of new traces and follows the
	// parent's decision otherwise; it wins over Sampler.
	SampleRatio *float64
	// Sampler is a sampler name as OTEL_TRACES_SAMPLER spells it (see ParseSampler),
	// with SamplerArg its argument. Default parentbased_always_on.
	Sampler, SamplerArg string
	// Disabled stops recording and exporting; spans still get ids. When set, no other
	// field is validated, so New cannot fail.
	Disabled bool
	// SpanExporter, when set, replaces the configured exporters (for tests).
	SpanExporter sdktrace.SpanExporter
	// OnEnd, when set, receives every sampled span as it ends, whatever the exporters,
	// as the SDK's immutable snapshot: before the secret policy, which is applied when
	// the span is shown (Provider.Redact does it as the exporters do). It runs in the
	// goroutine that ends the span, so it must be quick and must not block. Package
	// observe's dev console is its user.
	OnEnd func(sdktrace.ReadOnlySpan)
	// MaxQueueSize bounds the spans waiting for export; more are dropped and counted.
	// Default 2048.
	MaxQueueSize int
	// MaxExportBatchSize is the most spans one export carries; a full batch is exported
	// at once (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). Default 512, at most MaxQueueSize.
	MaxExportBatchSize int
	// BatchDelay is the longest an ended span waits for its batch to fill before it is
	// exported (OTEL_BSP_SCHEDULE_DELAY). Default 5s.
	BatchDelay time.Duration
	// SpanLimits overrides the SDK's span limits field by field (the OTEL_SPAN_*_LIMIT
	// variables); zero fields keep vigil's bounds from internal/limits.
	SpanLimits SpanLimits
	// ExportTimeout bounds each export, retries included. Default 10s.
	ExportTimeout time.Duration

	// ResourceAttributes are added to the resource (OTEL_RESOURCE_ATTRIBUTES); Service,
	// Version and Environment win over the keys they set.
	ResourceAttributes map[string]string
	// Service, Version and Environment become service.name, service.version and
	// deployment.environment.name.
	Service, Version, Environment string
	// Logger receives export failures (once per outage); default slog.Default().
	Logger *slog.Logger
	// Output is where the stdout exporter writes, one JSON object per span; default os.Stdout.
	Output io.Writer
}

// Defaults, as the OpenTelemetry specification gives them.
const (
	defaultTimeout   = 10 * time.Second
	defaultQueueSize = sdktrace.DefaultMaxQueueSize
	defaultBatchSize = sdktrace.DefaultMaxExportBatchSize
	defaultDelay     = sdktrace.DefaultScheduleDelay * time.Millisecond
	defaultProtocol  = "http/protobuf"
	tracesPath       = "/v1/traces"
)

// Exporter names accepted by Config.Exporter and OTEL_TRACES_EXPORTER.
const (
	ExporterOTLP   = "otlp"
	ExporterStdout = "stdout" // OTEL_TRACES_EXPORTER spells it "console"; both are accepted
	ExporterNone   = "none"
)

// settings is Config resolved and validated.
type settings struct {
	exporters []string // ExporterOTLP, ExporterStdout; empty means none
	disabled  bool

	protocol string // grpc | http/protobuf | http/json
	host     string // host:port, "" for the exporter's default
	path     string // URL path for HTTP
	insecure bool
	headers  map[string]string
	timeout  time.Duration

	tls *tls.Config // nil: the exporter's default

	queueSize  int
	batchSize  int           // spans per export, at most
	batchDelay time.Duration // the longest a span waits for a full batch
	propagator propagation.TextMapPropagator
	sampler    sdktrace.Sampler
	resource   map[string]string
	matcher    *scrub.Matcher // attribute names redacted on export
}

// resolve applies the defaults and returns every invalid field in one error.
func resolve(cfg Config) (settings, error) {
	var s settings
	errs := &conferr.Error{Part: "tracing"}

	s.disabled = cfg.Disabled
	prop, propErr := ParsePropagators(cfg.Propagators)
	if s.disabled {
		// Nothing will be exported, so nothing else can fail: a program can always fall
		// back to Config{Disabled: true}. Trace context still flows through.
		if propErr != nil {
			prop, _ = ParsePropagators("")
		}
		s.propagator = prop
		s.sampler = sdktrace.NeverSample()
		s.resource = baseResource(cfg, map[string]string{})
		return s, nil
	}
	if propErr != nil {
		errs.Add("Propagators", cfg.Propagators, propErr.Error())
	}
	s.propagator = prop

	switch {
	case cfg.Exporter != "":
		exps, err := ParseExporters(cfg.Exporter)
		if err != nil {
			errs.Add("Exporter", cfg.Exporter, err.Error())
		}
		s.exporters = exps
	case cfg.Endpoint != "" || cfg.BaseEndpoint != "":
		s.exporters = []string{ExporterOTLP}
	}

	s.protocol = defaultProtocol
	if cfg.Protocol != "" {
		p, err := ParseProtocol(cfg.Protocol)
		if err != nil {
			errs.Add("Protocol", cfg.Protocol, err.Error())
		} else {
			s.protocol = p
		}
	}

	// Endpoint names the full URL (an empty path means /v1/traces); BaseEndpoint a base
	// URL to which /v1/traces is appended, as the specification says of the generic
	// variable.
	s.insecure = cfg.Insecure
	field, value := "Endpoint", cfg.Endpoint
	if value == "" {
		field, value = "BaseEndpoint", cfg.BaseEndpoint
	}
	if value != "" {
		host, path, insecure, hasScheme, err := parseEndpoint(value)
		switch {
		case err != nil:
			errs.Add(field, scrub.RawURL(value), err.Error())
		default:
			s.host = host
			if hasScheme {
				s.insecure = insecure
			}
			switch {
			case field == "BaseEndpoint":
				s.path = strings.TrimSuffix(path, "/") + tracesPath
			case path == "" || path == "/":
				s.path = tracesPath
			default:
				s.path = path
			}
		}
	} else {
		// The specification's defaults: http://localhost:4317 for gRPC, :4318 for HTTP.
		s.host, s.path, s.insecure = "localhost:4318", tracesPath, true
		if s.protocol == "grpc" {
			s.host = "localhost:4317"
		}
	}

	s.headers = map[string]string{}
	for k, v := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, "\r\n") || strings.ContainsAny(v, "\r\n") {
			// The value may be a credential: name the key only.
			errs.Add("Headers["+strconv.Quote(k)+"]", scrub.Redacted, "invalid header")
			continue
		}
		s.headers[k] = v
	}

	if len(s.exporters) > 0 && slices.Contains(s.exporters, ExporterOTLP) {
		s.tls = loadTLS(cfg, errs)
	}

	switch {
	case cfg.ExportTimeout < 0:
		errs.Add("ExportTimeout", cfg.ExportTimeout, "must be positive")
	case cfg.ExportTimeout > 0:
		s.timeout = cfg.ExportTimeout
	default:
		s.timeout = defaultTimeout
	}

	switch {
	case cfg.MaxQueueSize < 0:
		errs.Add("MaxQueueSize", cfg.MaxQueueSize, "must be positive")
	case cfg.MaxQueueSize > 0:
		s.queueSize = cfg.MaxQueueSize
	default:
		s.queueSize = defaultQueueSize
	}

	switch {
	case cfg.MaxExportBatchSize < 0:
		errs.Add("MaxExportBatchSize", cfg.MaxExportBatchSize, "must be positive")
	case cfg.MaxExportBatchSize > 0:
		s.batchSize = cfg.MaxExportBatchSize
	default:
		s.batchSize = defaultBatchSize
	}

	switch {
	case cfg.BatchDelay < 0:
		errs.Add("BatchDelay", cfg.BatchDelay, "must be positive")
	case cfg.BatchDelay > 0:
		s.batchDelay = cfg.BatchDelay
	default:
		s.batchDelay = defaultDelay
	}

	for i, k := range cfg.RedactKeys {
		if strings.TrimSpace(k) == "" {
			errs.Add(fmt.Sprintf("RedactKeys[%d]", i), k, "want a non-empty name")
		}
	}
	for i, k := range cfg.AllowKeys {
		if strings.TrimSpace(k) == "" {
			errs.Add(fmt.Sprintf("AllowKeys[%d]", i), k, "want a non-empty name")
		}
	}
	s.matcher = scrub.Shared(cfg.RedactKeys, cfg.AllowKeys)

	if r := cfg.SampleRatio; r != nil {
		if math.IsNaN(*r) || *r < 0 || *r > 1 {
			errs.Add("SampleRatio", *r, "want a number from 0 to 1")
		} else {
			s.sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*r))
		}
	} else {
		sampler, badArg, err := parseSampler(cfg.Sampler, cfg.SamplerArg)
		switch {
		case err == nil:
			s.sampler = sampler
		case badArg:
			errs.Add("SamplerArg", cfg.SamplerArg, err.Error())
		default:
			errs.Add("Sampler", cfg.Sampler, err.Error())
		}
	}

	for k := range cfg.ResourceAttributes {
		if strings.TrimSpace(k) == "" {
			errs.Add("ResourceAttributes", k, "empty key")
		}
	}
	attrs := maps.Clone(cfg.ResourceAttributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	s.resource = baseResource(cfg, attrs)
	return s, errs.Err()
}

// ParseSampler returns the sampler OTEL_TRACES_SAMPLER names ("" means
// parentbased_always_on) with OTEL_TRACES_SAMPLER_ARG's value arg, which only the ratio
// samplers read ("" means 1); the others ignore it, as the specification says.
func ParseSampler(name, arg string) (sdktrace.Sampler, error) {
	s, _, err := parseSampler(name, arg)
	return s, err
}

// parseSampler is ParseSampler, also telling whether the argument was the problem.
func parseSampler(name, arg string) (s sdktrace.Sampler, badArg bool, err error) {
	ratio := func() (float64, error) {
		v := strings.TrimSpace(arg)
		if v == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(r) || r < 0 || r > 1 {
			return 0, errors.New("want a number from 0 to 1")
		}
		return r, nil
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), false, nil
	case "always_on":
		return sdktrace.AlwaysSample(), false, nil
	case "always_off":
		return sdktrace.NeverSample(), false, nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), false, nil
	case "traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, true, err
		}
		return sdktrace.TraceIDRatioBased(r), false, nil
	case "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, true, err
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), false, nil
	}
	return nil, false, errors.New("want always_on, always_off, traceidratio, " +
		"parentbased_always_on, parentbased_always_off or parentbased_traceidratio")
}

// ParseExporters parses a comma-separated exporter list as OTEL_TRACES_EXPORTER holds
// it: otlp, console (or stdout), none. The result is deduplicated; none alone yields an
// empty list.
func ParseExporters(v string) ([]string, error) {
	var out []string
	none := false
	for _, e := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(e)) {
		case "otlp":
			out = appendOnce(out, ExporterOTLP)
		case "console", "stdout":
			out = appendOnce(out, ExporterStdout)
		case "none":
			none = true
		default:
			return nil, fmt.Errorf("unknown exporter %q: want otlp, console (stdout) or none", strings.TrimSpace(e))
		}
	}
	if none && len(out) > 0 {
		return nil, errors.New("none cannot be combined with other exporters")
	}
	return out, nil
}

// ParseProtocol parses an OTLP protocol name: grpc, http/protobuf or http/json.
func ParseProtocol(v string) (string, error) {
	switch p := strings.TrimSpace(v); p {
	case "grpc", "http/protobuf", "http/json":
		return p, nil
	}
	return "", errors.New("want grpc, http/protobuf or http/json")
}

// ParseEndpoint checks an OTLP endpoint: a URL with an http or https scheme, or a bare
// host:port. The error never quotes the value, which may carry a password.
func ParseEndpoint(v string) error {
	_, _, _, _, err := parseEndpoint(strings.TrimSpace(v))
	return err
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// parseEndpoint accepts a URL with an http or https scheme, or a bare host:port.
func parseEndpoint(v string) (host, path string, insecure, hasScheme bool, err error) {
	if !strings.Contains(v, "://") {
		u, err := url.Parse("//" + v)
		if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return "", "", false, false, errors.New("want a URL (http://host:port) or host:port")
		}
		return u.Host, "", false, false, nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", "", false, true, errors.New("want a URL (http://host:port) or host:port")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", false, true, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", "", false, true, errors.New("missing host")
	}
	return u.Host, u.Path, u.Scheme == "http", true, nil
}

// ParseHeaders parses the key=value,... form of OTEL_EXPORTER_OTLP_HEADERS; keys and
// values are percent-decoded. Values are credentials, so an error names the bad entry
// by its position or its key, never by its value.
func ParseHeaders(v string) (map[string]string, error) {
	return parseList(v)
}

// ParseResourceAttributes parses the key=value,... form of OTEL_RESOURCE_ATTRIBUTES;
// keys and values are percent-decoded.
func ParseResourceAttributes(v string) (map[string]string, error) {
	return parseList(v)
}

func parseList(v string) (map[string]string, error) {
	out := map[string]string{}
	for i, item := range strings.Split(v, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, val, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			// Without '=' the entry may be a bare credential: its position is enough.
			return nil, fmt.Errorf("entry %d: want key=value", i+1)
		}
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(strings.TrimSpace(val))
		if err1 != nil {
			return nil, fmt.Errorf("entry %d: key is not percent-encoded correctly", i+1)
		}
		if err2 != nil {
			return nil, fmt.Errorf("entry %q: value is not percent-encoded correctly", dk)
		}
		out[dk] = dv
	}
	return out, nil
}
