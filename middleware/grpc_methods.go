package middleware

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"

	"github.com/vigil-go/vigil/metrics"
)

// maxRPCMethods caps the distinct methods one side labels; later ones become _OTHER.
// A server labels only registered methods, so this is a backstop (a stats handler used
// without the interceptors, a client that builds method names at run time).
const maxRPCMethods = 1000

// numCodes is the count of canonical gRPC status codes, OK through Unauthenticated.
const numCodes = 17

// rpcFamilies are one side's metric families.
type rpcFamilies struct {
	server              bool
	duration            *metrics.Timer // seconds in Prometheus, milliseconds in StatsD
	requests, responses *metrics.Histogram
}

// methodTable knows one side's methods: their label values, span start options and
// bound series, so a call costs one lock-free map read, never a label lookup.
type methodTable struct {
	kind  trace.SpanKind
	fams  *rpcFamilies // nil without a registry
	cache seriesCache[string, *rpcMethod]
	other *rpcMethod
}

// rpcMethod is what is known of one method; its series are bound on first use.
type rpcMethod struct {
	fams             *rpcFamilies
	method, spanName string // rpc.method ("package.Service/Method" or _OTHER), the span name
	start            []trace.SpanStartOption
	// byCode are the duration series of calls without a known server (a server's calls,
	// a client's that sent no :authority); byTarget a client's, by code and authority.
	byCode              [numCodes + 1]atomic.Pointer[metrics.Timer]
	byTarget            seriesCache[targetKey, *metrics.Timer]
	requests, responses atomic.Pointer[metrics.Histogram]
}

// targetKey is a client call's series key beyond its method.
type targetKey struct {
	code      uint8
	authority string
}

var (
	msgBuckets   = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384}
	serverKindOp = trace.WithSpanKind(trace.SpanKindServer)
	clientKindOp = trace.WithSpanKind(trace.SpanKindClient)
)

func newMethodTable(r *metrics.Registry, side string, buckets []float64) (*methodTable, error) {
	t := &methodTable{kind: trace.SpanKindClient}
	labels := rpcClientLabels
	if side == "server" {
		t.kind, labels = trace.SpanKindServer, rpcServerLabels
	}
	if r != nil {
		f := &rpcFamilies{server: side == "server"}
		var err error
		if f.duration, err = r.NewTimer(metrics.Opts{
			Name:    "rpc_" + side + "_call_duration_seconds",
			Help:    "Duration of " + side + " gRPC calls (OpenTelemetry's rpc." + side + ".call.duration).",
			Labels:  labels,
			Buckets: buckets,
		}); err != nil {
			return nil, err
		}
		// Requests are the messages a client sends and a server receives; responses go
		// the other way (the rpc.*.requests_per_rpc / responses_per_rpc of the older
		// conventions, which the current ones dropped).
		if f.requests, err = r.NewHistogram(metrics.Opts{
			Name:    "rpc_" + side + "_requests_per_rpc",
			Help:    "Request messages per streaming " + side + " gRPC call.",
			Labels:  rpcMessageLabels,
			Buckets: msgBuckets,
		}); err != nil {
			return nil, err
		}
		if f.responses, err = r.NewHistogram(metrics.Opts{
			Name:    "rpc_" + side + "_responses_per_rpc",
			Help:    "Response messages per streaming " + side + " gRPC call.",
			Labels:  rpcMessageLabels,
			Buckets: msgBuckets,
		}); err != nil {
			return nil, err
		}
		t.fams = f
	}
	t.other = t.newMethod(methodOther)
	return t, nil
}

// newMethod returns the entry of method, "package.Service/Method" or _OTHER, which is
// also its span name.
func (t *methodTable) newMethod(method string) *rpcMethod {
	kindOp := clientKindOp
	if t.kind == trace.SpanKindServer {
		kindOp = serverKindOp
	}
	return &rpcMethod{
		fams: t.fams, method: method, spanName: method,
		start: []trace.SpanStartOption{kindOp},
	}
}

// startOptions returns the span name and start options for a call of fullMethod. It only
// reads the table: a method enters it when a call to it is known to be legitimate.
func (t *methodTable) startOptions(fullMethod string) (string, []trace.SpanStartOption) {
	if m, ok := t.cache.load(fullMethod); ok {
		return m.spanName, m.start
	}
	if _, _, ok := splitMethod(fullMethod); !ok {
		return fullMethod, t.other.start
	}
	m := t.newMethod(fullMethod[1:])
	return m.spanName, m.start
}

// resolve returns the entry of fullMethod, adding it when known, or the _OTHER entry
// when the method is unknown, malformed, or over the cap.
func (t *methodTable) resolve(fullMethod string, known bool) *rpcMethod {
	if !known {
		return t.other
	}
	if m, ok := t.cache.load(fullMethod); ok {
		return m
	}
	if _, _, ok := splitMethod(fullMethod); !ok || t.cache.len() >= maxRPCMethods {
		return t.other
	}
	// The table outlives the call: keep a copy, not grpc-go's string.
	full := strings.Clone(fullMethod)
	return t.cache.store(full, t.newMethod(full[1:]))
}

// observe records one finished call; authority is the client's :authority ("" on the
// server).
func (m *rpcMethod) observe(ctx context.Context, code codes.Code, d time.Duration, stream bool, requests, responses int64, authority string) {
	if m.fams == nil {
		return
	}
	m.duration(code, authority).ObserveContext(ctx, d)
	if !stream {
		return // a unary call is one message each way: the histograms would say nothing
	}
	rq := m.requests.Load()
	if rq == nil {
		rq = m.fams.requests.With("grpc", m.method)
		m.requests.Store(rq)
	}
	rq.Observe(float64(requests))
	rs := m.responses.Load()
	if rs == nil {
		rs = m.fams.responses.With("grpc", m.method)
		m.responses.Store(rs)
	}
	rs.Observe(float64(responses))
}

// duration returns the bound duration series of a call.
func (m *rpcMethod) duration(code codes.Code, authority string) *metrics.Timer {
	i := codeIndex(code)
	if m.fams.server || authority == "" {
		h := m.byCode[i].Load()
		if h == nil {
			h = m.bind(code, "")
			m.byCode[i].Store(h)
		}
		return h
	}
	k := targetKey{code: uint8(i), authority: authority}
	if h, ok := m.byTarget.load(k); ok {
		return h
	}
	k.authority = strings.Clone(authority)
	return m.byTarget.store(k, m.bind(code, k.authority))
}

// bind binds the duration series of code, and on the client of authority.
func (m *rpcMethod) bind(code codes.Code, authority string) *metrics.Timer {
	name := codeNames[codeIndex(code)]
	errType := ""
	if failed(code, m.fams.server) {
		errType = name
	}
	if m.fams.server {
		return m.fams.duration.With("grpc", m.method, name, errType)
	}
	host, port := hostPort(authority)
	portLabel := ""
	if port > 0 {
		portLabel = strconv.Itoa(port)
	}
	return m.fams.duration.With("grpc", m.method, name, errType, host, portLabel)
}

// splitMethod splits "/package.Service/Method" into its service and method.
func splitMethod(fullMethod string) (service, method string, ok bool) {
	s, found := strings.CutPrefix(fullMethod, "/")
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(s, '/')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}
