package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

// BenchmarkGRPCServerFloor compares vigil's server side with a floor interceptor that does
// only what the contract asks of a unary call: the caller's trace context read, one
// sampled SDK span with the semconv attributes, a request id (echoed), one context value,
// two clock reads, the duration histogram, panics recovered, and the JSON access line in
// one write. The client is plain, as in benchmarks/; run the variants in one process
// (-count interleaves them) and compare their overhead over impl=bare.
func BenchmarkGRPCServerFloor(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer tp.Shutdown(context.Background())
	newReg := func() *metrics.Registry {
		reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
		if err != nil {
			b.Fatal(err)
		}
		return reg
	}
	b.Run("impl=bare", func(b *testing.B) { benchServer(b, nil) })
	b.Run("impl=floor", func(b *testing.B) {
		f := newFloor(b, tp, newReg(), io.Discard)
		benchServer(b, []grpc.ServerOption{grpc.UnaryInterceptor(f.unary)})
	})
	// What grpc-go spends once any stats handler is installed (metadata copy, events).
	b.Run("impl=noop-stats-handler", func(b *testing.B) {
		benchServer(b, []grpc.ServerOption{grpc.StatsHandler(noopHandler{})})
	})
	b.Run("impl=vigil", func(b *testing.B) {
		logger, err := logging.New(logging.Config{Output: io.Discard, Level: slog.LevelInfo, Service: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		g, err := middleware.NewGRPC(middleware.GRPCConfig{
			Logger: logger, Registry: newReg(), TracerProvider: tp, Propagator: propagation.TraceContext{},
		})
		if err != nil {
			b.Fatal(err)
		}
		benchServer(b, g.ServerOptions())
	})
}

func benchServer(b *testing.B, sopts []grpc.ServerOption) {
	benchUnary(b, sopts, nil)
}

// floor is the floor interceptor: a plain, careful implementation of the contract with
// nothing else (no skip list, no method cap, no redaction, no hook containment).
type floor struct {
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	duration *metrics.Timer
	mu       sync.Mutex
	series   map[string]*metrics.Timer // bound series by method and code
	out      io.Writer
	pool     sync.Pool
}

func newFloor(tb testing.TB, tp trace.TracerProvider, reg *metrics.Registry, out io.Writer) *floor {
	d, err := reg.NewTimer(metrics.Opts{Name: "rpc_server_call_duration_seconds", Help: "floor",
		Labels: []string{"rpc_system_name", "rpc_method", "rpc_response_status_code"}})
	if err != nil {
		tb.Fatal(err)
	}
	return &floor{
		tracer: tp.Tracer("floor"), prop: propagation.TraceContext{}, duration: d,
		series: map[string]*metrics.Timer{}, out: out,
		pool: sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }},
	}
}

// mdCarrier reads single metadata values without copying the whole metadata.
type mdCarrier struct{ ctx context.Context }

func (c mdCarrier) Get(k string) string {
	if vs := metadata.ValueFromIncomingContext(c.ctx, k); len(vs) > 0 {
		return vs[0]
	}
	return ""
}
func (c mdCarrier) Set(string, string) {}
func (c mdCarrier) Keys() []string     { return nil }

func (f *floor) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	ctx = f.prop.Extract(ctx, mdCarrier{ctx})
	method := info.FullMethod[1:]
	ctx, span := f.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", method)))
	id := ""
	if vs := metadata.ValueFromIncomingContext(ctx, "x-request-id"); len(vs) > 0 {
		id = vs[0]
	} else {
		id = strconv.FormatUint(uint64(start.UnixNano()), 16)
	}
	ctx = ctxattrs.With(ctx, slog.String("request_id", id))
	_ = grpc.SetHeader(ctx, metadata.MD{"x-request-id": {id}})
	func() {
		defer func() {
			if r := recover(); r != nil {
				resp, err = nil, status.Error(codes.Internal, "internal error")
			}
		}()
		resp, err = handler(ctx, req)
	}()
	code := status.Code(err)
	name := code.String()
	d := time.Since(start)
	f.mu.Lock()
	t := f.series[info.FullMethod+name]
	if t == nil {
		t = f.duration.With("grpc", method, name)
		f.series[info.FullMethod+name] = t
	}
	f.mu.Unlock()
	t.ObserveContext(ctx, d)
	span.SetAttributes(attribute.String("rpc.response.status_code", name), attribute.String("request_id", id))
	span.End()
	sc := span.SpanContext()
	bp := f.pool.Get().(*[]byte)
	buf := (*bp)[:0]
	buf = append(buf, `{"time":"`...)
	buf = time.Now().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","level":"INFO","msg":"grpc server call","service":"bench","request_id":"`...)
	buf = append(buf, id...)
	buf = append(buf, `","route":"`...)
	buf = append(buf, info.FullMethod...)
	buf = append(buf, `","trace_id":"`...)
	buf = append(buf, sc.TraceID().String()...)
	buf = append(buf, `","span_id":"`...)
	buf = append(buf, sc.SpanID().String()...)
	buf = append(buf, `","rpc.system.name":"grpc","rpc.method":"`...)
	buf = append(buf, method...)
	buf = append(buf, `","rpc.response.status_code":"`...)
	buf = append(buf, name...)
	buf = append(buf, `","duration_ms":`...)
	buf = strconv.AppendFloat(buf, float64(d)/1e6, 'f', -1, 64)
	buf = append(buf, "}\n"...)
	_, _ = f.out.Write(buf)
	*bp = buf
	f.pool.Put(bp)
	return resp, err
}

