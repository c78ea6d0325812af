package middleware

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-go/vigil/internal/ctxattrs"
)

// rpcCall is the state of one call (one attempt, on the client), created in TagRPC and
// finished by the End event. grpc-go may deliver payload events from the caller's
// goroutines, so the counters are atomic and the addresses sit behind a mutex.
//
// The call is also the context TagRPC returns: it answers Value for callKey and, on the
// server, for the request scope (request_id and route), so a call costs one context
// layer of vigil's beyond the span's, not three.
type rpcCall struct {
	context.Context // the parent: the caller's context, with the span

	start      time.Time
	fullMethod string
	span       trace.Span    // nil when skipped or without a tracer
	id         string        // server: the request id, echoed by the interceptors and set on the span at the end
	echo       [1]string     // server: the echo header's value (echoHeader)
	scope      ctxattrs.List // server: the request scope every log line and capture of the call reads

	skip     bool
	untagged bool // server: tagServer has yet to run
	scoped   bool // scope holds request_id and route
	stream   bool // set at Begin, before other goroutines see the call
	// Server only, written on the call's own goroutine before End.
	began          bool // Begin seen: a registered method (or the unknown-service handler) runs
	unknownService bool // the stream interceptor saw grpc.UnknownServiceHandler
	panicked       bool
	finished       atomic.Bool

	sent, received atomic.Int64

	mu        sync.Mutex
	peer      net.Addr
	authority string // client: the :authority sent

	carrier incomingCarrier // server: tagServer's, here to spare it an allocation
}

// clientCall is a client call with TagRPC's scratch space for the outgoing metadata,
// which a server call has no use for.
type clientCall struct {
	rpcCall
	out    outgoingCarrier
	outBuf [6]string
}

// Value answers for the call's own keys and asks the parent for the rest.
func (c *rpcCall) Value(key any) any {
	if _, ok := key.(callKey); ok {
		return c
	}
	if c.scoped && ctxattrs.IsKey(key) {
		return &c.scope
	}
	return c.Context.Value(key)
}

type callKey struct{}

// rpcEndAttrs is the most attributes a span gets (rpcFacts.spanAttrs).
const rpcEndAttrs = 12

var rpcAttrPool = sync.Pool{New: func() any { return new([rpcEndAttrs]attribute.KeyValue) }}

// callFrom returns the call whose context ctx is or derives from, or nil.
func callFrom(ctx context.Context) *rpcCall {
	if c, ok := ctx.(*rpcCall); ok {
		return c // the events' usual context: the one TagRPC returned
	}
	c, _ := ctx.Value(callKey{}).(*rpcCall)
	return c
}

// serverFault reports the codes that mean the server failed (OpenTelemetry's gRPC list);
// the others are the caller's problem.
func serverFault(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal,
		codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// finish records a finished call exactly once: the metrics always, the span and the
// access line unless the method is skipped.
func (g *GRPC) finish(ctx context.Context, c *rpcCall, server bool, err error) {
	if !c.finished.CompareAndSwap(false, true) {
		return
	}
	if c.untagged {
		g.tagServer(c, nil) // for the request id and the span: no InHeader came
	}
	d := time.Since(c.start)
	code := status.Code(err)
	t, known := g.client, true
	if server {
		// Registered methods begin; unknown ones are rejected before Begin or handed
		// to the unknown-service handler. Either way the client chose the name.
		t, known = g.server, c.began && !c.unknownService
	}
	m := t.resolve(c.fullMethod, known)
	requests, responses := c.sent.Load(), c.received.Load()
	if server {
		requests, responses = responses, requests
	}
	c.mu.Lock()
	peer, authority := c.peer, c.authority
	c.mu.Unlock()
	authority = bound(authority) // a client's :authority: the target it dialed
	m.observe(ctx, code, d, c.stream, requests, responses, authority)
	if c.skip {
		return
	}

	// The call's facts, computed once for the span and the access line.
	f := rpcFacts{
		method: m.method, code: code, failed: failed(code, server), requestID: c.id,
		stream: c.stream, sent: c.sent.Load(), received: c.received.Load(),
	}
	if m == t.other {
		f.methodOriginal = rpcMethodName(c.fullMethod)
	}
	if authority != "" {
		f.address, f.port = hostPort(authority)
	}
	if peer != nil {
		f.peer, f.peerPort = peerAddress(peer)
	}
	if code != codes.OK {
		f.message = bound(status.Convert(err).Message()) // the other side's text
	}

	if sp := c.span; sp != nil {
		if sp.IsRecording() {
			if f.methodOriginal != "" {
				sp.SetName(methodOther)
			}
			// One SetAttributes call with a pooled scratch array: the SDK copies them.
			buf := rpcAttrPool.Get().(*[rpcEndAttrs]attribute.KeyValue)
			sp.SetAttributes(f.spanAttrs(buf[:0])...)
			clear(buf[:])
			rpcAttrPool.Put(buf)
			// Server spans fail only for server faults; a client's call failed whatever the code.
			if f.failed {
				sp.SetStatus(otelcodes.Error, f.message)
			}
		}
		sp.End()
	}
	if g.logger != nil {
		g.accessLineContained(ctx, c, server, &f, d)
	}
}

// accessLine writes the call's one log line. Server lines are Info when OK, Warn for the
// caller's errors and Error for the server's; client lines are leveled the same except
// that success is Debug (the server has logged the call already).
func (g *GRPC) accessLine(ctx context.Context, c *rpcCall, server bool, f *rpcFacts, d time.Duration) {
	level := slog.LevelInfo
	switch {
	case f.code == codes.OK && !server:
		level = slog.LevelDebug
	case f.code == codes.OK:
	case serverFault(f.code):
		level = slog.LevelError
	default:
		level = slog.LevelWarn
	}
	msg := "grpc client call"
	if server {
		msg = "grpc server call"
	}
	w := lineWriter{keys: grpcLineKeys[:]}
	if !w.begin(ctx, g.lines, g.logger, level, msg) {
		return
	}
	f.line(&w)
	w.duration(gDuration, d)
	if c.panicked {
		w.bool(gPanic, true)
	}
	w.end(ctx, g.logger, level, msg)
}

// peerAddress returns a peer's network.peer.address and .port. TCP peers, the usual
// ones, are read from their fields rather than formatted and parsed again.
func peerAddress(a net.Addr) (string, int) {
	if t, ok := a.(*net.TCPAddr); ok && t != nil && len(t.IP) > 0 {
		host := t.IP.String()
		if t.Zone != "" {
			host += "%" + t.Zone
		}
		return bound(host), t.Port
	}
	return hostPort(bound(a.String()))
}
