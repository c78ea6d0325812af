package middleware

import (
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
)

// GRPCConfig configures NewGRPC. Like HTTPConfig, every part is optional: a nil Registry
// records no metrics, a nil TracerProvider starts no spans, a nil Logger writes no access
// log; panics are recovered regardless.
type GRPCConfig struct {
	// Registry receives the rpc_server_* and rpc_client_* metrics.
	Registry *metrics.Registry
	// TracerProvider starts the server and client spans.
	TracerProvider trace.TracerProvider
	// DisableSpans starts no spans and leaves trace-context propagation (reading it from
	// incoming metadata, writing it into outgoing metadata) to other instrumentation,
	// for services that keep otelgrpc's stats handlers: each call then has one server
	// span and one client span, otelgrpc's. Metrics, access lines and panic recovery
	// stay; access lines and exemplars carry the trace of the span the context holds.
	DisableSpans bool
	// Propagator reads the caller's trace context from incoming metadata and writes it
	// into outgoing metadata. Nil means W3C Trace Context and Baggage.
	Propagator propagation.TextMapPropagator
	// Logger writes one access line per call. Use a vigil logging handler: it adds
	// request_id, route, trace_id and span_id from the context; other handlers will not.
	Logger *slog.Logger
	// Capture reports panics recovered in server handlers, with the call's scope, the
	// method and the scrubbed metadata. Nil logs them with their stack to Logger.
	Capture CaptureFunc
	// Skip lists services ("grpc.health.v1.Health") and full methods
	// ("/pkg.Service/Method") whose calls get no span and no access line; they are still
	// counted. Nil means DefaultGRPCSkip; an empty non-nil slice skips nothing.
	Skip []string
	// DurationBuckets overrides the call-duration buckets, in seconds. Nil means
	// DefaultDurationBuckets (OpenTelemetry advises the same ones for RPC).
	DurationBuckets []float64
	// RedactKeys adds metadata names to redact wherever metadata is reported; AllowKeys
	// names that only look secret (see HTTPConfig.RedactKeys).
	RedactKeys, AllowKeys []string
	// SendDefaultPII keeps the metadata that reveals a client's address (x-forwarded-for,
	// x-real-ip, forwarded, ...) in panic reports. Off, they are left out, as the errors
	// package leaves the same headers out of HTTP requests' reports: set it to what
	// errors.Config.SendDefaultPII says (observe does).
	SendDefaultPII bool
	// InterceptorsOnly makes ServerOptions install the two server interceptors alone,
	// without the server stats handler: the unary and the stream interceptor then record
	// the whole call (span, request scope, request-id echo, metrics, access line, panic
	// recovery), the same series, span attributes and lines as the stats handler does.
	// It saves grpc-go's dispatch of events to a stats handler: 20 allocations (1.5 KB)
	// per call, and about a tenth of vigil's CPU cost per call (the dispatch's own cost,
	// less that of the tagging the stats handler did on the transport's reader
	// goroutine, which then runs on the call's own, younger goroutine). What is given
	// up: calls grpc-go answers before any interceptor runs are not recorded at all,
	// neither counted nor traced nor logged:
	// unknown methods and services (the _OTHER series, unless a
	// grpc.UnknownServiceHandler takes them, which the stream interceptor records),
	// requests it cannot decode, messages over the size limit, and calls a tap handle
	// rejects. Durations start when the interceptor runs, after a unary request was read
	// and decoded, and the status recorded is the one the handler (and the interceptors
	// after vigil's) returned. The client side is unchanged.
	InterceptorsOnly bool
}

// DefaultGRPCSkip skips the gRPC health-checking service, whose probes would otherwise
// flood logs and traces.
var DefaultGRPCSkip = []string{"grpc.health.v1.Health"}

func (c GRPCConfig) validate() error {
	var errs []string
	for i, s := range c.Skip {
		if _, _, ok := splitMethod(s); !ok && (s == "" || strings.ContainsAny(s, "/ ")) {
			errs = append(errs, fmt.Sprintf("GRPCConfig.Skip[%d] = %q: must be a service name or a full method /package.Service/Method", i, s))
		}
	}
	if c.DurationBuckets != nil && !increasing(c.DurationBuckets) {
		errs = append(errs, fmt.Sprintf("GRPCConfig.DurationBuckets = %v: must be non-empty and strictly increasing", c.DurationBuckets))
	}
	if len(errs) > 0 {
		return fmt.Errorf("middleware: %s", strings.Join(errs, "; "))
	}
	return nil
}

