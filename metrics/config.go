package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-go/vigil/internal/conferr"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Config configures the Registry. The zero Config works: Prometheus only, with the Go,
// process and host collectors. This package reads no environment variable: package
// observe maps VIGIL_METRICS_*, VIGIL_STATSD_*, VIGIL_PUSHGATEWAY_* and VIGIL_GRAPHITE_*
// onto these fields.
type Config struct {
	// SeriesLimit caps the series of each family (default 2000); label values beyond it
	// share one overflow series.
	SeriesLimit int
	StatsD      StatsDConfig
	Push        PushConfig
	Graphite    GraphiteConfig

	// The collectors are on unless disabled here.
	DisableGoCollector, DisableProcessCollector, DisableHostCollector bool

	// IgnoreEnv does nothing.
	//
	// Deprecated: the package never reads the environment; package observe does.
	IgnoreEnv bool

	// RedactKeys are secret names added to the built-in ones, and AllowKeys names that
	// only look secret and are kept: the values of a label so named are exported as
	// "[REDACTED]", one series for all of them. Observe hands every part the same
	// merged lists.
	RedactKeys, AllowKeys []string

	// Service is the default Pushgateway job name. Service, Environment and Version are
	// also the unified service tags (service, env, version, as Datadog names them) of every
	// StatsD line in the dialects with tags; an empty one is left out. Package observe
	// fills them from its own Config and the environment (DD_SERVICE, DD_ENV and
	// DD_VERSION last).
	Service, Environment, Version string
	// Gatherers are served by Handler and Gatherer after the registry's own families,
	// each family once (the first gatherer that has it wins). Package observe passes
	// prometheus.DefaultGatherer, so that what the program registers with
	// prometheus.MustRegister or promauto shows up beside vigil's metrics.
	Gatherers []prometheus.Gatherer
	// Logger receives the registry's own warnings (misuse, overflow, dead backends),
	// each kind once; nil means slog.Default().
	Logger *slog.Logger
}

// StatsDConfig configures the StatsD backend. It is off unless Addr is set.
type StatsDConfig struct {
	// Addr is host:port or udp://host:port (UDP), or a Unix domain socket:
	// unixgram:///path, unixstream:///path, or unix:///path (datagram, else stream); see
	// ParseStatsDAddr.
	Addr          string
	Format        string        // dogstatsd (default) | influx | graphite | plain; see ParseStatsDFormat
	Prefix        string        // prepended to every name, "." joined
	FlushInterval time.Duration // aggregation window, default 1s
	// MaxPacketSize bounds a packet: default 1432 bytes over UDP (one Ethernet frame),
	// 8192 over a Unix socket (the Datadog Agent's default buffer).
	MaxPacketSize int
	// Distributions sends histogram and timer samples as DogStatsD distributions ("|d"),
	// aggregated by Datadog across hosts, instead of "|h" and "|ms" (aggregated per
	// Agent). Other dialects have no distribution type and ignore it.
	Distributions bool
	// OneValuePerLine sends one sample per line. By default the samples of a series in a
	// flush share lines: "name:1:2:3|ms|#tags" in DogStatsD (protocol v1.1: Datadog Agent
	// 6.25 and 7.25 or later), "name:1|ms:2|ms:3|ms" otherwise (the Etsy daemon, Telegraf).
	// Set it for servers that read DogStatsD tags but not v1.1, such as the Etsy daemon.
	OneValuePerLine bool
}

// PushConfig configures the Pushgateway. It is off unless URL is set.
type PushConfig struct {
	URL      string        // the Pushgateway's base URL; userinfo is sent as basic auth
	Job      string        // default Config.Service
	Interval time.Duration // between pushes, default 15s
	// Grouping adds grouping labels (for example instance) to the push URL.
	Grouping map[string]string
}

// GraphiteConfig configures the Graphite plaintext push through client_golang's graphite
// bridge. It is off unless Addr is set.
type GraphiteConfig struct {
	Addr     string        // host:port (TCP)
	Prefix   string        // prepended to every path
	Interval time.Duration // default 15s
}

