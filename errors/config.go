package errors

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	stderrors "errors"

	"github.com/getsentry/sentry-go"
)

// Config configures the Reporter. Fields win over the environment variables named in
// their comments, which win over defaults. The zero Config logs every capture and sends
// nothing (no DSN).
type Config struct {
	// DSN is the Sentry project's DSN (SENTRY_DSN). Empty means log only.
	// Environment (SENTRY_ENVIRONMENT) and Release (SENTRY_RELEASE) tag every event.
	DSN, Environment, Release string
	// Service names the program (a tag and the server name).
	Service string
	// SampleRate is the fraction of events sent, in (0, 1]; 0 means 1 (send all)
	// (VIGIL_SENTRY_SAMPLE_RATE).
	SampleRate float64
	// Debug logs sentry-go's own diagnostics through Logger at debug level
	// (VIGIL_SENTRY_DEBUG).
	Debug bool
	// DedupWindow: identical errors (same type, message and stack) inside it are sent
	// once; the next event after the window carries the number suppressed. 0 means 30s,
	// negative disables (VIGIL_SENTRY_DEDUP_WINDOW; "0" there disables).
	DedupWindow time.Duration
	// MaxEventsPerSecond caps the events sent, over all errors (a token bucket with a
	// burst of one second's worth). 0 means 20, negative disables
	// (VIGIL_SENTRY_MAX_EVENTS_PER_SECOND; "0" there disables).
	MaxEventsPerSecond float64
	// BeforeSend may modify or drop (return nil) an event; it runs on the sending
	// goroutine, before scrubbing, so it never sees more than Sentry would.
	BeforeSend func(*sentry.Event, *sentry.EventHint) *sentry.Event
	// Transport replaces the HTTP transport (tests, custom delivery).
	Transport sentry.Transport
	// SendDefaultPII sends the client IP (and IP-revealing headers). Secrets named by the
	// scrub rules stay redacted regardless (VIGIL_SENTRY_SEND_DEFAULT_PII).
	SendDefaultPII bool
	// RedactKeys are name patterns scrubbed in addition to the built-in ones (the
	// logging package's VIGIL_LOG_REDACT is honoured too, so both agree).
	RedactKeys []string
	// Logger receives the error line every capture writes. Nil means slog.Default().
	Logger *slog.Logger

	// QueueSize bounds the events waiting to be sent; a full queue drops (and counts)
	// new events instead of blocking the caller. 0 means 100 (VIGIL_SENTRY_QUEUE_SIZE).
	QueueSize int
	// Timeout bounds one HTTP request to Sentry. 0 means 5s (VIGIL_SENTRY_TIMEOUT).
	Timeout time.Duration
}

// Environment variables read by this package.
const (
	EnvDSN            = "SENTRY_DSN"
	EnvEnvironment    = "SENTRY_ENVIRONMENT"
	EnvRelease        = "SENTRY_RELEASE"
	EnvSampleRate     = "VIGIL_SENTRY_SAMPLE_RATE"
	EnvDebug          = "VIGIL_SENTRY_DEBUG"
	EnvDedupWindow    = "VIGIL_SENTRY_DEDUP_WINDOW"
	EnvMaxEventsPerS  = "VIGIL_SENTRY_MAX_EVENTS_PER_SECOND"
	EnvSendDefaultPII = "VIGIL_SENTRY_SEND_DEFAULT_PII"
	EnvQueueSize      = "VIGIL_SENTRY_QUEUE_SIZE"
	EnvTimeout        = "VIGIL_SENTRY_TIMEOUT"
	// EnvRedact is the logging package's variable; both packages scrub the same names.
	EnvRedact = "VIGIL_LOG_REDACT"
)

const (
	defaultDedupWindow = 30 * time.Second
	defaultMaxPerSec   = 20
	defaultQueueSize   = 100
	defaultTimeout     = 5 * time.Second
)