// GRPC holds one configured set of gRPC instrumentation: a stats handler for each side
// and the server interceptors that recover panics. Build it once per metrics registry
// (NewGRPC registers the families) and share it between servers and clients.
type GRPC struct {
	tracer  trace.Tracer                  // nil: no spans
	prop    propagation.TextMapPropagator // nil: DisableSpans, no propagation
	logger  *slog.Logger                  // nil: no access log
	lines   *logging.Lines                // the access lines' encoder; nil: through logger as records
	capture CaptureFunc
	skip    []string
	matcher *scrub.Matcher
	pii     bool // SendDefaultPII
	alone   bool // InterceptorsOnly: the server interceptors record calls no stats handler tagged
	hooks   *hookGuard

	server, client *methodTable
}

// NewGRPC validates cfg, registers the metric families in cfg.Registry, and returns the
// instrumentation. Errors name the field and its value.
func NewGRPC(cfg GRPCConfig) (*GRPC, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.DurationBuckets == nil {
		cfg.DurationBuckets = DefaultDurationBuckets
	}
	g := &GRPC{
		prop:    cfg.Propagator,
		logger:  cfg.Logger,
		capture: cfg.Capture,
		skip:    cfg.Skip,
		matcher: newMatcher(cfg.RedactKeys, cfg.AllowKeys),
		pii:     cfg.SendDefaultPII,
		alone:   cfg.InterceptorsOnly,
	}
	if cfg.Logger != nil {
		g.lines = logging.NewLines(cfg.Logger.Handler(), grpcLineKeys[:]...)
	}
	var err error
	if g.hooks, err = newHookGuard(cfg.Registry, cfg.Logger, g.matcher); err != nil {
		return nil, err
	}
	if cfg.TracerProvider != nil && !cfg.DisableSpans {
		g.tracer = cfg.TracerProvider.Tracer(instrumentationName)
	}
	switch {
	case cfg.DisableSpans:
		g.prop = nil
	case g.prop == nil:
		g.prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	if g.skip == nil {
		g.skip = DefaultGRPCSkip
	}
	if g.server, err = newMethodTable(cfg.Registry, "server", cfg.DurationBuckets); err != nil {
		return nil, err
	}
	if g.client, err = newMethodTable(cfg.Registry, "client", cfg.DurationBuckets); err != nil {
		return nil, err
	}
	return g, nil
}

// ServerOptions returns what a grpc.Server needs for full telemetry: the stats handler
// (spans, metrics, access lines, request scope) and the interceptors (panic recovery,
// request-id echo). Pass them to grpc.NewServer ahead of other interceptors, so that
// recovery is the outermost. With GRPCConfig.InterceptorsOnly they are the two
// interceptors alone, which then record each call themselves.
func (g *GRPC) ServerOptions() []grpc.ServerOption {
	if g.alone {
		return []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(g.StreamServerInterceptor()),
		}
	}
	return []grpc.ServerOption{
		grpc.StatsHandler(g.ServerHandler()),
		grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(g.StreamServerInterceptor()),
	}
}

// DialOptions returns what a grpc.ClientConn needs for full telemetry: the client stats
// handler (spans and context injection, metrics, access lines).
func (g *GRPC) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStatsHandler(g.ClientHandler())}
}

// ServerHandler returns the server-side stats handler alone (see ServerOptions). Without
// the interceptors, panics are not recovered and calls routed to a
// grpc.UnknownServiceHandler are labelled with their raw method names (up to a cap).
// With GRPCConfig.InterceptorsOnly it still records every call it sees, and the
// interceptors leave the calls it tagged to it.
func (g *GRPC) ServerHandler() stats.Handler { return &serverHandler{g: g} }

// ClientHandler returns the client-side stats handler alone (see DialOptions).
func (g *GRPC) ClientHandler() stats.Handler { return &clientHandler{g: g} }

// skipped reports whether fullMethod matches Skip, without allocating.
func (g *GRPC) skipped(fullMethod string) bool {
	for _, s := range g.skip {
		if s[0] == '/' {
			if fullMethod == s {
				return true
			}
			continue
		}
		// A service matches "/" + s + "/" + any method.
		if len(fullMethod) > len(s)+2 && fullMethod[0] == '/' && fullMethod[1+len(s)] == '/' && fullMethod[1:1+len(s)] == s {
			return true
		}
	}
	return false
}
