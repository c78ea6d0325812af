package middleware

import (
	"context"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/limits"
)

// clientHandler is the client-side stats.Handler. grpc-go calls TagRPC once per attempt,
// before it builds the request headers, so a retried call is one span (and one duration
// sample) per attempt, each carrying its own context to the server, as in otelgrpc.
type clientHandler struct{ g *GRPC }

func (h *clientHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (h *clientHandler) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC starts the client span and writes its context, and the caller's request id
// when the context has one, into the outgoing metadata.
func (h *clientHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	g := h.g
	cc := &clientCall{rpcCall: rpcCall{start: time.Now(), fullMethod: limits.Truncate(info.FullMethodName, limits.LabelValue), skip: g.skipped(info.FullMethodName)}}
	c := &cc.rpcCall
	if !c.skip {
		if g.tracer != nil {
			name, opts := g.client.startOptions(c.fullMethod)
			ctx, c.span = g.tracer.Start(ctx, name, opts...)
		}
		cc.out.kv = cc.outBuf[:0]
		if g.prop != nil {
			g.inject(ctx, &cc.out)
		}
		if id, ok := ctxattrs.Lookup(ctx, attrRequestID); ok && validRequestID(id) {
			cc.out.kv = append(cc.out.kv, requestIDKey, id)
		}
		if len(cc.out.kv) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, cc.out.kv...)
		}
		cc.out.kv = nil
	}
	c.Context = ctx
	return c
}

func (h *clientHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	c := callFrom(ctx)
	if c == nil {
		return
	}
	switch s := s.(type) {
	case *stats.Begin:
		c.stream = s.IsClientStream || s.IsServerStream
	case *stats.OutHeader:
		c.mu.Lock()
		c.peer, c.authority = s.RemoteAddr, s.Authority
		c.mu.Unlock()
	case *stats.OutPayload:
		c.sent.Add(1)
	case *stats.InPayload:
		c.received.Add(1)
	case *stats.End:
		h.g.finish(ctx, c, false, s.Error)
	}
}
