package observe

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/vigil-go/vigil/middleware"
)

// GRPCConfig configures the gRPC instrumentation (GRPCServerOptions, GRPCDialOptions).
// The zero value instruments everything with the defaults described in package
// middleware.
type GRPCConfig struct {
	// Skip lists services ("grpc.health.v1.Health") and full methods
	// ("/pkg.Service/Method") whose calls get no span and no access line (they are still
	// counted). Nil means VIGIL_GRPC_SKIP (comma separated, "none" for nothing), else the
	// health service.
	Skip []string
	// DisableAccessLog drops the per-call log line (also VIGIL_GRPC_ACCESS_LOG=false).
	DisableAccessLog bool
	// DisableSpans starts no gRPC spans and leaves trace-context propagation to other
	// instrumentation (also VIGIL_GRPC_SPANS=false), for services that keep otelgrpc's
	// stats handlers: each call then has otelgrpc's server and client span only. The
	// metrics, access lines (with the trace ids of otelgrpc's spans) and panic recovery
	// stay.
	DisableSpans bool
	// DurationBuckets overrides the call-duration histogram buckets, in seconds.
	DurationBuckets []float64
	// InterceptorsOnly gives servers the two interceptors alone, without vigil's stats
	// handler (also VIGIL_GRPC_INTERCEPTORS_ONLY=true): 20 allocations and about a tenth
	// of vigil's CPU less per call, but calls grpc-go answers before any interceptor
	// runs (unknown methods, the _OTHER series; requests it cannot decode or over the
	// size limit) are not recorded at all. See middleware.GRPCConfig.InterceptorsOnly.
	InterceptorsOnly bool
}

// Environment variables that fill GRPCConfig (see the settings table).
const (
	EnvGRPCSkip      = "VIGIL_GRPC_SKIP"
	EnvGRPCAccessLog = "VIGIL_GRPC_ACCESS_LOG"
	EnvGRPCSpans     = "VIGIL_GRPC_SPANS"

	EnvGRPCInterceptorsOnly = "VIGIL_GRPC_INTERCEPTORS_ONLY"
)

// newGRPC builds o's gRPC instrumentation from cfg.
func (o *Observer) newGRPC(cfg GRPCConfig) (*middleware.GRPC, error) {
	mcfg := middleware.GRPCConfig{
		Registry:       o.registry,
		TracerProvider: o.tracer.TracerProvider(),
		DisableSpans:   cfg.DisableSpans,
		Propagator:     o.propagator,
		// Servers get the interceptors alone (Observer.GRPCServerOptions, and the
		// package-level options when this Observer is the default).
		InterceptorsOnly: cfg.InterceptorsOnly,
		// The parts' logger, not the application's: Error lines must not reach Sentry
		// a second time through the bridge.
		Logger:          o.base,
		Capture:         o.reporter.Capture,
		Skip:            cfg.Skip,
		DurationBuckets: cfg.DurationBuckets,
		RedactKeys:      o.redactKeys(),
		AllowKeys:       o.allowKeys(),
		// Panic reports leave client-IP metadata out unless Sentry may receive PII, as
		// the errors package does with an HTTP request's headers.
		SendDefaultPII: o.cfg.Errors.SendDefaultPII,
	}
	if cfg.DisableAccessLog {
		mcfg.Logger = nil
	}
	return middleware.NewGRPC(mcfg)
}

func (o *Observer) initGRPC(context.Context) error {
	g, err := o.newGRPC(o.cfg.GRPC)
	if err != nil {
		// Keep a working (metric-less) part for callers while Init reports err.
		g, _ = middleware.NewGRPC(middleware.GRPCConfig{
			TracerProvider: o.tracer.TracerProvider(), Logger: o.base, Capture: o.reporter.Capture,
		})
		o.grpc = g
		return err
	}
	o.grpc = g
	return nil
}

// GRPC returns o's gRPC instrumentation: stats handlers for servers and clients and the
// server interceptors, built by Init from Config.GRPC.
func (o *Observer) GRPC() *middleware.GRPC { return o.grpc }

// GRPCServerOptions returns the options that give a grpc.Server o's telemetry: spans
// continuing the caller's trace, rpc_server_* metrics, an access line per call, the
// request scope for Capture, and panic recovery. Pass them first:
//
//	srv := grpc.NewServer(o.GRPCServerOptions()...)
func (o *Observer) GRPCServerOptions() []grpc.ServerOption {
	if o.grpc == nil { // only the logging-only fallback
		return nil
	}
	return o.grpc.ServerOptions()
}

