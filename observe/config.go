package observe

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/tracing"
)

// Config configures an Observer. The zero Config works: JSON logs on stdout, metrics for
// MetricsHandler, spans with ids (exported only when an exporter is configured), and
// errors logged (and sent to Sentry when SENTRY_DSN is set).
//
// Fields win over environment variables, which win over defaults; the README lists
// every variable with the field it fills. Service, Version and Environment are copied
// into each part's config unless that part sets its own.
type Config struct {
	// Service names the program: OTEL_SERVICE_NAME, else service.name in
	// OTEL_RESOURCE_ATTRIBUTES, else the executable's name.
	Service string
	// Version is the release (SENTRY_RELEASE is the fallback for errors).
	Version string
	// Environment is the deployment environment (VIGIL_ENVIRONMENT; SENTRY_ENVIRONMENT
	// for errors only).
	Environment string

	// RedactKeys are secret names redacted everywhere in addition to the built-in ones
	// (also VIGIL_REDACT_KEYS, comma separated). AllowKeys are names that only look
	// secret ("max_tokens") and are kept (also VIGIL_REDACT_ALLOW). Both add up with the
	// variables and with each part's own RedactKeys and AllowKeys into one list that
	// every part receives, so a name is treated alike in logs, events, spans, labels and
	// request data.
	RedactKeys, AllowKeys []string

	// ShutdownTimeout bounds Shutdown when its context has no deadline
	// (VIGIL_SHUTDOWN_TIMEOUT); 0 means 10s.
	ShutdownTimeout time.Duration

	Logging logging.Config
	Errors  verrors.Config
	Tracing tracing.Config
	Metrics metrics.Config
	HTTP    HTTPConfig
	GRPC    GRPCConfig
	// DB configures the database/sql instrumentation (db.go).
	DB DBConfig
	// Console configures the dev console at /debug/vigil/ (console.go); off by default.
	Console ConsoleConfig
	// Health configures the checks behind LivezHandler and ReadyzHandler (health.go).
	Health HealthConfig

	// OTelMetrics configures OpenTelemetry's global MeterProvider (OTEL_METRICS_EXPORTER):
	// otel.Meter instruments appear at MetricsHandler, and with otlp they and vigil's
	// own metrics leave over OTLP. OTelLogs configures the global LoggerProvider
	// (OTEL_LOGS_EXPORTER): with otlp, every line the application's logger writes also
	// leaves as a log record. Unset OTLP fields follow the generic OTEL_EXPORTER_OTLP_*
	// variables.
	OTelMetrics tracing.MetricsConfig
	OTelLogs    tracing.LogsConfig

	// NoGlobals leaves other libraries' process-wide state alone: Init then neither calls
	// slog.SetDefault nor sets OpenTelemetry's global tracer, meter and logger providers
	// and propagator. The Observer still becomes this package's default (use New to avoid
	// even that).
	NoGlobals bool

	// fixed marks the fallback's Config: built without consulting the environment.
	fixed bool
	// ddAgentHost is DD_AGENT_HOST's host when it filled Metrics.StatsD.Addr with the
	// default port, which DD_DOGSTATSD_PORT then replaces.
	ddAgentHost string
}

// EnvEnvironment is read when neither Config.Environment nor a part's own setting is given.
const EnvEnvironment = "VIGIL_ENVIRONMENT"

// DefaultShutdownTimeout bounds Shutdown when its context has no deadline and neither
// Config.ShutdownTimeout nor VIGIL_SHUTDOWN_TIMEOUT says otherwise.
const DefaultShutdownTimeout = 10 * time.Second

// fallbackConfig is what the package default is built from before Init and after
// Shutdown. It reads no backend setting: nothing can start a sender, a flusher or a
// pusher, and nothing can fail. Only the logging settings and the secret names are taken
// from the environment, and invalid ones are ignored.
func fallbackConfig() Config {
	c := bareConfig()
	apply(&c, lookupEnv, func(s *setting) bool {
		return strings.HasPrefix(s.Field, "Logging.") || s.Field == "RedactKeys" || s.Field == "AllowKeys"
	})
	return c
}

