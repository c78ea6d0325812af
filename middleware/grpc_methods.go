package middleware

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
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

// codeLabels are the rpc_grpc_status_code values; any other code is labelled _OTHER.
var codeLabels = func() (l [numCodes + 1]string) {
	for i := range numCodes {
		l[i] = strconv.Itoa(i)
	}
	l[numCodes] = methodOther
	return l
}()

// rpcFamilies are one side's metric families.
type rpcFamilies struct {
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
	fams                      *rpcFamilies
	service, method, spanName string
	start                     []trace.SpanStartOption
	byCode                    [numCodes + 1]atomic.Pointer[metrics.Timer]
	requests, responses       atomic.Pointer[metrics.Histogram]
}

var (
	grpcSystem   = attribute.String("rpc.system", "grpc")
	rpcLabels    = []string{"rpc_system", "rpc_service", "rpc_method"}
	msgBuckets   = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384}
	serverKindOp = trace.WithSpanKind(trace.SpanKindServer)
	clientKindOp = trace.WithSpanKind(trace.SpanKindClient)
)

func newMethodTable(r *metrics.Registry, side string, buckets []float64) (*methodTable, error) {
	t := &methodTable{kind: trace.SpanKindClient}
	if side == "server" {
		t.kind = trace.SpanKindServer
	}
	if r != nil {
		f := &rpcFamilies{}
		var err error
		if f.duration, err = r.NewTimer(metrics.Opts{
			Name:    "rpc_" + side + "_call_duration_seconds",
			Help:    "Duration of " + side + " gRPC calls, by method and status code.",
			Labels:  append(rpcLabels[:3:3], "rpc_grpc_status_code"),
			Buckets: buckets,
		}); err != nil {
			return nil, err
		}
		// Requests are the messages a client sends and a server receives; responses go
		// the other way (OpenTelemetry's rpc.*.requests_per_rpc / responses_per_rpc).
		if f.requests, err = r.NewHistogram(metrics.Opts{
			Name:    "rpc_" + side + "_requests_per_rpc",
			Help:    "Request messages per streaming " + side + " gRPC call.",
			Labels:  rpcLabels,
			Buckets: msgBuckets,
		}); err != nil {
			return nil, err
		}
		if f.responses, err = r.NewHistogram(metrics.Opts{
			Name:    "rpc_" + side + "_responses_per_rpc",
			Help:    "Response messages per streaming " + side + " gRPC call.",
			Labels:  rpcLabels,
			Buckets: msgBuckets,
		}); err != nil {
			return nil, err
		}
		t.fams = f
	}
	t.other = t.newMethod(methodOther, methodOther, methodOther)
	return t, nil
}

func (t *methodTable) newMethod(service, method, spanName string) *rpcMethod {
	kindOp := clientKindOp
	if t.kind == trace.SpanKindServer {
		kindOp = serverKindOp
	}
	return &rpcMethod{
		fams: t.fams, service: service, method: method, spanName: spanName,
		start: []trace.SpanStartOption{kindOp, trace.WithAttributes(
			grpcSystem,
			attribute.String("rpc.service", service),
			attribute.String("rpc.method", method),
		)},
	}
}

// startOptions returns the span name and start options for a call of fullMethod. It only
// reads the table: a method enters it when a call to it is known to be legitimate.
func (t *methodTable) startOptions(fullMethod string) (string, []trace.SpanStartOption) {
	if m, ok := t.cache.load(fullMethod); ok {
		return m.spanName, m.start
	}
	service, method, ok := splitMethod(fullMethod)
	if !ok {
		return fullMethod, t.other.start
	}
	m := t.newMethod(service, method, fullMethod[1:])
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
	service, method, _ := splitMethod(full)
	return t.cache.store(full, t.newMethod(service, method, full[1:]))
}

// observe records one finished call.
func (m *rpcMethod) observe(ctx context.Context, code codes.Code, d time.Duration, stream bool, requests, responses int64) {
	if m.fams == nil {
		return
	}
	i := int(code)
	if code >= numCodes {
		i = numCodes
	}
	h := m.byCode[i].Load()
	if h == nil {
		h = m.fams.duration.With("grpc", m.service, m.method, codeLabels[i])
		m.byCode[i].Store(h)
	}
	h.ObserveContext(ctx, d)
	if !stream {
		return // a unary call is one message each way: the histograms would say nothing
	}
	rq := m.requests.Load()
	if rq == nil {
		rq = m.fams.requests.With("grpc", m.service, m.method)
		m.requests.Store(rq)
	}
	rq.Observe(float64(requests))
	rs := m.responses.Load()
	if rs == nil {
		rs = m.fams.responses.With("grpc", m.service, m.method)
		m.responses.Store(rs)
	}
	rs.Observe(float64(responses))
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