// GRPCDialOptions returns the options that give a grpc.ClientConn o's telemetry: client
// spans whose context travels in the metadata, rpc_client_* metrics and access lines.
//
//	conn, err := grpc.NewClient(target, append(o.GRPCDialOptions(), creds)...)
func (o *Observer) GRPCDialOptions() []grpc.DialOption {
	if o.grpc == nil {
		return nil
	}
	return o.grpc.DialOptions()
}

// GRPCServerOptions returns server options that use the default Observer, resolved at
// each call (one atomic load): a server built before Init is instrumented by the Init'd
// Observer from then on, and by the fallback again after Shutdown.
//
// When the default Observer has GRPC.InterceptorsOnly as GRPCServerOptions is called,
// the options are the two interceptors alone, without the stats handler (see
// GRPCConfig.InterceptorsOnly); a server built before that Init keeps the stats handler.
func GRPCServerOptions() []grpc.ServerOption {
	if Default().cfg.GRPC.InterceptorsOnly {
		return []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(defaultUnary),
			grpc.ChainStreamInterceptor(defaultStream),
		}
	}
	return []grpc.ServerOption{
		grpc.StatsHandler(defaultStats{}),
		grpc.ChainUnaryInterceptor(defaultUnary),
		grpc.ChainStreamInterceptor(defaultStream),
	}
}

// GRPCDialOptions returns client options that use the default Observer, resolved at
// each call like GRPCServerOptions'.
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStatsHandler(defaultStats{client: true})}
}

// grpcHooks are an Observer's gRPC parts as the package-level options call them.
type grpcHooks struct {
	server, client stats.Handler
	unary          grpc.UnaryServerInterceptor
	stream         grpc.StreamServerInterceptor
}

func (o *Observer) hooks() *grpcHooks {
	o.grpcOnce.Do(func() {
		h := &grpcHooks{}
		if g := o.grpc; g != nil {
			h.server, h.client = g.ServerHandler(), g.ClientHandler()
			h.unary, h.stream = g.UnaryServerInterceptor(), g.StreamServerInterceptor()
		}
		o.grpcHooks = h
	})
	return o.grpcHooks
}

// A call's Observer is chosen once, in TagRPC, and kept in its context, so the span,
// the metrics and the interceptors of one call all belong to one Observer even if Init
// or Shutdown happens meanwhile. Connections likewise.
type (
	rpcObserverKey  struct{}
	connObserverKey struct{}
)

// defaultStats is the stats.Handler of the package-level options.
type defaultStats struct{ client bool }

func (d defaultStats) handler(o *Observer) stats.Handler {
	if o == nil {
		return nil
	}
	if d.client {
		return o.hooks().client
	}
	return o.hooks().server
}

func (d defaultStats) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	o := Default()
	if h := d.handler(o); h != nil {
		ctx = h.TagRPC(ctx, info)
	}
	return context.WithValue(ctx, rpcObserverKey{}, o)
}

func (d defaultStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	o, _ := ctx.Value(rpcObserverKey{}).(*Observer)
	if h := d.handler(o); h != nil {
		h.HandleRPC(ctx, s)
	}
}

func (d defaultStats) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	o := Default()
	if h := d.handler(o); h != nil {
		ctx = h.TagConn(ctx, info)
	}
	return context.WithValue(ctx, connObserverKey{}, o)
}

func (d defaultStats) HandleConn(ctx context.Context, s stats.ConnStats) {
	o, _ := ctx.Value(connObserverKey{}).(*Observer)
	if h := d.handler(o); h != nil {
		h.HandleConn(ctx, s)
	}
}

// callObserver is the Observer TagRPC chose for the call in ctx, else the default.
func callObserver(ctx context.Context) *Observer {
	if o, _ := ctx.Value(rpcObserverKey{}).(*Observer); o != nil {
		return o
	}
	return Default()
}

func defaultUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if f := callObserver(ctx).hooks().unary; f != nil {
		return f(ctx, req, info, handler)
	}
	return handler(ctx, req)
}

func defaultStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if f := callObserver(ss.Context()).hooks().stream; f != nil {
		return f(srv, ss, info, handler)
	}
	return handler(srv, ss)
}
