package metrics

import (
	"errors"
	"fmt"
	"github.com/vigil-go/vigil/internal/scrub"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config configures the Registry. The zero Config works: Prometheus only, with the Go,
// process and host collectors. Fields win over VIGIL_* variables, which win over
// defaults.
type Config struct {
	// SeriesLimit caps the series of each family (VIGIL_METRICS_SERIES_LIMIT, default
	// 2000); label values beyond it share one overflow series.
	SeriesLimit int
	StatsD      StatsDConfig
	Push        PushConfig
	Graphite    GraphiteConfig

	// The collectors are on unless disabled here or by VIGIL_METRICS_GO,
	// VIGIL_METRICS_PROCESS or VIGIL_METRICS_HOST set to false.
	DisableGoCollector, DisableProcessCollector, DisableHostCollector bool

	// IgnoreEnv skips the VIGIL_* variables: only the fields count. For private
	// registries that must never start a backend.
	IgnoreEnv bool

	// RedactKeys are secret-name patterns added to the built-in ones (also
	// VIGIL_LOG_REDACT, comma separated, shared with logging and errors): the values of
	// a label so named are exported as "[REDACTED]", one series for all of them.
	RedactKeys []string

	// Service is the default Pushgateway job name.
	Service string
	// Logger receives the registry's own warnings (misuse, overflow, dead backends),
	// each kind once; nil means slog.Default().
	Logger *slog.Logger
}

// StatsDConfig configures the StatsD backend (VIGIL_STATSD_*). It is off unless Addr is set.
type StatsDConfig struct {
	Addr          string        // host:port (UDP); VIGIL_STATSD_ADDR
	Format        string        // dogstatsd (default) | influx | graphite | plain; VIGIL_STATSD_FORMAT
	Prefix        string        // prepended to every name, "." joined; VIGIL_STATSD_PREFIX
	FlushInterval time.Duration // aggregation window, default 1s; VIGIL_STATSD_FLUSH_INTERVAL
	MaxPacketSize int           // bytes per UDP packet, default 1432; VIGIL_STATSD_MAX_PACKET_SIZE
}

// PushConfig configures the Pushgateway (VIGIL_PUSHGATEWAY_*). It is off unless URL is set.
type PushConfig struct {
	URL      string        // VIGIL_PUSHGATEWAY_URL
	Job      string        // VIGIL_PUSHGATEWAY_JOB, default Config.Service
	Interval time.Duration // between pushes, default 15s; VIGIL_PUSHGATEWAY_INTERVAL
	// Grouping adds grouping labels (for example instance) to the push URL.
	Grouping map[string]string
}

// GraphiteConfig configures the Graphite plaintext push through client_golang's graphite
// bridge (VIGIL_GRAPHITE_*). It is off unless Addr is set.
type GraphiteConfig struct {
	Addr     string        // host:port (TCP); VIGIL_GRAPHITE_ADDR
	Prefix   string        // VIGIL_GRAPHITE_PREFIX
	Interval time.Duration // default 15s; VIGIL_GRAPHITE_INTERVAL
}

// Environment variables read by New.
const (
	EnvSeriesLimit     = "VIGIL_METRICS_SERIES_LIMIT"
	EnvGoCollector     = "VIGIL_METRICS_GO"
	EnvProcess         = "VIGIL_METRICS_PROCESS"
	EnvHost            = "VIGIL_METRICS_HOST"
	EnvStatsDAddr      = "VIGIL_STATSD_ADDR"
	EnvStatsDFormat    = "VIGIL_STATSD_FORMAT"
	EnvStatsDPrefix    = "VIGIL_STATSD_PREFIX"
	EnvStatsDFlush     = "VIGIL_STATSD_FLUSH_INTERVAL"
	EnvStatsDMaxPacket = "VIGIL_STATSD_MAX_PACKET_SIZE"
	EnvPushURL         = "VIGIL_PUSHGATEWAY_URL"
	// EnvRedact is the logging package's variable: every part redacts the same names.
	EnvRedact         = "VIGIL_LOG_REDACT"
	EnvPushJob        = "VIGIL_PUSHGATEWAY_JOB"
	EnvPushInterval   = "VIGIL_PUSHGATEWAY_INTERVAL"
	EnvGraphiteAddr   = "VIGIL_GRAPHITE_ADDR"
	EnvGraphitePrefix = "VIGIL_GRAPHITE_PREFIX"
	EnvGraphiteIntvl  = "VIGIL_GRAPHITE_INTERVAL"
)

// Defaults.
const (
	DefaultSeriesLimit   = 2000
	DefaultFlushInterval = time.Second
	DefaultMaxPacketSize = 1432 // fits a 1500-byte Ethernet MTU after IP and UDP headers
	DefaultPushInterval  = 15 * time.Second
)

// resolve fills cfg from the environment and defaults and validates it; the error names
// every bad field or variable with its value.
func (cfg Config) resolve() (Config, error) {
	var errs []error
	bad := func(name string, v any, why string) {
		errs = append(errs, fmt.Errorf("metrics: %s = %q: %s", name, fmt.Sprint(v), why))
	}
	envInt := func(name string, dst *int) {
		if s := os.Getenv(name); s != "" && *dst == 0 {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				bad(name, s, "not an integer")
				return
			}
			if n == 0 {
				// 0 would silently mean the default; unsetting the variable says that.
				bad(name, s, "must not be 0 (unset the variable for the default)")
				return
			}
			*dst = n
		}
	}
	envDur := func(name string, dst *time.Duration) {
		if s := os.Getenv(name); s != "" && *dst == 0 {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				bad(name, s, "not a duration (like 10s)")
				return
			}
			if d == 0 {
				bad(name, s, "must not be 0 (unset the variable for the default)")
				return
			}
			*dst = d
		}
	}
	envStr := func(name string, dst *string) {
		if *dst == "" {
			*dst = strings.TrimSpace(os.Getenv(name))
		}
	}
	envOff := func(name string, dst *bool) {
		if s := os.Getenv(name); s != "" && !*dst {
			on, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				bad(name, s, "want true or false")
				return
			}
			*dst = !on
		}
	}

	if cfg.IgnoreEnv {
		envInt = func(string, *int) {}
		envDur = func(string, *time.Duration) {}
		envStr = func(string, *string) {}
		envOff = func(string, *bool) {}
	}
	for i, k := range cfg.RedactKeys {
		if strings.TrimSpace(k) == "" {
			bad(fmt.Sprintf("RedactKeys[%d]", i), k, "want a non-empty pattern")
		}
	}
	if !cfg.IgnoreEnv {
		for _, k := range strings.Split(os.Getenv(EnvRedact), ",") {
			if k = strings.TrimSpace(k); k != "" {
				cfg.RedactKeys = append(cfg.RedactKeys, k)
			}
		}
	}
	envInt(EnvSeriesLimit, &cfg.SeriesLimit)
	envOff(EnvGoCollector, &cfg.DisableGoCollector)
	envOff(EnvProcess, &cfg.DisableProcessCollector)
	envOff(EnvHost, &cfg.DisableHostCollector)
	s := &cfg.StatsD
	envStr(EnvStatsDAddr, &s.Addr)
	envStr(EnvStatsDFormat, &s.Format)
	envStr(EnvStatsDPrefix, &s.Prefix)
	envDur(EnvStatsDFlush, &s.FlushInterval)
	envInt(EnvStatsDMaxPacket, &s.MaxPacketSize)
	p := &cfg.Push
	envStr(EnvPushURL, &p.URL)
	envStr(EnvPushJob, &p.Job)
	envDur(EnvPushInterval, &p.Interval)
	g := &cfg.Graphite
	envStr(EnvGraphiteAddr, &g.Addr)
	envStr(EnvGraphitePrefix, &g.Prefix)
	envDur(EnvGraphiteIntvl, &g.Interval)

	switch {
	case cfg.SeriesLimit == 0:
		cfg.SeriesLimit = DefaultSeriesLimit
	case cfg.SeriesLimit < 1:
		bad("SeriesLimit ("+EnvSeriesLimit+")", cfg.SeriesLimit, "must be at least 1")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	if s.Format == "" {
		s.Format = "dogstatsd"
	}
	if _, ok := formats[s.Format]; !ok {
		bad("StatsD.Format ("+EnvStatsDFormat+")", s.Format, "want dogstatsd, influx, graphite or plain")
	}
	if s.Addr != "" {
		if _, _, err := splitHostPort(s.Addr); err != nil {
			bad("StatsD.Addr ("+EnvStatsDAddr+")", s.Addr, err.Error())
		}
	}
	switch {
	case s.FlushInterval == 0:
		s.FlushInterval = DefaultFlushInterval
	case s.FlushInterval < 10*time.Millisecond:
		bad("StatsD.FlushInterval ("+EnvStatsDFlush+")", s.FlushInterval, "must be at least 10ms")
	}
	switch {
	case s.MaxPacketSize == 0:
		s.MaxPacketSize = DefaultMaxPacketSize
	case s.MaxPacketSize < 64 || s.MaxPacketSize > 65507:
		bad("StatsD.MaxPacketSize ("+EnvStatsDMaxPacket+")", s.MaxPacketSize, "must be between 64 and 65507")
	}

	if p.URL != "" {
		if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("Push.URL ("+EnvPushURL+")", redactUserinfo(p.URL), "want an http(s) URL")
		}
	}
	if p.Job == "" {
		p.Job = cfg.Service
	}
	if p.URL != "" && p.Job == "" {
		bad("Push.Job ("+EnvPushJob+")", p.Job, "required with a Pushgateway URL (or set Service)")
	}
	switch {
	case p.Interval == 0:
		p.Interval = DefaultPushInterval
	case p.Interval < 0:
		bad("Push.Interval ("+EnvPushInterval+")", p.Interval, "must be positive")
	}

	if g.Addr != "" {
		if _, _, err := splitHostPort(g.Addr); err != nil {
			bad("Graphite.Addr ("+EnvGraphiteAddr+")", g.Addr, err.Error())
		}
	}
	switch {
	case g.Interval == 0:
		g.Interval = DefaultPushInterval
	case g.Interval < 0:
		bad("Graphite.Interval ("+EnvGraphiteIntvl+")", g.Interval, "must be positive")
	}
	return cfg, errors.Join(errs...)
}

// redactUserinfo keeps a password in a URL out of error messages, even when the URL does
// not parse (the text between "//" and the last '@' before the path is the userinfo).
func redactUserinfo(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "//")
	if !ok {
		return raw
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	at := strings.LastIndex(host, "@")
	if at < 0 {
		return raw
	}
	return scheme + "//" + scrub.Redacted + rest[at:]
}