// Defaults.
const (
	DefaultSeriesLimit    = 2000
	DefaultFlushInterval  = time.Second
	DefaultMaxPacketSize  = 1432 // fits a 1500-byte Ethernet MTU after IP and UDP headers
	DefaultUnixPacketSize = 8192 // the Datadog Agent's dogstatsd_buffer_size
	DefaultPushInterval   = 15 * time.Second
)

// ParseStatsDFormat parses a StatsD line format name: dogstatsd, influx, graphite or
// plain, in any case.
func ParseStatsDFormat(s string) (string, error) {
	f := strings.ToLower(strings.TrimSpace(s))
	if _, ok := formats[f]; !ok {
		return "", errors.New("want dogstatsd, influx, graphite or plain")
	}
	return f, nil
}

// ParseAddr checks a Graphite address: host:port with a numeric port. StatsD addresses
// take ParseStatsDAddr, which also accepts Unix sockets.
func ParseAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if _, _, err := splitHostPort(s); err != nil {
		return "", err
	}
	return s, nil
}

// ParsePushURL checks a Pushgateway URL: http or https with a host. The error never
// quotes the URL, which may carry a password.
func ParsePushURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("want an http(s) URL")
	}
	return s, nil
}

// resolve fills cfg with defaults and validates it; the error names every bad field
// with its value.
func (cfg Config) resolve() (Config, error) {
	errs := &conferr.Error{Part: "metrics"}
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
	switch {
	case cfg.SeriesLimit == 0:
		cfg.SeriesLimit = DefaultSeriesLimit
	case cfg.SeriesLimit < 1:
		errs.Add("SeriesLimit", cfg.SeriesLimit, "must be at least 1")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	s := &cfg.StatsD
	if s.Format == "" {
		s.Format = "dogstatsd"
	}
	if _, ok := formats[s.Format]; !ok {
		errs.Add("StatsD.Format", s.Format, "want dogstatsd, influx, graphite or plain")
	}
	var target statsdTarget
	if s.Addr != "" {
		var err error
		if target, err = parseStatsDAddr(s.Addr); err != nil {
			errs.Add("StatsD.Addr", s.Addr, err.Error())
		}
	}
	switch {
	case s.FlushInterval == 0:
		s.FlushInterval = DefaultFlushInterval
	case s.FlushInterval < 10*time.Millisecond:
		errs.Add("StatsD.FlushInterval", s.FlushInterval, "must be at least 10ms")
	}
	switch {
	case s.MaxPacketSize == 0 && target.unix():
		s.MaxPacketSize = DefaultUnixPacketSize
	case s.MaxPacketSize == 0:
		s.MaxPacketSize = DefaultMaxPacketSize
	case s.MaxPacketSize < 64 || s.MaxPacketSize > 65507:
		errs.Add("StatsD.MaxPacketSize", s.MaxPacketSize, "must be between 64 and 65507")
	}

	p := &cfg.Push
	if p.URL != "" {
		if _, err := ParsePushURL(p.URL); err != nil {
			errs.Add("Push.URL", scrub.RawURL(p.URL), err.Error())
		}
	}
	if p.Job == "" {
		p.Job = cfg.Service
	}
	if p.URL != "" && p.Job == "" {
		errs.Add("Push.Job", p.Job, "required with a Pushgateway URL (or set Service)")
	}
	switch {
	case p.Interval == 0:
		p.Interval = DefaultPushInterval
	case p.Interval < 0:
		errs.Add("Push.Interval", p.Interval, "must be positive")
	}

	g := &cfg.Graphite
	if g.Addr != "" {
		if _, _, err := splitHostPort(g.Addr); err != nil {
			errs.Add("Graphite.Addr", g.Addr, err.Error())
		}
	}
	switch {
	case g.Interval == 0:
		g.Interval = DefaultPushInterval
	case g.Interval < 0:
		errs.Add("Graphite.Interval", g.Interval, "must be positive")
	}
	return cfg, errs.Err()
}
