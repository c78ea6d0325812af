package tracing

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/vigil-go/vigil/internal/conferr"
)

// TLSConfig builds the client TLS configuration the OTEL_EXPORTER_OTLP_CERTIFICATE,
// _CLIENT_CERTIFICATE and _CLIENT_KEY files describe: caFile (PEM CA certificates
// that replace the system pool), and certFile with keyFile (PEM, both or neither) for
// mutual TLS. It returns nil, nil when all three are empty, so the exporter's default
// applies. vigil builds it because it hands the HTTP exporter its own client, and an
// exporter given a client ignores its TLS variables. The error says which file is
// wrong and why, never its content.
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg, _, err := tlsConfig(caFile, certFile, keyFile)
	return cfg, err
}

// tlsConfig is TLSConfig, also naming the argument at fault: "ca", "cert" or "key".
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, string, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, "", nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, "ca", readError(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "ca", errors.New("no PEM certificate in the file")
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		for _, f := range []struct{ which, path string }{{"cert", certFile}, {"key", keyFile}} {
			if _, err := os.Stat(f.path); err != nil {
				return nil, f.which, readError(err)
			}
		}
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			// The parse error may quote part of the key: say what, not the content.
			return nil, "cert", errors.New("the client certificate and key do not form a valid PEM pair")
		}
		cfg.Certificates = []tls.Certificate{pair}
	case certFile != "":
		return nil, "key", errors.New("a client certificate needs its key too")
	case keyFile != "":
		return nil, "cert", errors.New("a client key needs its certificate too")
	}
	return cfg, "", nil
}

func readError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("cannot read the file: it does not exist")
	case errors.Is(err, fs.ErrPermission):
		return errors.New("cannot read the file: permission denied")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot read the file: %v", pe.Err)
	}
	return fmt.Errorf("cannot read the file: %v", err)
}

// loadTLS builds the exporter's TLS configuration from cfg, adding a problem under the
// field at fault.
func loadTLS(cfg Config, errs *conferr.Error) *tls.Config {
	t, which, err := tlsConfig(cfg.Certificate, cfg.ClientCertificate, cfg.ClientKey)
	if err != nil {
		field, value := "Certificate", cfg.Certificate
		switch which {
		case "cert":
			field, value = "ClientCertificate", cfg.ClientCertificate
		case "key":
			field, value = "ClientKey", cfg.ClientKey
		}
		errs.Add(field, value, err.Error())
	}
	return t
}