// resolve applies environment and defaults and validates. Disabled limits come out as
// zero (dedup window, rate) so the hot path tests one number.
func (c Config) resolve() (Config, error) {
	var errs []error
	env := func(name string) (string, bool) {
		v, ok := os.LookupEnv(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	dsnField := "errors.DSN"
	if c.DSN == "" {
		if v, ok := env(EnvDSN); ok {
			c.DSN, dsnField = v, EnvDSN
		}
	}
	if c.DSN != "" {
		if err := validateDSN(dsnField, c.DSN); err != nil {
			errs = append(errs, err)
			c.DSN = ""
		}
	}
	if c.Environment == "" {
		c.Environment, _ = env(EnvEnvironment)
	}
	if c.Release == "" {
		c.Release, _ = env(EnvRelease)
	}

	if c.SampleRate == 0 {
		if v, ok := env(EnvSampleRate); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f > 0 && f <= 1) {
				errs = append(errs, fmt.Errorf("%s=%q: want a number in (0, 1]", EnvSampleRate, v))
			} else {
				c.SampleRate = f
			}
		}
	} else if !(c.SampleRate > 0 && c.SampleRate <= 1) {
		errs = append(errs, fmt.Errorf("errors.SampleRate=%v: want a number in (0, 1]", c.SampleRate))
	}
	if c.SampleRate == 0 {
		c.SampleRate = 1
	}

	if !c.Debug {
		if v, ok := env(EnvDebug); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", EnvDebug, v))
			}
			c.Debug = b
		}
	}
	if !c.SendDefaultPII {
		if v, ok := env(EnvSendDefaultPII); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", EnvSendDefaultPII, v))
			}
			c.SendDefaultPII = b
		}
	}

	if c.DedupWindow == 0 {
		c.DedupWindow = defaultDedupWindow
		if v, ok := env(EnvDedupWindow); ok {
			d, err := time.ParseDuration(v)
			switch {
			case err != nil || d < 0:
				errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 30s (0 disables)", EnvDedupWindow, v))
			case d == 0:
				c.DedupWindow = -1
			default:
				c.DedupWindow = d
			}
		}
	}
	if c.DedupWindow < 0 {
		c.DedupWindow = 0
	}

	if c.MaxEventsPerSecond == 0 {
		c.MaxEventsPerSecond = defaultMaxPerSec
		if v, ok := env(EnvMaxEventsPerS); ok {
			f, err := strconv.ParseFloat(v, 64)
			switch {
			case err != nil || f < 0 || f != f:
				errs = append(errs, fmt.Errorf("%s=%q: want a number of events per second (0 disables)", EnvMaxEventsPerS, v))
			case f == 0:
				c.MaxEventsPerSecond = -1
			default:
				c.MaxEventsPerSecond = f
			}
		}
	}
	if c.MaxEventsPerSecond != c.MaxEventsPerSecond {
		errs = append(errs, fmt.Errorf("errors.MaxEventsPerSecond=NaN: want a number"))
	}
	if c.MaxEventsPerSecond < 0 {
		c.MaxEventsPerSecond = 0
	}

	if c.QueueSize == 0 {
		c.QueueSize = defaultQueueSize
		if v, ok := env(EnvQueueSize); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive integer", EnvQueueSize, v))
			} else {
				c.QueueSize = n
			}
		}
	} else if c.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("errors.QueueSize=%d: want a positive integer", c.QueueSize))
	}

	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
		if v, ok := env(EnvTimeout); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 5s", EnvTimeout, v))
			} else {
				c.Timeout = d
			}
		}
	} else if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("errors.Timeout=%v: want a positive duration", c.Timeout))
	}

	for i, k := range c.RedactKeys {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("errors.RedactKeys[%d]=%q: want a non-empty pattern", i, k))
		}
	}
	if v, ok := env(EnvRedact); ok {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				c.RedactKeys = append(c.RedactKeys, k)
			}
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, stderrors.Join(errs...)
}

func validateDSN(name, dsn string) error {
	if _, err := sentry.NewDsn(dsn); err != nil {
		return fmt.Errorf("%s=%q: invalid Sentry DSN: %s", name, MaskDSN(dsn), maskedReason(err, dsn))
	}
	return nil
}

// maskedReason keeps sentry-go's explanation but never echoes the key it may contain.
func maskedReason(err error, dsn string) string {
	msg := strings.TrimPrefix(err.Error(), "[Sentry] DsnParseError: ")
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if k := u.User.Username(); len(k) > 4 {
			msg = strings.ReplaceAll(msg, k, maskKey(k))
		}
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "****")
		}
	}
	return msg
}

// MaskDSN returns dsn with its public key shortened to its first four characters and
// its secret key removed, for error messages and logs.
func MaskDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		// Unparseable: show only the part after the last '@', if any.
		if i := strings.LastIndex(dsn, "@"); i >= 0 {
			return "****@" + dsn[i+1:]
		}
		return dsn
	}
	key := maskKey(u.User.Username())
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(key, "****")
	} else {
		u.User = url.User(key)
	}
	return strings.ReplaceAll(u.String(), "%2A", "*")
}

func maskKey(k string) string {
	if len(k) <= 4 {
		return "****"
	}
	return k[:4] + "****"
}