// bareConfig is the fallback's Config without anything from the environment.
func bareConfig() Config {
	return Config{
		NoGlobals: true,
		Metrics:   metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true},
		Tracing:   tracing.Config{Exporter: tracing.ExporterNone, Disabled: true},
		fixed:     true,
	}
}

// resolve applies the environment (unless c is the fallback's) and the defaults, and
// merges the secret-name lists. Problems found on the way are in the result; New adds
// the parts' own and reports them all at once (see configError).
func (c Config) resolve() (Config, *envResult) {
	var env *envResult
	if c.fixed {
		env = &envResult{}
	} else {
		env = apply(&c, lookupEnv, nil)
	}
	if c.Service == "" {
		c.Service = c.Tracing.ResourceAttributes["service.name"]
	}
	if c.Service == "" {
		c.Service = filepath.Base(os.Args[0])
	}
	c.Service = strings.TrimSpace(c.Service)
	switch {
	case c.ShutdownTimeout == 0:
		c.ShutdownTimeout = DefaultShutdownTimeout
	case c.ShutdownTimeout < 0:
		env.problems = append(env.problems, Problem{Name: "ShutdownTimeout", Value: c.ShutdownTimeout.String(), Reason: "must be positive"})
		c.ShutdownTimeout = DefaultShutdownTimeout
	}

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
	if c.Errors.BreadcrumbLevel == nil {
		// Records the log drops must not reach Sentry as breadcrumbs either.
		c.Errors.BreadcrumbLevel = c.Logging.Level
		if c.Errors.BreadcrumbLevel == nil {
			c.Errors.BreadcrumbLevel = slog.LevelInfo
		}
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
	if c.Metrics.Environment == "" {
		c.Metrics.Environment = c.Environment
	}
	if c.Metrics.Version == "" {
		c.Metrics.Version = c.Version
	}

	c.resolveSignals(env)

	redact, allow, problems := c.secretNames()
	env.problems = append(env.problems, problems...)
	c.RedactKeys, c.AllowKeys = redact, allow
	c.Logging.RedactKeys, c.Logging.AllowKeys = redact, allow
	c.Errors.RedactKeys, c.Errors.AllowKeys = redact, allow
	c.Tracing.RedactKeys, c.Tracing.AllowKeys = redact, allow
	c.Metrics.RedactKeys, c.Metrics.AllowKeys = redact, allow
	return c, env
}

// secretNames merges Config.RedactKeys (with the variables already in it) and every
// part's own RedactKeys into one list, and AllowKeys likewise. Empty names are reported
// here, once, under the field they were given in, and left out.
func (c Config) secretNames() (redact, allow []string, problems []Problem) {
	add := func(dst []string, field string, names []string) []string {
		for i, k := range names {
			if strings.TrimSpace(k) == "" {
				problems = append(problems, Problem{Name: fmt.Sprintf("%s[%d]", field, i), Value: k, Reason: "want a non-empty name"})
				continue
			}
			if !slices.Contains(dst, k) {
				dst = append(dst, k)
			}
		}
		return dst
	}
	redact = add(redact, "RedactKeys", c.RedactKeys)
	redact = add(redact, "Logging.RedactKeys", c.Logging.RedactKeys)
	redact = add(redact, "Errors.RedactKeys", c.Errors.RedactKeys)
	redact = add(redact, "Tracing.RedactKeys", c.Tracing.RedactKeys)
	redact = add(redact, "Metrics.RedactKeys", c.Metrics.RedactKeys)
	allow = add(allow, "AllowKeys", c.AllowKeys)
	allow = add(allow, "Logging.AllowKeys", c.Logging.AllowKeys)
	allow = add(allow, "Errors.AllowKeys", c.Errors.AllowKeys)
	allow = add(allow, "Tracing.AllowKeys", c.Tracing.AllowKeys)
	allow = add(allow, "Metrics.AllowKeys", c.Metrics.AllowKeys)
	return redact, allow, problems
}

// redactKeys and allowKeys are the merged lists every part and the middleware receive.
func (o *Observer) redactKeys() []string { return o.cfg.RedactKeys }
func (o *Observer) allowKeys() []string  { return o.cfg.AllowKeys }
