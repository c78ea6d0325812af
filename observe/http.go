package observe

import (
	"context"
	"net/http"
	"strings"

	"github.com/vigil-go/vigil/middleware"
)

// HTTPConfig configures Middleware and Transport. The zero value instruments everything
// with the defaults described in package middleware.
type HTTPConfig struct {
	// Skip lists exact paths that get no access-log line and no span (they are still
	// counted). Nil means VIGIL_HTTP_SKIP (comma separated, "none" for nothing), else
	// /healthz, /readyz, /livez and /metrics; an empty non-nil slice skips nothing.
	Skip []string
	// Route returns the matched route for routers other than http.ServeMux; it runs
	// after routing. See middleware.HTTPConfig.Route.
	Route func(*http.Request) string
	// MetricsOnly records metrics and nothing else (also VIGIL_HTTP_METRICS_ONLY=true).
	MetricsOnly bool
	// DisableAccessLog drops the per-request log line (also VIGIL_HTTP_ACCESS_LOG=false).
	DisableAccessLog bool
	// RequestIDHeader names the request-id header; "" means VIGIL_HTTP_REQUEST_ID_HEADER,
	// else X-Request-ID.
	RequestIDHeader string
	// DurationBuckets overrides the request-duration histogram buckets, in seconds.
	DurationBuckets []float64
}

// Environment variables that fill HTTPConfig (see the settings table).
const (
	EnvHTTPSkip            = "VIGIL_HTTP_SKIP"
	EnvHTTPMetricsOnly     = "VIGIL_HTTP_METRICS_ONLY"
	EnvHTTPAccessLog       = "VIGIL_HTTP_ACCESS_LOG"
	EnvHTTPRequestIDHeader = "VIGIL_HTTP_REQUEST_ID_HEADER"
)

type httpParts struct {
	mw *middleware.HTTP
}

// headerName reports whether s is an HTTP field name (RFC 9110 token).
func headerName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

func (o *Observer) initHTTP(context.Context) error {
	cfg := o.cfg.HTTP
	mcfg := middleware.HTTPConfig{
		Registry:        o.registry,
		Propagator:      o.propagator,
		Logger:          o.base, // not the app logger: 5xx lines must not become Sentry events twice
		Capture:         o.Capture,
		Route:           cfg.Route,
		Skip:            cfg.Skip,
		MetricsOnly:     cfg.MetricsOnly,
		RequestIDHeader: cfg.RequestIDHeader,
		DurationBuckets: cfg.DurationBuckets,
		RedactKeys:      o.redactKeys(),
		AllowKeys:       o.allowKeys(),
	}
	if o.tracer != nil { // nil only when tracing failed to start; Init fails then anyway
		mcfg.TracerProvider = o.tracer.TracerProvider()
	}
	if cfg.DisableAccessLog {
		mcfg.Logger = nil
	}
	mw, err := middleware.NewHTTP(mcfg)
	if err != nil {
		// Keep Middleware usable; New reports the error and shuts down.
		mw, _ = middleware.NewHTTP(middleware.HTTPConfig{})
		o.http = &httpParts{mw: mw}
		return err
	}
	o.http = &httpParts{mw: mw}
	return nil
}

// Middleware wraps next with all per-request telemetry: request id, server span, metrics,
// access log, error scope and panic recovery (see package middleware).
func (o *Observer) Middleware(next http.Handler) http.Handler {
	if o.http == nil || o.http.mw == nil { // only the logging-only fallback
		return next
	}
	return o.withHealth(o.withConsole(o.http.mw.Handler(next))) // console.go, health.go: unchanged when off
}

// Transport wraps base (nil means http.DefaultTransport) with a client span, trace
// context propagation and the client duration histogram.
func (o *Observer) Transport(base http.RoundTripper) http.RoundTripper {
	if o.http == nil || o.http.mw == nil {
		if base == nil {
			base = http.DefaultTransport
		}
		return base
	}
	return o.http.mw.Transport(base)
}

// Middleware wraps next with the default Observer's per-request telemetry. The default
// is resolved at each request (one atomic load), so a handler wrapped before Init is
// instrumented by the Init'd Observer from then on, and by the fallback again after
// Shutdown.
func Middleware(next http.Handler) http.Handler {
	return &defaultMiddleware{build: func(o *Observer) http.Handler { return o.Middleware(next) }}
}

type defaultMiddleware struct {
	h     perDefault[http.Handler]
	build func(*Observer) http.Handler
}

func (m *defaultMiddleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.h.get(Default(), m.build).ServeHTTP(w, r)
}

// Transport wraps base with the default Observer's client instrumentation, resolved at
// each request like Middleware's.
func Transport(base http.RoundTripper) http.RoundTripper {
	return &defaultTransport{base: base, build: func(o *Observer) http.RoundTripper { return o.Transport(base) }}
}

type defaultTransport struct {
	base  http.RoundTripper
	rt    perDefault[http.RoundTripper]
	build func(*Observer) http.RoundTripper
}

func (t *defaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.rt.get(Default(), t.build).RoundTrip(req)
}

// CloseIdleConnections closes base's idle connections, as http.Client.CloseIdleConnections
// expects of a transport.
func (t *defaultTransport) CloseIdleConnections() {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if c, ok := base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
