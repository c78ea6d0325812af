package tracing_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-go/vigil/internal/tlstest"
	"github.com/vigil-go/vigil/tracing"
)

// tlsReceiver is an OTLP receiver (HTTP or gRPC) behind TLS that counts the spans it
// accepts.
type tlsReceiver struct {
	endpoint string
	spans    atomic.Int64
}

func (r *tlsReceiver) add(req *coltracepb.ExportTraceServiceRequest) {
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans.Add(int64(len(ss.GetSpans())))
		}
	}
}

func startTLSReceiver(t *testing.T, protocol string, cfg *tls.Config) *tlsReceiver {
	t.Helper()
	r := &tlsReceiver{}
	if protocol == "grpc" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
		coltracepb.RegisterTraceServiceServer(srv, &tlsTraceService{r: r})
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Stop(); <-done })
		r.endpoint = "https://" + ln.Addr().String()
		return r
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var msg coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.add(&msg)
		resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	}))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	r.endpoint = srv.URL + "/v1/traces"
	return r
}

type tlsTraceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *tlsReceiver
}

func (s *tlsTraceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.r.add(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// The collector's private CA comes from Config.Certificate (OTEL_EXPORTER_OTLP_CERTIFICATE),
// and the client certificate from ClientCertificate and ClientKey, on every protocol,
// although vigil hands the HTTP exporter its own client.
func TestExportOverTLSWithConfiguredCA(t *testing.T) {
	pki := tlstest.New(t)
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		for _, mutual := range []bool{false, true} {
			name := protocol + "/ca"
			if mutual {
				name = protocol + "/mtls"
			}
			t.Run(name, func(t *testing.T) {
				clearEnv(t)
				rcv := startTLSReceiver(t, protocol, pki.ServerConfig(mutual))
				cfg := tracing.Config{Exporter: "otlp", Protocol: protocol, Endpoint: rcv.endpoint, Certificate: pki.CAFile}
				if mutual {
					cfg.ClientCertificate, cfg.ClientKey = pki.ClientCertFile, pki.ClientKeyFile
				}
				p, err := tracing.New(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				_, span := p.Start(context.Background(), "checkout")
				span.End()
				if err := p.ForceFlush(context.Background()); err != nil {
					t.Errorf("ForceFlush: %v", err)
				}
				if err := p.Shutdown(context.Background()); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
				if got := rcv.spans.Load(); got != 1 {
					t.Errorf("the TLS receiver got %d spans, want 1 (dropped %d)", got, p.Dropped())
				}
			})
		}
	}
}

// Without the CA the same receiver is refused: the setting is what made it work.
func TestExportOverTLSWithoutCAFails(t *testing.T) {
	clearEnv(t)
	pki := tlstest.New(t)
	rcv := startTLSReceiver(t, "http/protobuf", pki.ServerConfig(false))
	p, err := tracing.New(context.Background(), tracing.Config{Exporter: "otlp", Endpoint: rcv.endpoint, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Start(context.Background(), "checkout")
	span.End()
	_ = p.Shutdown(context.Background())
	if rcv.spans.Load() != 0 || p.Dropped() != 1 {
		t.Errorf("received %d, dropped %d; want 0 and 1", rcv.spans.Load(), p.Dropped())
	}
}

func TestTLSFilesErrorsNameTheField(t *testing.T) {
	clearEnv(t)
	pki := tlstest.New(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name                   string
		ca, cert, key          string
		wantField, wantMessage string
	}{
		{"missing CA", missing, "", "", "Certificate=", "does not exist"},
		{"CA without PEM", garbage, "", "", "Certificate=", "no PEM certificate"},
		{"cert without key", "", pki.ClientCertFile, "", "ClientKey=", "needs its key"},
		{"key without cert", "", "", pki.ClientKeyFile, "ClientCertificate=", "needs its certificate"},
		{"missing key", "", pki.ClientCertFile, missing, "ClientKey=", "does not exist"},
		{"mismatched pair", "", pki.CAFile, pki.ClientKeyFile, "ClientCertificate=", "valid PEM pair"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tracing.New(context.Background(), tracing.Config{Exporter: "otlp", Endpoint: "https://127.0.0.1:1",
				Certificate: tc.ca, ClientCertificate: tc.cert, ClientKey: tc.key})
			if err == nil {
				t.Fatal("New accepted the files")
			}
			if !strings.Contains(err.Error(), tc.wantField) || !strings.Contains(err.Error(), tc.wantMessage) {
				t.Errorf("error %q does not name %s with %q", err, tc.wantField, tc.wantMessage)
			}
		})
	}
}
