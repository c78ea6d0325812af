package errors

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/conferr"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Config configures the Reporter. The zero Config logs every capture and sends nothing
// (no DSN). This package reads no environment variable: package observe maps SENTRY_*
// and VIGIL_SENTRY_* onto these fields.
type Config struct {
	// DSN is the Sentry project's DSN. Empty means log only.
	// Environment and Release tag every event.
	DSN, Environment, Release string
	// Service names the program (a tag and the server name).
	Service string
	// SampleRate is the fraction of events sent, in (0, 1]; 0 means 1 (send all).
	SampleRate float64
	// Debug logs sentry-go's own diagnostics through Logger at debug level.
	Debug bool
	// DedupWindow: identical errors (same type, message and stack) inside it are sent
	// once; the next event after the window carries the number suppressed. 0 means 30s,
	// negative disables.
	DedupWindow time.Duration
	// MaxEventsPerSecond caps the events sent, over all errors (a token bucket with a
	// burst of one second's worth). 0 means 20, negative disables.
	MaxEventsPerSecond float64
	// BeforeSend may modify or drop (return nil) an event; it runs on the sending
	// goroutine, before scrubbing, so it never sees more than Sentry would.
	BeforeSend func(*sentry.Event, *sentry.EventHint) *sentry.Event
	// Transport replaces the HTTP transport (tests, custom delivery).
	Transport sentry.Transport
	// SendDefaultPII sends the client IP (and IP-revealing headers). Secrets named by the
	// scrub rules stay redacted regardless.
	SendDefaultPII bool
	// RedactKeys are secret names scrubbed in addition to the built-in ones, and
	// AllowKeys names that only look secret and are kept. Observe hands every part the
	// same merged lists, so all sinks agree.
	RedactKeys, AllowKeys []string
	// BreadcrumbLevel is the lowest level of a log record that becomes a breadcrumb of
	// the request's next event. Nil means every level the bridge sees; observe passes
	// the logging level, so records the log drops never reach Sentry either.
	BreadcrumbLevel slog.Leveler
	// Logger receives the error line every capture writes. Nil means slog.Default().
	Logger *slog.Logger

	// QueueSize bounds the events waiting to be sent; a full queue drops (and counts)
	// new events instead of blocking the caller. 0 means 100.
	QueueSize int
	// Timeout bounds one HTTP request to Sentry. 0 means 5s.
	Timeout time.Duration

	// Spotlight also posts a copy of every envelope to a Spotlight sidecar ("Sentry for
	// development"): "true" means http://localhost:8969/stream, a URL names another
	// sidecar; "" or "false" disables. It needs no DSN. The copy has its own small
	// queue: a slow or absent sidecar never delays Sentry, and its drops are counted
	// (Stats.SpotlightDropped).
	Spotlight string
	// ClientOptions, when set, is applied last to the options of the sentry.Client the
	// Reporter binds (Integrations, IgnoreErrors, ServerName, Dist, MaxErrorDepth, a
	// BeforeSend, a Transport, ...). vigil's safety still wraps what it returns: its
	// BeforeSend runs before vigil's scrubbing, and its Transport receives events only
	// through vigil's dedup, caps and bounded queue. A Dsn or SampleRate set here
	// replaces Config's.
	ClientOptions func(*sentry.ClientOptions)

	// OnEvent, when set, receives every event as it leaves for Sentry: after dedup,
	// sampling, the rate cap, BeforeSend and vigil's scrubbing, so it never sees more
	// than Sentry would. It is called on the sending goroutine whether or not a DSN is
	// set (a Reporter with OnEvent builds events even without one), must not block, and
	// must not modify the event. Package observe's dev console is its user.
	OnEvent func(*sentry.Event)
	// OnDuplicate, when set, is called with the id of the event that a capture repeats
	// when dedup suppresses it (see DedupWindow), on the capturing goroutine; it must
	// return at once. With OnEvent it lets a viewer count every occurrence of an error.
	OnDuplicate func(eventID string)
}

// DefaultSpotlightURL is where a Spotlight sidecar listens by default.
const DefaultSpotlightURL = "http://localhost:8969/stream"

