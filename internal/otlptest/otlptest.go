package otlptest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// maxBody bounds an HTTP export request, like a collector's receiver limit.
const maxBody = 16 << 20

// TB is the part of testing.TB the helpers use; *testing.T and *testing.B satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Receiver collects the trace export requests sent to it.
type Receiver struct {
	// Addr is host:port.
	Addr string
	// URL is the endpoint to configure: http://host:port for gRPC,
	// http://host:port/v1/traces for HTTP (the same server takes /v1/metrics and
	// /v1/logs; BaseURL is http://host:port for both).
	URL string
	// BaseURL is http://host:port, for OTEL_EXPORTER_OTLP_ENDPOINT (every signal).
	BaseURL string

	mu       sync.Mutex
	resource []*tracepb.ResourceSpans
	headers  []map[string][]string
	signals                // metrics and logs (signals.go)
	changed  chan struct{} // closed and replaced on every request
	close    func()
	closed   sync.Once
}

func newReceiver() *Receiver { return &Receiver{changed: make(chan struct{})} }

func (r *Receiver) record(rs []*tracepb.ResourceSpans, h map[string][]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resource = append(r.resource, rs...)
	r.headers = append(r.headers, h)
	close(r.changed)
	r.changed = make(chan struct{})
}

// StartGRPC starts an OTLP/gRPC receiver on a loopback port; it stops with the test.
func StartGRPC(tb TB) *Receiver {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("otlptest: listen: %v", err)
	}
	r := newReceiver()
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, &grpcService{r: r})
	r.registerGRPC(srv) // metrics and logs
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	r.Addr = ln.Addr().String()
	r.URL = "http://" + r.Addr
	r.BaseURL = r.URL
	r.close = func() {
		srv.Stop()
		<-done
	}
	tb.Cleanup(r.Close)
	return r
}

type grpcService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

func (s *grpcService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.r.record(req.GetResourceSpans(), md)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// StartHTTP starts an OTLP/HTTP receiver (protobuf and JSON, optionally gzipped) on a
// loopback port; it stops with the test.
func StartHTTP(tb TB) *Receiver {
	tb.Helper()
	r := newReceiver()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.serveHTTP)
	mux.HandleFunc("POST /v1/metrics", r.serveMetrics)
	mux.HandleFunc("POST /v1/logs", r.serveLogs)
	srv := httptest.NewServer(mux)
	r.Addr = srv.Listener.Addr().String()
	r.URL = srv.URL + "/v1/traces"
	r.BaseURL = srv.URL
	r.close = srv.Close
	tb.Cleanup(r.Close)
	return r
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = http.MaxBytesReader(w, req.Body, maxBody)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	ct := req.Header.Get("Content-Type")
	switch ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(data, &msg)
	case "application/json":
		err = protojson.Unmarshal(data, &msg)
	default:
		http.Error(w, "unsupported content type "+ct, http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.record(msg.GetResourceSpans(), req.Header.Clone())
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	if ct == "application/json" {
		resp, _ = protojson.Marshal(&coltracepb.ExportTraceServiceResponse{})
	}
	w.Header().Set("Content-Type", ct)
	_, _ = io.Copy(w, bytes.NewReader(resp))
}

// Close stops the receiver and closes its connections. It is idempotent.
func (r *Receiver) Close() { r.closed.Do(r.close) }

// ResourceSpans returns everything received so far.
func (r *Receiver) ResourceSpans() []*tracepb.ResourceSpans {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.ResourceSpans(nil), r.resource...)
}

// Headers returns the request headers (gRPC metadata) of every export so far.
func (r *Receiver) Headers() []map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string][]string(nil), r.headers...)
}

// Span is one received span with the attributes of its resource.
type Span struct {
	*tracepb.Span
	Resource map[string]string
	Scope    string
}

// Spans flattens everything received so far.
func (r *Receiver) Spans() []Span {
	var out []Span
	for _, rs := range r.ResourceSpans() {
		res := Attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out = append(out, Span{Span: s, Resource: res, Scope: ss.GetScope().GetName()})
			}
		}
	}
	return out
}

// WaitSpans waits until at least n spans have arrived and returns them all; it fails
// the test after timeout.
func (r *Receiver) WaitSpans(tb TB, n int, timeout time.Duration) []Span {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		if spans := r.Spans(); len(spans) >= n {
			return spans
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("otlptest: got %d spans within %v, want %d", len(r.Spans()), timeout, n)
			return nil
		}
	}
}

// Attrs renders OTLP attributes as strings, for comparisons.
func Attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.GetKey()] = value(kv.GetValue())
	}
	return out
}

func value(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	default:
		return fmt.Sprint(v)
	}
}

// RefusedAddr returns a loopback host:port where nothing listens, so connections are
// refused at once.
func RefusedAddr(tb TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("otlptest: listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// BlackHole accepts TCP connections and never reads or answers: a collector that hangs.
type BlackHole struct {
	// Addr is host:port.
	Addr string

	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	n     int
	done  chan struct{}
	once  sync.Once
}

// StartBlackHole starts a black-holed collector on a loopback port; it closes with the test.
func StartBlackHole(tb TB) *BlackHole {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("otlptest: listen: %v", err)
	}
	b := &BlackHole{Addr: ln.Addr().String(), ln: ln, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.n++
			b.mu.Unlock()
		}
	}()
	tb.Cleanup(b.Close)
	return b
}

// Accepted returns how many connections were accepted.
func (b *BlackHole) Accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// Close closes the listener and every held connection.
func (b *BlackHole) Close() {
	b.once.Do(func() {
		_ = b.ln.Close()
		<-b.done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			_ = c.Close()
		}
	})
}
