package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	slogmulti "github.com/samber/slog-multi"

	"github.com/vigil-go/vigil/internal/scrub"
)

// Config configures the handler. The zero value logs JSON at Info to stdout.
// Fields win over the VIGIL_LOG_* environment variables, which win over defaults.
type Config struct {
	// Level is the minimum level logged. Nil means VIGIL_LOG_LEVEL, else Info.
	// Pass a *slog.LevelVar to change it at run time.
	Level slog.Leveler
	// Format is "json" (the default) or "text". Empty means VIGIL_LOG_FORMAT.
	Format string
	// Output receives one Write per record. Nil means os.Stdout.
	Output io.Writer
	// AddSource adds the calling function, file and line (also VIGIL_LOG_SOURCE=true).
	AddSource bool
	// RedactKeys are patterns redacted in addition to the built-in ones
	// (also VIGIL_LOG_REDACT, comma separated). Matching ignores case and '-', '_', '.'.
	RedactKeys []string

	// Service, Version and Environment are added to every record when set.
	Service, Version, Environment string

	// Handlers receive every record too, after this package's own handler
	// (fanned out with slog-multi). The errors package plugs its Sentry bridge in here.
	Handlers []slog.Handler
}

// Environment variables read by this package.
const (
	EnvLevel  = "VIGIL_LOG_LEVEL"
	EnvFormat = "VIGIL_LOG_FORMAT"
	EnvSource = "VIGIL_LOG_SOURCE"
	EnvRedact = "VIGIL_LOG_REDACT"
)

// resolved is Config after defaults and environment are applied.
type resolved struct {
	level                         slog.Leveler
	format                        string
	out                           io.Writer
	addSource                     bool
	matcher                       *scrub.Matcher
	service, version, environment string
}

func (c Config) resolve() (resolved, error) {
	var errs []error
	r := resolved{
		out:         c.Output,
		addSource:   c.AddSource,
		service:     c.Service,
		version:     c.Version,
		environment: c.Environment,
	}
	if r.out == nil {
		r.out = os.Stdout
	}

	r.level = c.Level
	if r.level == nil {
		r.level = slog.LevelInfo
		if v, ok := os.LookupEnv(EnvLevel); ok && v != "" {
			l, err := ParseLevel(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", EnvLevel, v, err))
			} else {
				r.level = l
			}
		}
	}

	r.format = c.Format
	field := "logging.Format"
	if r.format == "" {
		if v, ok := os.LookupEnv(EnvFormat); ok && v != "" {
			r.format, field = v, EnvFormat
		} else {
			r.format = "json"
		}
	}
	switch f := strings.ToLower(r.format); f {
	case "json", "text":
		r.format = f
	default:
		errs = append(errs, fmt.Errorf("%s=%q: want json or text", field, r.format))
	}

	if !r.addSource {
		if v, ok := os.LookupEnv(EnvSource); ok && v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", EnvSource, v))
			}
			r.addSource = b
		}
	}

	extra := append([]string{}, c.RedactKeys...)
	if v := os.Getenv(EnvRedact); v != "" {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				extra = append(extra, k)
			}
		}
	}
	for i, k := range c.RedactKeys {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("logging.RedactKeys[%d]: empty pattern", i))
		}
	}
	r.matcher = scrub.New(extra...)
	return r, errors.Join(errs...)
}

// ParseLevel parses a level name as slog does ("debug", "INFO", "warn+2", "ERROR-1").
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("want debug, info, warn or error (optionally +N/-N)")
	}
	return l, nil
}

// NewHandler returns the handler described by cfg: JSON (or text) with service fields,
// trace correlation, context attributes and redaction, fanned out to cfg.Handlers.
// It fails only on invalid configuration, naming the field or variable.
func NewHandler(cfg Config) (slog.Handler, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	var h slog.Handler
	if r.format == "text" {
		h = newTextHandler(r)
	} else {
		h = newJSONHandler(r)
	}
	if len(cfg.Handlers) == 0 {
		return h, nil
	}
	return slogmulti.Fanout(append([]slog.Handler{h}, cfg.Handlers...)...), nil
}

// New returns a *slog.Logger over NewHandler(cfg).
func New(cfg Config) (*slog.Logger, error) {
	h, err := NewHandler(cfg)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}
