package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/limits"
)

// serverHandler is the server-side stats.Handler: grpc-go calls it for every RPC,
// including calls that fail before or outside the handler, and always ends the call.
type serverHandler struct{ g *GRPC }

func (h *serverHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (h *serverHandler) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC runs before the handler and returns the context the handler gets: the call
// itself (rpcCall.Value). The InHeader event that grpc-go delivers next, before the
// handler runs, completes it (tagServer): the span continuing the caller's trace, and
// request_id and route for every log line and capture.
func (h *serverHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return h.g.newServerCall(ctx, info.FullMethodName)
}

// newServerCall starts a server call's state, for TagRPC or, without a stats handler
// (GRPCConfig.InterceptorsOnly), for the interceptor the call reaches first.
func (g *GRPC) newServerCall(ctx context.Context, fullMethod string) *rpcCall {
	// The client chose the method name (up to grpc-go's 16 MiB header limit): bounded
	// like a label, it is the route, the span name and a log field.
	c := &rpcCall{start: time.Now(), fullMethod: limits.Truncate(fullMethod, limits.LabelValue), skip: g.skipped(fullMethod)}
	c.untagged = !c.skip
	c.Context = ctx
	return c
}

// beginAlone is what TagRPC, InHeader and Begin do for a call no stats handler tagged,
// done by the first interceptor (GRPCConfig.InterceptorsOnly): the call, its peer, the
// span and the request scope, read from the context's metadata. grpc-go runs
// interceptors only for methods it began a handler for (or its unknown-service
// handler), so the call has begun.
func (g *GRPC) beginAlone(ctx context.Context, fullMethod string, stream bool) *rpcCall {
	c := g.newServerCall(ctx, fullMethod)
	c.began, c.stream = true, stream
	if p, ok := peer.FromContext(ctx); ok {
		c.peer = p.Addr // no other goroutine sees c yet
	}
	return c
}

// tagServer reads the caller's trace context and request id, starts the span and sets
// the request scope. It runs once per call, on the InHeader event, whose metadata grpc-go
// has already copied with lower-case keys: reading it there costs a map look-up per key,
// where reading the context's metadata would walk the context and then every key for
// each name the call looks for. md is nil when a call reaches the interceptors or its end
// without an InHeader event (grpc-go always sends one); the context's metadata is read
// then.
//
// The span starts here rather than in TagRPC, so a stats handler installed after vigil's
// does not see it in its own TagRPC; services that keep otelgrpc's handlers turn vigil's
// spans off (GRPCConfig.DisableSpans).
func (g *GRPC) tagServer(c *rpcCall, md metadata.MD) {
	c.untagged = false
	ctx := c.Context
	c.carrier = incomingCarrier{ctx: ctx, md: md}
	if g.prop != nil {
		ctx = g.extract(ctx, &c.carrier)
	}
	c.id = requestID(c.carrier.Get(requestIDKey))
	c.carrier = incomingCarrier{}
	if g.tracer != nil {
		name, opts := g.server.startOptions(c.fullMethod)
		ctx, c.span = g.tracer.Start(ctx, name, opts...)
	}
	c.scope.Init(ctxattrs.From(ctx), slog.String(attrRequestID, c.id), slog.String(attrRoute, c.fullMethod))
	c.scoped = true
	c.Context = ctx
}

func (h *serverHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	c := callFrom(ctx)
	if c == nil {
		return
	}
	switch s := s.(type) {
	case *stats.InHeader:
		c.mu.Lock()
		c.peer = s.RemoteAddr
		c.mu.Unlock()
		if c.untagged {
			h.g.tagServer(c, s.Header)
		}
	case *stats.Begin:
		c.began = true
		c.stream = s.IsClientStream || s.IsServerStream
	case *stats.InPayload:
		c.received.Add(1)
	case *stats.OutPayload:
		c.sent.Add(1)
	case *stats.OutTrailer:
		// grpc-go rejects an unregistered method after TagRPC with neither Begin nor
		// End; its trailer is the only sign, so the call is recorded here.
		if !c.began {
			h.g.finish(ctx, c, true, errUnknownMethod)
		}
	case *stats.End:
		h.g.finish(ctx, c, true, s.Error)
	}
}

// echoHeader is the response header that echoes the request id. Its value lives in the
// call, which saves the slice an allocation; grpc-go copies header values anyway.
func (c *rpcCall) echoHeader() metadata.MD {
	c.echo[0] = c.id
	return metadata.MD{requestIDKey: c.echo[:]}
}

var errUnknownMethod = status.Error(codes.Unimplemented, "unknown method")

// errPanic is all the client learns of a recovered panic.
var errPanic = status.Error(codes.Internal, "internal error")

// UnaryServerInterceptor recovers panics in unary handlers (a stats handler cannot: it
// does not run on the handler's stack) and echoes the request id in the response header.
//
// With GRPCConfig.InterceptorsOnly it records a call no stats handler tagged itself:
// it starts the call as the stats handler's TagRPC, InHeader and Begin would, hands the
// handler the call's context, and finishes the call, with the same code, when the
// handler returns.
func (g *GRPC) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		c := callFrom(ctx)
		own := false
		if c == nil && g.alone {
			c, own = g.beginAlone(ctx, info.FullMethod, false), true
			ctx = c
		}
		if c != nil && c.untagged {
			g.tagServer(c, nil)
		}
		if c != nil && c.id != "" {
			_ = grpc.SetHeader(ctx, c.echoHeader())
		}
		defer func() {
			if r := recover(); r != nil {
				resp, err = nil, g.recovered(ctx, c, info.FullMethod, r)
			}
			if own {
				// One request was read; one response goes out unless the call failed, as
				// the InPayload and OutPayload events count them.
				c.received.Store(1)
				if err == nil {
					c.sent.Store(1)
				}
				g.finish(c, c, true, err)
			}
		}()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor recovers panics in streaming handlers, echoes the request id,
// and tells the stats handler when grpc-go routed the call to an unknown-service
// handler (its method is then labelled _OTHER).
//
// With GRPCConfig.InterceptorsOnly it records a call no stats handler tagged itself, as
// UnaryServerInterceptor does, and counts the messages the handler receives and sends
// through the stream it is given, whose Context is the call's.
func (g *GRPC) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := ss.Context()
		c := callFrom(ctx)
		if c == nil && g.alone {
			c = g.beginAlone(ctx, info.FullMethod, info.IsClientStream || info.IsServerStream)
			ctx = c
			ss = &countingStream{ServerStream: ss, c: c}
			defer func() { g.finish(c, c, true, err) }() // after the recovery below
		}
		if c != nil {
			if c.untagged {
				g.tagServer(c, nil)
			}
			// grpc-go passes a nil service only to grpc.UnknownServiceHandler.
			c.unknownService = srv == nil
			if c.id != "" {
				_ = ss.SetHeader(c.echoHeader())
			}
		}
		defer func() {
			if r := recover(); r != nil {
				err = g.recovered(ctx, c, info.FullMethod, r)
			}
		}()
		return handler(srv, ss)
	}
}

