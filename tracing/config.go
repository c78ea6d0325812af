package tracing

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/vigil-go/vigil/internal/scrub"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The standard variables this package reads. Empty values count as unset.
const (
	envSDKDisabled        = "OTEL_SDK_DISABLED"
	envServiceName        = "OTEL_SERVICE_NAME"
	envResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
	envExporter           = "OTEL_TRACES_EXPORTER"
	envSampler            = "OTEL_TRACES_SAMPLER"
	envSamplerArg         = "OTEL_TRACES_SAMPLER_ARG"
	envEndpoint           = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint     = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol           = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol     = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envHeaders            = "OTEL_EXPORTER_OTLP_HEADERS"
	envTracesHeaders      = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	envInsecure           = "OTEL_EXPORTER_OTLP_INSECURE"
	envTracesInsecure     = "OTEL_EXPORTER_OTLP_TRACES_INSECURE"
	envTimeout            = "OTEL_EXPORTER_OTLP_TIMEOUT"
	envTracesTimeout      = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
	envQueueSize          = "OTEL_BSP_MAX_QUEUE_SIZE"
)

// Defaults, as the OpenTelemetry specification gives them.
const (
	defaultTimeout   = 10 * time.Second
	defaultQueueSize = sdktrace.DefaultMaxQueueSize
	defaultProtocol  = "http/protobuf"
	tracesPath       = "/v1/traces"
)

// Exporter names accepted by Config.Exporter and OTEL_TRACES_EXPORTER.
const (
	ExporterOTLP   = "otlp"
	ExporterStdout = "stdout" // OTEL_TRACES_EXPORTER spells it "console"; both are accepted
	ExporterNone   = "none"
)

// settings is Config resolved against the environment and validated.
type settings struct {
	exporters []string // ExporterOTLP, ExporterStdout; empty means none
	disabled  bool

	protocol string // grpc | http/protobuf | http/json
	host     string // host:port, "" for the exporter's default
	path     string // URL path for HTTP
	insecure bool
	headers  map[string]string
	timeout  time.Duration

	queueSize int
	sampler   sdktrace.Sampler
	resource  map[string]string
	matcher   *scrub.Matcher // attribute names redacted on export
}

// resolve applies the precedence Config > environment > default and returns every
// invalid value in one error.
func resolve(cfg Config) (settings, error) {
	var s settings
	var errs []error
	bad := func(name, value, why string) {
		errs = append(errs, fmt.Errorf("tracing: %s=%q: %s", name, value, why))
	}

	// Disabled.
	s.disabled = cfg.Disabled
	if v := env(envSDKDisabled); v != "" && !cfg.Disabled {
		b, ok := parseBool(v)
		if !ok {
			bad(envSDKDisabled, v, "want true or false")
		}
		s.disabled = b
	}
	if s.disabled && len(errs) == 0 {
		// Nothing will be exported, so no other setting is read or can fail: a
		// program can always fall back to Config{Disabled: true}, whatever the
		// environment holds.
		s.sampler = sdktrace.NeverSample()
		s.resource = baseResource(cfg, map[string]string{})
		return s, nil
	}

	// Endpoint first: it decides the default exporter.
	endpointSet := cfg.Endpoint != "" || env(envTracesEndpoint) != "" || env(envEndpoint) != ""

	// Exporters.
	name, value := "Config.Exporter", cfg.Exporter
	if value == "" {
		name, value = envExporter, env(envExporter)
	}
	switch {
	case value != "":
		exps, err := parseExporters(value)
		if err != nil {
			bad(name, value, err.Error())
		}
		s.exporters = exps
	case endpointSet:
		s.exporters = []string{ExporterOTLP}
	}

	// Protocol.
	name, value = first("Config.Protocol", cfg.Protocol, envTracesProtocol, envProtocol)
	switch value {
	case "":
		s.protocol = defaultProtocol
	case "grpc", "http/protobuf", "http/json":
		s.protocol = value
	default:
		bad(name, value, "want grpc, http/protobuf or http/json")
	}
	isHTTP := s.protocol != "grpc"

	// Insecure: Config.Insecure can only switch it on (false is the zero value).
	s.insecure = cfg.Insecure
	if !s.insecure {
		if name, value := first("", "", envTracesInsecure, envInsecure); value != "" {
			b, ok := parseBool(value)
			if !ok {
				bad(name, value, "want true or false")
			}
			s.insecure = b
		}
	}

	// Endpoint. Config.Endpoint and the traces variable name the full URL (an empty
	// path means /v1/traces); the generic variable names a base URL to which
	// /v1/traces is appended, as the specification says.
	if name, value := first("Config.Endpoint", cfg.Endpoint, envTracesEndpoint, envEndpoint); value != "" {
		host, path, insecure, hasScheme, err := parseEndpoint(value)
		switch {
		case err != nil:
			bad(name, value, err.Error())
		case hasScheme && !insecure && cfg.Insecure:
			bad(name, value, "an https endpoint contradicts Config.Insecure=true")
		default:
			s.host = host
			if hasScheme {
				s.insecure = insecure
			}
			switch {
			case name == envEndpoint:
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
		if !isHTTP {
			s.host = "localhost:4317"
		}
	}

	// Headers: the generic variable, then the traces one, then Config, key by key.
	s.headers = map[string]string{}
	for _, name := range []string{envHeaders, envTracesHeaders} {
		if v := env(name); v != "" {
			h, err := parseList(v)
			if err != nil {
				bad(name, v, err.Error())
			}
			for k, v := range h {
				s.headers[k] = v
			}
		}
	}
	for k, v := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, "\r\n") || strings.ContainsAny(v, "\r\n") {
			bad("Config.Headers["+strconv.Quote(k)+"]", v, "invalid header")
			continue
		}
		s.headers[k] = v
	}

	// Timeout.
	switch {
	case cfg.ExportTimeout < 0:
		bad("Config.ExportTimeout", cfg.ExportTimeout.String(), "must be positive")
	case cfg.ExportTimeout > 0:
		s.timeout = cfg.ExportTimeout
	default:
		s.timeout = defaultTimeout
		if name, value := first("", "", envTracesTimeout, envTimeout); value != "" {
			ms, err := strconv.ParseInt(value, 10, 64)
			if err != nil || ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
				bad(name, value, "want a positive number of milliseconds")
			} else {
				s.timeout = time.Duration(ms) * time.Millisecond
			}
		}
	}

	// Queue size.
	switch {
	case cfg.MaxQueueSize < 0:
		bad("Config.MaxQueueSize", strconv.Itoa(cfg.MaxQueueSize), "must be positive")
	case cfg.MaxQueueSize > 0:
		s.queueSize = cfg.MaxQueueSize
	default:
		s.queueSize = defaultQueueSize
		if v := env(envQueueSize); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				bad(envQueueSize, v, "want a positive integer")
			} else {
				s.queueSize = n
			}
		}
	}

	// Secret names.
	redact := slices.Clone(cfg.RedactKeys)
	for i, k := range cfg.RedactKeys {
		if strings.TrimSpace(k) == "" {
			bad(fmt.Sprintf("tracing.RedactKeys[%d]", i), k, "want a non-empty pattern")
		}
	}
	for _, k := range strings.Split(os.Getenv("VIGIL_LOG_REDACT"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			redact = append(redact, k)
		}
	}
	s.matcher = scrub.New(redact...)

	// Sampler.
	sampler, err := resolveSampler(cfg.SampleRatio)
	if err != nil {
		errs = append(errs, err)
	}
	s.sampler = sampler

	// Resource.
	res, err := resolveResource(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	s.resource = res

	return s, errors.Join(errs...)
}

