package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	slogmulti "github.com/samber/slog-multi"

	"github.com/vigil-go/vigil/internal/conferr"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Config configures the handler. The zero value logs JSON at Info to stdout. This
// package reads no environment variable: package observe maps VIGIL_LOG_* onto these
// fields.
type Config struct {
	// Level is the minimum level logged. Nil means Info. Pass a *slog.LevelVar to change
	// it at run time.
	Level slog.Leveler
	// Format is "json" (the default) or "text"; see ParseFormat.
	Format string
	// Output receives one Write per record. Nil means os.Stdout.
	Output io.Writer
	// AddSource adds the calling function, file and line.
	AddSource bool
	// RedactKeys are secret names redacted in addition to the built-in ones, and
	// AllowKeys names that only look secret and are kept (see package observe for the
	// matching rules). Observe hands every part the same merged lists.
	RedactKeys, AllowKeys []string

	// Service, Version and Environment are added to every record when set.
	Service, Version, Environment string

	// Fields names the fields vigil writes, for the log store that reads them: "vigil"
	// (the default), "otel", "ecs", "gcp" (or "gcp:PROJECT_ID") or "datadog". See the
	// package documentation for the keys of each, and ParseFields.
	Fields string

	// Handlers receive every record too, after this package's own handler, redacted as
	// the JSON output is and carrying its correlation fields (see the package
	// documentation): a handler of the application's never sees a secret.
	Handlers []slog.Handler

	// Bridges receive every record as logged, unredacted, after Handlers. They are for
	// vigil's own bridges, which apply the same secret policy themselves and need the
	// original values: the errors package's Sentry bridge reads an error's type, chain
	// and stack trace. Package observe plugs it in here.
	Bridges []slog.Handler
}

// resolved is Config after defaults are applied.
type resolved struct {
	level                         slog.Leveler
	format                        string
	out                           io.Writer
	addSource                     bool
	matcher                       *scrub.Matcher
	service, version, environment string
	fields                        string
}

func (c Config) resolve() (resolved, error) {
	errs := &conferr.Error{Part: "logging"}
	r := resolved{
		level:       c.Level,
		out:         c.Output,
		addSource:   c.AddSource,
		service:     c.Service,
		version:     c.Version,
		environment: c.Environment,
	}
	if r.out == nil {
		r.out = os.Stdout
	}
	if r.level == nil {
		r.level = slog.LevelInfo
	}
	r.format = "json"
	if c.Format != "" {
		f, err := ParseFormat(c.Format)
		if err != nil {
			errs.Add("Format", c.Format, err.Error())
		}
		r.format = f
	}
	r.fields = "vigil"
	if c.Fields != "" {
		f, err := ParseFields(c.Fields)
		if err != nil {
			errs.Add("Fields", c.Fields, err.Error())
		}
		r.fields = f
	}
	for i, k := range c.RedactKeys {
		if strings.TrimSpace(k) == "" {
			errs.Add(fmt.Sprintf("RedactKeys[%d]", i), k, "want a non-empty name")
		}
	}
	for i, k := range c.AllowKeys {
		if strings.TrimSpace(k) == "" {
			errs.Add(fmt.Sprintf("AllowKeys[%d]", i), k, "want a non-empty name")
		}
	}
	r.matcher = scrub.Shared(c.RedactKeys, c.AllowKeys)
	return r, errs.Err()
}

// ParseLevel parses a level name as slog does ("debug", "INFO", "warn+2", "ERROR-1").
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, errors.New("want debug, info, warn or error (optionally +N/-N)")
	}
	return l, nil
}

// ParseFormat parses an output format name: "json" or "text", in any case.
func ParseFormat(s string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(s)); f {
	case "json", "text":
		return f, nil
	}
	return "json", errors.New("want json or text")
}

// NewHandler returns the handler described by cfg: JSON (or text) with service fields,
// trace correlation, context attributes and redaction, fanned out to cfg.Handlers
// (through one handler that redacts and correlates each record once for all of them)
// and cfg.Bridges.
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
	if len(cfg.Handlers) == 0 && len(cfg.Bridges) == 0 {
		return h, nil
	}
	hs := []slog.Handler{h}
	if len(cfg.Handlers) > 0 {
		hs = append(hs, newFanout(r, cfg.Handlers))
	}
	return slogmulti.Fanout(append(hs, cfg.Bridges...)...), nil
}

// New returns a *slog.Logger over NewHandler(cfg).
func New(cfg Config) (*slog.Logger, error) {
	h, err := NewHandler(cfg)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}