// recovered reports a handler's panic with the method and the scrubbed metadata, marks
// the span, and returns what the client gets: Internal, without the panic's text.
func (g *GRPC) recovered(ctx context.Context, c *rpcCall, fullMethod string, v any) error {
	if c != nil {
		c.panicked = true
	}
	if sp := trace.SpanFromContext(ctx); sp.IsRecording() {
		sp.AddEvent("exception", trace.WithAttributes(
			attribute.String("exception.type", fmt.Sprintf("%T", v)),
			attribute.String("exception.message", panicText(v, g.matcher))))
	}
	md, _ := metadata.FromIncomingContext(ctx)
	reportPanic(ctx, g.capture, g.logger, g.matcher, v, slog.String(nameRPCMethod, rpcMethodName(limits.Truncate(fullMethod, limits.LabelValue))), scrubbedMetadata(g.matcher, md, g.pii))
	return errPanic
}

// countingStream is a server stream as the handler sees it without a stats handler
// (GRPCConfig.InterceptorsOnly): its context is the call's, and it counts the messages
// received and sent, as the InPayload and OutPayload events do.
type countingStream struct {
	grpc.ServerStream
	c *rpcCall
}

func (s *countingStream) Context() context.Context { return s.c }

func (s *countingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.c.received.Add(1)
	}
	return err
}

func (s *countingStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.c.sent.Add(1)
	}
	return err
}
