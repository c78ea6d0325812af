package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/metrics"
)

// DefaultSkip lists the probe and scrape paths that get no access-log line and no span
// (they are still counted in the metrics) unless HTTPConfig.Skip says otherwise.
var DefaultSkip = []string{"/healthz", "/readyz", "/livez", "/metrics"}

// HTTPConfig configures NewHTTP. Every part is optional: a nil Registry records no
// metrics, a nil TracerProvider starts no spans, a nil Logger writes no access log.
type HTTPConfig struct {
	// Registry receives the server and client metrics.
	Registry *metrics.Registry
	// TracerProvider starts the server and client spans.
	TracerProvider trace.TracerProvider
	// Propagator extracts the caller's trace context and injects it into outgoing
	// requests. Nil means W3C Trace Context and Baggage.
	Propagator propagation.TextMapPropagator
	// Logger writes the access log. Use a vigil logging handler: it adds request_id,
	// route, trace_id and span_id from the context; other handlers will not.
	Logger *slog.Logger
	// Capture reports recovered panics with the request scope. Nil logs them with their
	// stack to Logger, or to slog.Default() when Logger is nil too.
	Capture CaptureFunc
	// Route returns the route of a routed request (it runs after the router did); nil
	// means the http.ServeMux pattern. Return "" when nothing matched. The value becomes
	// a metric label: return patterns, never raw paths. It reads the request the
	// middleware passes on; routers that keep their match elsewhere hand it over with
	// RouteFrom or SetRoute (see "Routers" in the package doc).
	Route func(*http.Request) string
	// Skip lists exact paths that get no access-log line and no span. Nil means
	// DefaultSkip; an empty non-nil slice skips nothing.
	Skip []string
	// MetricsOnly records the metrics and nothing else: no request id, span, access log,
	// context or panic recovery (panics are counted as 500 and propagate). It is the
	// cheap replacement for promhttp's handler instrumentation.
	MetricsOnly bool
	// RequestIDHeader names the header an inbound request id is read from and echoed
	// in; "" means X-Request-ID.
	RequestIDHeader string
	// DurationBuckets and SizeBuckets override the histogram buckets (seconds, bytes).
	DurationBuckets, SizeBuckets []float64
	// RedactKeys adds query-parameter names to redact in logs and spans; AllowKeys names
	// that only look secret (the secret policy of internal/scrub: observe passes its one
	// merged list to every part).
	RedactKeys, AllowKeys []string
}

// DefaultDurationBuckets follow OpenTelemetry's advice for HTTP durations, in seconds.
var DefaultDurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// DefaultSizeBuckets cover bodies from nothing to 64 MiB, in bytes.
var DefaultSizeBuckets = []float64{0, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20}

func (c HTTPConfig) validate() error {
	var errs []string
	if c.RequestIDHeader != "" && !validToken(c.RequestIDHeader) {
		errs = append(errs, fmt.Sprintf("HTTPConfig.RequestIDHeader = %q: not a header name", c.RequestIDHeader))
	}
	for i, p := range c.Skip {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Sprintf("HTTPConfig.Skip[%d] = %q: must be a path starting with /", i, p))
		}
	}
	for _, b := range []struct {
		name string
		v    []float64
	}{{"DurationBuckets", c.DurationBuckets}, {"SizeBuckets", c.SizeBuckets}} {
		if b.v != nil && !increasing(b.v) {
			errs = append(errs, fmt.Sprintf("HTTPConfig.%s = %v: must be non-empty and strictly increasing", b.name, b.v))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("middleware: %s", strings.Join(errs, "; "))
	}
	return nil
}

func increasing(v []float64) bool {
	if len(v) == 0 {
		return false
	}
	for i := 1; i < len(v); i++ {
		if !(v[i] > v[i-1]) {
			return false
		}
	}
	return true
}

// validToken reports whether s is an RFC 9110 token (a valid header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// newMatcher returns the secret policy for the configured lists: the same *Matcher that
// every other part built from the same lists holds.
func newMatcher(redact, allow []string) *scrub.Matcher { return scrub.Shared(redact, allow) }
