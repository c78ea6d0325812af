package benchmarks

import (
	"context"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// The floor: a middleware and an interceptor that do only what vigil's contract requires
// of a request, written plainly and without waste, so that "vigil ÷ floor" says how
// much vigil spends beyond the work itself. Per request each does:
//
//   - one sampled OpenTelemetry SDK span (the same provider set-up as the peers: batch
//     processor, dropping exporter), continuing the caller's trace from the W3C
//     headers, with the semconv attributes vigil records;
//   - two clock reads (start, end: the end also stamps the log line);
//   - the duration histogram (one series per method, route and status, bound once
//     and then found in a sync.Map) and the in-flight gauge;
//   - a request id (the caller's if it is short and safe, else 128 random bits),
//     echoed in the response;
//   - one context value of its own (the request state, which also holds the response
//     writer wrapper: one allocation);
//   - the same JSON access line as vigil's (same keys, same order), encoded by hand into a
//     pooled buffer and written with one Write.
//
// What the floor leaves out is what the contract's other guarantees cost (redaction
// of secrets in the query and headers, panic recovery and capture, cardinality caps,
// body-size histograms): that is vigil's to do cheaply, and part of what is measured.

// floorKey is the floor's one context key.
type floorKey struct{}

// floorService is the service name both vigil and the floor stamp on log lines.
const floorService = "bench"

// lineBufs are the floor's pooled log-line buffers.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// floorRequest is the per-request state: the response writer wrapper and the request
// id, in one allocation, stored in the context as the floor's one value.
type floorRequest struct {
	http.ResponseWriter
	status int
	bytes  int64
	id     string
}

func (f *floorRequest) WriteHeader(code int) {
	if f.status == 0 {
		f.status = code
	}
	f.ResponseWriter.WriteHeader(code)
}

func (f *floorRequest) Write(p []byte) (int, error) {
	if f.status == 0 {
		f.status = http.StatusOK
	}
	n, err := f.ResponseWriter.Write(p)
	f.bytes += int64(n)
	return n, err
}

// httpSeries is the label set of one duration series.
type httpSeries struct {
	method, route string
	status        int
}

// boundSeries is what the floor keeps per label set: the bound histogram series and the
// span name, so neither is built again on the request path.
type boundSeries struct {
	obs  prometheus.Observer
	name string
}

// serverKind is the one span start option, made once.
var serverKind = trace.WithSpanKind(trace.SpanKindServer)

// spanAttrs are pooled attribute arrays: the SDK copies what SetAttributes gets, so one
// array serves every request in turn.
var spanAttrs = sync.Pool{New: func() any { return new([12]attribute.KeyValue) }}

// floorHTTP is the floor middleware.
type floorHTTP struct {
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	series   sync.Map // httpSeries → *boundSeries
	out      io.Writer
	next     http.Handler
}

func newFloorHTTP(tp trace.TracerProvider, reg *prometheus.Registry, out io.Writer, next http.Handler) *floorHTTP {
	f := &floorHTTP{
		tracer: tp.Tracer("floor"),
		prop:   w3c,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_server_request_duration_seconds", Help: "Request latency.",
			Buckets: []float64{.005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10},
		}, []string{"http_request_method", "http_route", "http_response_status_code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_active_requests", Help: "Requests being served.",
		}),
		out:  out,
		next: next,
	}
	reg.MustRegister(f.duration, f.inFlight)
	return f
}

func (f *floorHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := f.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	req := &floorRequest{ResponseWriter: w, id: floorRequestID(r.Header.Get("X-Request-Id"))}
	w.Header().Set("X-Request-Id", req.id)
	ctx, span := f.tracer.Start(ctx, r.Method, serverKind)
	r = r.WithContext(context.WithValue(ctx, floorKey{}, req))

	f.inFlight.Inc()
	f.next.ServeHTTP(req, r)
	f.inFlight.Dec()
	if req.status == 0 {
		req.status = http.StatusOK
	}
	end := time.Now()
	dur := end.Sub(start)

	route := r.Pattern
	if i := strings.IndexByte(route, ' '); i >= 0 {
		route = route[i+1:]
	}
	k := httpSeries{r.Method, route, req.status}
	v, ok := f.series.Load(k)
	if !ok {
		v, _ = f.series.LoadOrStore(k, &boundSeries{
			obs:  f.duration.WithLabelValues(r.Method, route, strconv.Itoa(req.status)),
			name: r.Method + " " + route,
		})
	}
	bound := v.(*boundSeries)
	bound.obs.Observe(dur.Seconds())

	attrs := spanAttrs.Get().(*[12]attribute.KeyValue)
	n := httpSpanAttrs(attrs, r, req, route)
	span.SetName(bound.name)
	span.SetAttributes(attrs[:n]...)
	spanAttrs.Put(attrs)
	if req.status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()

	bp := lineBufs.Get().(*[]byte)
	b := appendHTTPLine((*bp)[:0], end, span.SpanContext(), req, r, route, dur)
	_, _ = f.out.Write(b)
	*bp = b
	lineBufs.Put(bp)
}