// BenchmarkGRPCServerPath replays what grpc-go does around a unary call on the server,
// without the transport: the floor interceptor alone, and vigil's stats handler events
// (with the metadata copy grpc-go makes once a stats handler is installed) around its
// interceptor. It isolates the instrumentation's own cost for A/B work; the
// instruction counts are stable under load (valgrind --tool=callgrind).
func BenchmarkGRPCServerPath(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer tp.Shutdown(context.Background())
	newReg := func() *metrics.Registry {
		reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
		if err != nil {
			b.Fatal(err)
		}
		return reg
	}
	const fullMethod = "/grpc.testing.TestService/UnaryCall"
	addr := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 51234}
	base := peer.NewContext(context.Background(), &peer.Peer{Addr: addr})
	base = metadata.NewIncomingContext(base, metadata.MD{
		":authority": {"bufnet"}, "content-type": {"application/grpc"}, "user-agent": {"grpc-go/1.85.0"},
	})
	info := &grpc.UnaryServerInfo{FullMethod: fullMethod}
	handler := func(context.Context, any) (any, error) { return "resp", nil }
	b.Run("impl=floor", func(b *testing.B) {
		f := newFloor(b, tp, newReg(), io.Discard)
		b.ReportAllocs()
		for b.Loop() {
			ctx := grpc.NewContextWithServerTransportStream(base, &fakeStream{})
			if _, err := f.unary(ctx, "req", info, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
	// vigil with every part, then without one part each: what each part costs.
	for _, v := range []struct {
		impl                 string
		logs, metrics, spans bool
	}{
		{"vigil", true, true, true},
		{"vigil-no-line", false, true, true},
		{"vigil-no-metrics", true, false, true},
		{"vigil-no-span", true, true, false},
	} {
		b.Run("impl="+v.impl, func(b *testing.B) {
			cfg := middleware.GRPCConfig{Propagator: propagation.TraceContext{}}
			if v.logs {
				logger, err := logging.New(logging.Config{Output: io.Discard, Level: slog.LevelInfo, Service: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				cfg.Logger = logger
			}
			if v.metrics {
				cfg.Registry = newReg()
			}
			if v.spans {
				cfg.TracerProvider = tp
			}
			g, err := middleware.NewGRPC(cfg)
			if err != nil {
				b.Fatal(err)
			}
			benchServerPath(b, g, base, addr, info, handler)
		})
	}
}

// benchServerPath replays grpc-go's events and interceptor call for one unary call.
func benchServerPath(b *testing.B, g *middleware.GRPC, base context.Context, addr net.Addr, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) {
	fullMethod := info.FullMethod
	h, unary := g.ServerHandler(), g.UnaryServerInterceptor()
	b.ReportAllocs()
	for b.Loop() {
		md, _ := metadata.FromIncomingContext(base)
		ctx := h.TagRPC(base, &stats.RPCTagInfo{FullMethodName: fullMethod})
		h.HandleRPC(ctx, &stats.InHeader{FullMethod: fullMethod, RemoteAddr: addr, Header: md})
		begin := &stats.Begin{BeginTime: time.Now()}
		h.HandleRPC(ctx, begin)
		sctx := grpc.NewContextWithServerTransportStream(ctx, &fakeStream{})
		_, err := unary(sctx, "req", info, func(ctx context.Context, req any) (any, error) {
			h.HandleRPC(ctx, &stats.InPayload{})
			return handler(ctx, req)
		})
		h.HandleRPC(ctx, &stats.OutHeader{})
		h.HandleRPC(ctx, &stats.OutPayload{})
		h.HandleRPC(ctx, &stats.OutTrailer{})
		h.HandleRPC(ctx, &stats.End{BeginTime: begin.BeginTime, EndTime: time.Now(), Error: err})
	}
}

// fakeStream stands for grpc-go's server stream where grpc.SetHeader looks for it.
type fakeStream struct{ header metadata.MD }

func (s *fakeStream) Method() string { return "/grpc.testing.TestService/UnaryCall" }
func (s *fakeStream) SetHeader(md metadata.MD) error {
	s.header = metadata.Join(s.header, md)
	return nil
}
func (s *fakeStream) SendHeader(metadata.MD) error { return nil }
func (s *fakeStream) SetTrailer(metadata.MD) error { return nil }