// ParseSpotlight interprets a SENTRY_SPOTLIGHT value as the SDKs do: a boolean word
// (true/false, 1/0, yes/no, on/off) or the sidecar's URL. It returns the URL to post to,
// "" when disabled.
func ParseSpotlight(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "0", "no", "off", "n", "f":
		return "", nil
	case "true", "1", "yes", "on", "y", "t":
		return DefaultSpotlightURL, nil
	}
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("want true, false or an http(s) URL")
	}
	return u.String(), nil
}

const (
	defaultDedupWindow = 30 * time.Second
	defaultMaxPerSec   = 20
	defaultQueueSize   = 100
	defaultTimeout     = 5 * time.Second
)

// resolve applies defaults and validates. Disabled limits come out as zero (dedup
// window, rate) so the hot path tests one number.
func (c Config) resolve() (Config, error) {
	errs := &conferr.Error{Part: "errors"}
	if c.DSN != "" {
		if err := CheckDSN(c.DSN); err != nil {
			errs.Add("DSN", MaskDSN(c.DSN), err.Error())
			c.DSN = ""
		}
	}
	switch {
	case c.SampleRate == 0:
		c.SampleRate = 1
	case !(c.SampleRate > 0 && c.SampleRate <= 1):
		errs.Add("SampleRate", c.SampleRate, "want a number in (0, 1]")
		c.SampleRate = 1
	}
	switch {
	case c.DedupWindow == 0:
		c.DedupWindow = defaultDedupWindow
	case c.DedupWindow < 0:
		c.DedupWindow = 0
	}
	switch {
	case c.MaxEventsPerSecond != c.MaxEventsPerSecond:
		errs.Add("MaxEventsPerSecond", c.MaxEventsPerSecond, "want a number")
		c.MaxEventsPerSecond = defaultMaxPerSec
	case c.MaxEventsPerSecond == 0:
		c.MaxEventsPerSecond = defaultMaxPerSec
	case c.MaxEventsPerSecond < 0:
		c.MaxEventsPerSecond = 0
	}
	switch {
	case c.QueueSize == 0:
		c.QueueSize = defaultQueueSize
	case c.QueueSize < 0:
		errs.Add("QueueSize", c.QueueSize, "want a positive integer")
		c.QueueSize = defaultQueueSize
	}
	switch {
	case c.Timeout == 0:
		c.Timeout = defaultTimeout
	case c.Timeout < 0:
		errs.Add("Timeout", c.Timeout, "want a positive duration")
		c.Timeout = defaultTimeout
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
	if sp, err := ParseSpotlight(c.Spotlight); err != nil {
		errs.Add("Spotlight", scrub.RawURL(c.Spotlight), err.Error())
		c.Spotlight = ""
	} else {
		c.Spotlight = sp
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, errs.Err()
}

// CheckDSN reports whether dsn is a valid Sentry DSN. Its error never contains the
// DSN's keys, so it can be shown as it is.
func CheckDSN(dsn string) error {
	if _, err := sentry.NewDsn(dsn); err != nil {
		return fmt.Errorf("invalid Sentry DSN: %s", maskedReason(err))
	}
	return nil
}

// maskedReason keeps sentry-go's explanation but never the DSN it may quote: only the
// url.Parse failure quotes it, and its detail is dropped.
func maskedReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "[Sentry] DsnParseError: ")
	if strings.HasPrefix(msg, "invalid url") {
		return "not a URL"
	}
	return msg
}

// MaskDSN returns dsn with its public key shortened to its first four characters and
// its secret key removed, for error messages and logs. An unparseable dsn keeps only
// what follows its last '@', if anything.
func MaskDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil && (u.Scheme == "" || u.Host == "") {
		// Not a URL: any part of it may be the key.
		if i := strings.LastIndex(dsn, "@"); i >= 0 {
			return "****@" + scrub.RawURL(dsn[i+1:])
		}
		return "****"
	}
	if u.User == nil {
		return scrub.RawURL(dsn) // no key to mask
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