// appendHTTPLine encodes the access line of one request.
func appendHTTPLine(b []byte, end time.Time, sc trace.SpanContext, req *floorRequest, r *http.Request, route string, dur time.Duration) []byte {
	b = lineHead(b, end, "http request", sc, req.id, route)
	b = appendField(b, "http.request.method", r.Method)
	b = appendField(b, "url.path", r.URL.Path)
	b = appendField(b, "url.query", r.URL.RawQuery)
	b = append(b, `,"http.response.status_code":`...)
	b = strconv.AppendInt(b, int64(req.status), 10)
	b = appendDuration(b, dur)
	b = append(b, `,"http.request.body.size":`...)
	b = strconv.AppendInt(b, max(r.ContentLength, 0), 10)
	b = append(b, `,"http.response.body.size":`...)
	b = strconv.AppendInt(b, req.bytes, 10)
	b = appendField(b, "client.address", clientAddress(r.RemoteAddr))
	b = appendField(b, "user_agent.original", r.UserAgent())
	b = appendField(b, "network.protocol.version", protoVersion(r))
	return append(b, "}\n"...)
}

// httpSpanAttrs fills attrs with the span's semconv attributes and returns how many.
func httpSpanAttrs(attrs *[12]attribute.KeyValue, r *http.Request, req *floorRequest, route string) int {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	*attrs = [12]attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("url.scheme", scheme),
		attribute.String("url.path", r.URL.Path),
		attribute.String("url.query", r.URL.RawQuery),
		attribute.String("server.address", r.Host),
		attribute.String("client.address", clientAddress(r.RemoteAddr)),
		attribute.String("user_agent.original", r.UserAgent()),
		attribute.String("network.protocol.version", protoVersion(r)),
		attribute.String("request_id", req.id),
		attribute.String("http.route", route),
		attribute.Int("http.response.status_code", req.status),
	}
	return 11
}

func protoVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return "1.1"
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	}
	return strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)
}