// resolveSampler returns the sampler from Config.SampleRatio, else OTEL_TRACES_SAMPLER,
// else parentbased_always_on.
func resolveSampler(ratio *float64) (sdktrace.Sampler, error) {
	if ratio != nil {
		r := *ratio
		if math.IsNaN(r) || r < 0 || r > 1 {
			return nil, fmt.Errorf("tracing: Config.SampleRatio=%v: want a number from 0 to 1", r)
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	name := strings.ToLower(env(envSampler))
	// The argument matters only to the ratio samplers; others ignore it, as specified.
	ratioArg := func() (float64, error) {
		v := env(envSamplerArg)
		if v == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(r) || r < 0 || r > 1 {
			return 0, fmt.Errorf("tracing: %s=%q: want a number from 0 to 1", envSamplerArg, v)
		}
		return r, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		r, err := ratioArg()
		if err != nil {
			return nil, err
		}
		return sdktrace.TraceIDRatioBased(r), nil
	case "parentbased_traceidratio":
		r, err := ratioArg()
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	default:
		return nil, fmt.Errorf("tracing: %s=%q: want always_on, always_off, traceidratio, "+
			"parentbased_always_on, parentbased_always_off or parentbased_traceidratio", envSampler, env(envSampler))
	}
}

// parseExporters parses a comma-separated exporter list.
func parseExporters(v string) ([]string, error) {
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

// parseList parses the key=value,key=value form of OTEL_EXPORTER_OTLP_HEADERS and
// OTEL_RESOURCE_ATTRIBUTES; values are percent-decoded.
func parseList(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(v, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, val, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %q: want key=value", item)
		}
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(strings.TrimSpace(val))
		// One reason is enough, and keeps the message on one line (errors.Join would not).
		if err := cmp.Or(err1, err2); err != nil {
			return nil, fmt.Errorf("entry %q: %v", item, err)
		}
		out[dk] = dv
	}
	return out, nil
}

// parseBool accepts true and false in any case, as the specification does.
func parseBool(v string) (b, ok bool) {
	switch strings.ToLower(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// first returns the first non-empty of the field value and the variables, with its name.
func first(field, value string, vars ...string) (string, string) {
	if value != "" {
		return field, value
	}
	for _, name := range vars {
		if v := env(name); v != "" {
			return name, v
		}
	}
	return "", ""
}

// env reads a variable; surrounding space is ignored and empty means unset.
func env(name string) string { return strings.TrimSpace(os.Getenv(name)) }
