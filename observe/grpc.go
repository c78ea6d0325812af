package observe

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"

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
	// DurationBuckets overrides the call-duration histogram buckets, in seconds.
	DurationBuckets []float64
}

// Environment variables that fill GRPCConfig (see the settings table).
const (
	EnvGRPCSkip      = "VIGIL_GRPC_SKIP"
	EnvGRPCAccessLog = "VIGIL_GRPC_ACCESS_LOG"
)

// newGRPC builds o's gRPC instrumentation from cfg.
func (o *Observer) newGRPC(cfg GRPCConfig) (*middleware.GRPC, error) {
	mcfg := middleware.GRPCConfig{
		Registry:       o.registry,
		TracerProvider: o.tracer.TracerProvider(),
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
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
func (o *Observer) GRPCServerOptions() []grpc.ServerOption { return o.GRPC().ServerOptions() }

// GRPCDialOptions returns the options that give a grpc.ClientConn o's telemetry: client
// spans whose context travels in the metadata, rpc_client_* metrics and access lines.
//
//	conn, err := grpc.NewClient(target, append(o.GRPCDialOptions(), creds)...)
func (o *Observer) GRPCDialOptions() []grpc.DialOption { return o.GRPC().DialOptions() }

// GRPCServerOptions returns the default Observer's server options. The default is
// resolved now: call Init first.
func GRPCServerOptions() []grpc.ServerOption { return Default().GRPCServerOptions() }

// GRPCDialOptions returns the default Observer's client options. The default is
// resolved now: call Init first.
func GRPCDialOptions() []grpc.DialOption { return Default().GRPCDialOptions() }
