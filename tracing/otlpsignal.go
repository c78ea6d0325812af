package tracing

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/vigil-go/vigil/internal/conferr"
	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/internal/worker"
)

// OTLP is where one signal (metrics or logs) is exported over OTLP. Fields left empty
// take the specification's defaults; package observe fills them from the
// OTEL_EXPORTER_OTLP_{METRICS,LOGS}_* variables and, for what those leave unset, from
// the generic OTEL_EXPORTER_OTLP_* ones. The exporters still read what no field covers
// (TLS files, client certificates, compression) from the environment themselves: vigil
// passes them no HTTP client and no TLS configuration.
type OTLP struct {
	// Endpoint is the signal's URL, used as is (an empty path means /v1/metrics or
	// /v1/logs), or host:port.
	Endpoint string
	// BaseEndpoint is a base URL to which the signal's path is appended for HTTP.
	BaseEndpoint string
	// Protocol is grpc, http/protobuf (default) or http/json (sent as protobuf for
	// metrics and logs, whose exporters have no JSON encoding).
	Protocol string
	// Headers are sent with every export.
	Headers map[string]string
	// Insecure sends to a host:port endpoint without TLS.
	Insecure bool
	// ExportTimeout bounds each export, retries included. Default 10s.
	ExportTimeout time.Duration
}

// otlpSettings is OTLP resolved.
type otlpSettings struct {
	protocol string
	endpoint string // full URL
	headers  map[string]string
	timeout  time.Duration
}

// resolveOTLP validates o for the signal whose HTTP path is path, adding problems to errs.
func resolveOTLP(o OTLP, path string, errs *conferr.Error) otlpSettings {
	s := otlpSettings{protocol: defaultProtocol, timeout: defaultTimeout}
	if o.Protocol != "" {
		if p, err := ParseProtocol(o.Protocol); err != nil {
			errs.Add("Protocol", o.Protocol, err.Error())
		} else {
			s.protocol = p
		}
	}
	host, p, insecure := "localhost:4318", path, true
	if s.protocol == "grpc" {
		host = "localhost:4317"
	}
	field, value := "Endpoint", o.Endpoint
	if value == "" {
		field, value = "BaseEndpoint", o.BaseEndpoint
	}
	if value != "" {
		h, up, ins, hasScheme, err := parseEndpoint(strings.TrimSpace(value))
		if err != nil {
			errs.Add(field, scrub.RawURL(value), err.Error())
		} else {
			host, insecure = h, o.Insecure
			if hasScheme {
				insecure = ins
			}
			switch {
			case field == "BaseEndpoint":
				p = strings.TrimSuffix(up, "/") + path
			case up == "" || up == "/":
				p = path
			default:
				p = up
			}
		}
	}
	scheme := "https"
	if insecure {
		scheme = "http"
	}
	s.endpoint = (&url.URL{Scheme: scheme, Host: host, Path: p}).String()
	s.headers = map[string]string{}
	for k, v := range o.Headers {
		if k == "" || strings.ContainsAny(k, "\r\n") || strings.ContainsAny(v, "\r\n") {
			errs.Add("Headers["+strconv.Quote(k)+"]", scrub.Redacted, "invalid header")
			continue
		}
		s.headers[k] = v
	}
	switch {
	case o.ExportTimeout < 0:
		errs.Add("ExportTimeout", o.ExportTimeout, "must be positive")
	case o.ExportTimeout > 0:
		s.timeout = o.ExportTimeout
	}
	return s
}

// SignalResource is the resource the meter and logger providers report: the one the
// tracer provider built from the same Config (service, version, environment,
// ResourceAttributes and the SDK's attributes), so that the three signals of a process
// join on it.
func SignalResource(cfg Config) *resource.Resource {
	return newResource(baseResource(cfg, maps.Clone(orEmpty(cfg.ResourceAttributes))))
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// ParseSignalExporters parses OTEL_METRICS_EXPORTER (allowed: otlp, prometheus,
// console, none) or OTEL_LOGS_EXPORTER (otlp, console, none), a comma list as the
// specification defines it: deduplicated, none alone meaning an empty list.
func ParseSignalExporters(v string, allowed ...string) ([]string, error) {
	var out []string
	none := false
	for _, e := range strings.Split(v, ",") {
		name := strings.ToLower(strings.TrimSpace(e))
		if name == "stdout" {
			name = "console"
		}
		switch {
		case name == ExporterNone:
			none = true
		case containsStr(allowed, name):
			out = appendOnce(out, name)
		default:
			return nil, errors.New("unknown exporter " + strconv.Quote(strings.TrimSpace(e)) + ": want " +
				strings.Join(allowed, ", ") + " or none")
		}
	}
	if none && len(out) > 0 {
		return nil, errors.New("none cannot be combined with other exporters")
	}
	return out, nil
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// signalStop runs shutdown (a provider's Shutdown, which flushes) under the worker
// protocol: shortly before ctx's deadline abort cancels the export in flight, so that
// the goroutine has returned, and the counts are final, when stop returns. It reports
// whether the shutdown was cut short or abandoned.
func signalStop(ctx context.Context, name string, abort context.CancelFunc, shutdown func(context.Context) error) (sdkErr, stopErr error) {
	var got atomic.Pointer[error]
	w := worker.Run(name, func(wctx context.Context, _ <-chan struct{}) {
		stop := context.AfterFunc(wctx, abort)
		defer stop()
		err := shutdown(wctx)
		got.Store(&err)
	})
	stopErr = w.Stop(ctx)
	abort()
	if e := got.Load(); e != nil {
		sdkErr = *e
	}
	return sdkErr, stopErr
}

// failureLog logs an export failure once per outage, and the recovery, and keeps the
// times of the last success and failure for ExportStatus (signalstatus.go).
type failureLog struct {
	mu      sync.Mutex
	failing bool
	lastErr error
	okAt    time.Time
	errAt   time.Time
}

func (f *failureLog) failed(err error) (first bool) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastErr, f.errAt = err, now
	first = !f.failing
	f.failing = true
	return first
}

func (f *failureLog) ok() (recovered bool) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.okAt = now
	recovered = f.failing
	f.failing = false
	return recovered
}

func (f *failureLog) last() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}
