package observe

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/tracing"
)

// Config configures an Observer. The zero Config works: JSON logs on stdout, metrics for
// MetricsHandler, spans with ids (exported only when an exporter is configured), and
// errors logged (and sent to Sentry when SENTRY_DSN is set).
//
// Fields win over environment variables, which win over defaults. Service, Version and
// Environment are copied into each part's config unless that part sets its own.
type Config struct {
	// Service names the program: OTEL_SERVICE_NAME, else the executable's name.
	Service string
	// Version is the release (SENTRY_RELEASE is the fallback for errors).
	Version string
	// Environment is the deployment environment (SENTRY_ENVIRONMENT, VIGIL_ENVIRONMENT).
	Environment string

	Logging logging.Config
	Errors  verrors.Config
	Tracing tracing.Config
	Metrics metrics.Config
	HTTP    HTTPConfig
	GRPC    GRPCConfig

	// NoGlobals leaves other libraries' process-wide state alone: Init then neither calls
	// slog.SetDefault nor sets OpenTelemetry's global tracer provider and propagator. The
	// Observer still becomes this package's default (use New to avoid even that).
	NoGlobals bool
}

// EnvEnvironment is read when neither Config.Environment nor a part's own setting is given.
const EnvEnvironment = "VIGIL_ENVIRONMENT"

func (c Config) withDefaults() Config {
	if c.Service == "" {
		c.Service = os.Getenv("OTEL_SERVICE_NAME")
	}
	if c.Service == "" {
		c.Service = resourceServiceName(os.Getenv("OTEL_RESOURCE_ATTRIBUTES"))
	}
	if c.Service == "" {
		c.Service = filepath.Base(os.Args[0])
	}
	if c.Environment == "" {
		c.Environment = os.Getenv(EnvEnvironment)
	}
	c.Service = strings.TrimSpace(c.Service)

	if c.Logging.Service == "" {
		c.Logging.Service = c.Service
	}
	if c.Logging.Version == "" {
		c.Logging.Version = c.Version
	}
	if c.Logging.Environment == "" {
		c.Logging.Environment = c.Environment
	}
	if c.Errors.Service == "" {
		c.Errors.Service = c.Service
	}
	if c.Errors.Release == "" {
		c.Errors.Release = c.Version
	}
	if c.Errors.Environment == "" {
		c.Errors.Environment = c.Environment
	}
	if c.Tracing.Service == "" {
		c.Tracing.Service = c.Service
	}
	if c.Tracing.Version == "" {
		c.Tracing.Version = c.Version
	}
	if c.Tracing.Environment == "" {
		c.Tracing.Environment = c.Environment
	}
	if c.Metrics.Service == "" {
		c.Metrics.Service = c.Service
	}
	return c
}

// resourceServiceName returns service.name from an OTEL_RESOURCE_ATTRIBUTES value, which
// the specification ranks below OTEL_SERVICE_NAME and above the executable's name.
// Malformed input is the tracing part's to report; here it just yields "".
func resourceServiceName(attrs string) string {
	for _, kv := range strings.Split(attrs, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == "service.name" {
			if u, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
				return u
			}
		}
	}
	return ""
}

// redactKeys are the secret-name patterns configured for logging and errors, which every
// other part applies too, so a name redacted in one place is redacted everywhere. Empty
// patterns are left out: the part they were given to reports them.
func (o *Observer) redactKeys() []string {
	var keys []string
	for _, k := range slices.Concat(o.cfg.Logging.RedactKeys, o.cfg.Errors.RedactKeys) {
		if strings.TrimSpace(k) != "" {
			keys = append(keys, k)
		}
	}
	return keys
}