// clientAddress is the host part of a RemoteAddr.
func clientAddress(remote string) string {
	if i := strings.LastIndexByte(remote, ':'); i >= 0 && !strings.HasSuffix(remote, "]") {
		remote = remote[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(remote, "["), "]")
}

// floorRequestID keeps a short, safe inbound id and otherwise makes 32 hex digits.
func floorRequestID(in string) string {
	if in != "" && len(in) <= 64 {
		ok := true
		for i := 0; i < len(in) && ok; i++ {
			c := in[i]
			ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':'
		}
		if ok {
			return in
		}
	}
	var raw [16]byte
	for i := 0; i < 16; i += 8 {
		v := rand.Uint64()
		for j := range 8 {
			raw[i+j] = byte(v >> (8 * j))
		}
	}
	return hex.EncodeToString(raw[:])
}

// lineHead starts an access line with the keys every vigil line has, in vigil's order.
func lineHead(b []byte, t time.Time, msg string, sc trace.SpanContext, id, route string) []byte {
	b = append(b, `{"time":"`...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","level":"INFO"`...)
	b = appendField(b, "msg", msg)
	b = appendField(b, "service", floorService)
	if sc.IsValid() {
		tid, sid := sc.TraceID(), sc.SpanID()
		b = append(b, `,"trace_id":"`...)
		b = hex.AppendEncode(b, tid[:])
		b = append(b, `","span_id":"`...)
		b = hex.AppendEncode(b, sid[:])
		b = append(b, '"')
	}
	b = appendField(b, "request_id", id)
	return appendField(b, "route", route)
}

// appendDuration adds duration_ms, milliseconds with fractions, as vigil writes it.
func appendDuration(b []byte, d time.Duration) []byte {
	b = append(b, `,"duration_ms":`...)
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', -1, 64)
}

// appendField adds ,"key":"value" with value escaped as JSON.
func appendField(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = appendEscaped(b, value)
	return append(b, '"')
}

// appendEscaped escapes s for a JSON string: quotes, backslashes, control characters,
// and invalid UTF-8 (as U+FFFD), like log/slog's JSON handler (which leaves <, > and &).
func appendEscaped(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// grpcSeries is the label set of one gRPC duration series.
type grpcSeries struct {
	method string
	code   grpccodes.Code
}

// floorGRPC is the floor interceptor: the same work as floorHTTP, for a unary call.
type floorGRPC struct {
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	series   sync.Map // grpcSeries → prometheus.Observer
	out      io.Writer
}

func newFloorGRPC(tp trace.TracerProvider, reg *prometheus.Registry, out io.Writer) *floorGRPC {
	f := &floorGRPC{
		tracer: tp.Tracer("floor"),
		prop:   w3c,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rpc_server_call_duration_seconds", Help: "Call latency.",
			Buckets: []float64{.005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10},
		}, []string{"rpc_system_name", "rpc_method", "rpc_response_status_code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rpc_server_active_calls", Help: "Calls being served.",
		}),
		out: out,
	}
	reg.MustRegister(f.duration, f.inFlight)
	return f
}

// mdCarrier reads W3C headers from incoming gRPC metadata.
type mdCarrier metadata.MD

func (m mdCarrier) Get(key string) string {
	if v := metadata.MD(m).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (m mdCarrier) Set(key, value string) { metadata.MD(m).Set(key, value) }
func (m mdCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// floorCall is the per-call state, the interceptor's one context value.
type floorCall struct{ id string }

func (f *floorGRPC) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	md, _ := metadata.FromIncomingContext(ctx)
	ctx = f.prop.Extract(ctx, mdCarrier(md))
	var inbound string
	if v := md.Get("x-request-id"); len(v) > 0 {
		inbound = v[0]
	}
	call := &floorCall{id: floorRequestID(inbound)}
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-request-id", call.id))
	method := strings.TrimPrefix(info.FullMethod, "/")
	var peerAddr string
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		peerAddr = p.Addr.String()
	}
	ctx, span := f.tracer.Start(ctx, method, serverKind)
	ctx = context.WithValue(ctx, floorKey{}, call)

	f.inFlight.Inc()
	resp, err := handler(ctx, req)
	f.inFlight.Dec()
	code := status.Code(err)
	end := time.Now()
	dur := end.Sub(start)

	attrs := spanAttrs.Get().(*[12]attribute.KeyValue)
	attrs[0] = attribute.String("rpc.system.name", "grpc")
	attrs[1] = attribute.String("rpc.method", method)
	attrs[2] = attribute.String("rpc.response.status_code", code.String())
	attrs[3] = attribute.String("request_id", call.id)
	attrs[4] = attribute.String("network.peer.address", peerAddr)
	span.SetAttributes(attrs[:5]...)
	spanAttrs.Put(attrs)
	if code != grpccodes.OK {
		span.SetStatus(codes.Error, "")
	}
	span.End()

	k := grpcSeries{info.FullMethod, code}
	obs, ok := f.series.Load(k)
	if !ok {
		obs, _ = f.series.LoadOrStore(k, f.duration.WithLabelValues("grpc", method, code.String()))
	}
	obs.(prometheus.Observer).Observe(dur.Seconds())

	bp := lineBufs.Get().(*[]byte)
	b := lineHead((*bp)[:0], end, "grpc server call", span.SpanContext(), call.id, info.FullMethod)
	b = appendField(b, "rpc.system.name", "grpc")
	b = appendField(b, "rpc.method", method)
	b = appendField(b, "rpc.response.status_code", code.String())
	b = appendField(b, "network.peer.address", peerAddr)
	b = appendDuration(b, dur)
	b = append(b, "}\n"...)
	_, _ = f.out.Write(b)
	*bp = b
	lineBufs.Put(bp)
	return resp, err
}
