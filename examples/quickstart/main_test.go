package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-go/vigil/internal/logtest"

	"github.com/vigil-go/vigil/observe"
)

type syncBuffer = logtest.Buffer

// TestDemoRoutes runs the quick start's routes and worker against a test server and
// checks what a newcomer is promised: statuses, captured errors, metrics.
func TestDemoRoutes(t *testing.T) {
	logs := &syncBuffer{}
	var cfg observe.Config
	cfg.Service = "quickstart"
	cfg.NoGlobals = true
	cfg.Logging.Output = logs
	cfg.Tracing.Exporter = "none"
	cfg.Metrics.DisableHostCollector = true
	o, err := observe.Init(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())

	var a *app
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe.Middleware(a.routes()).ServeHTTP(w, r)
	}))
	defer srv.Close()
	a = newApp(srv.URL)

	for _, c := range []struct {
		path   string
		status int
	}{
		{"/orders/42", 200}, {"/checkout/book", 200}, {"/fail", 500}, {"/panic", 500},
		{"/nope", 404}, {"/healthz", 200},
	} {
		resp, err := srv.Client().Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.path, resp.StatusCode, c.status)
		}
	}
	runJob(context.Background(), 2) // panics inside, recovered and captured

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_class="2xx",http_response_status_code="200",http_route="/checkout/{sku}"} 1`,
		`http_client_request_duration_seconds_count{http_request_method="GET"`,
		`quickstart_checkouts_total{outcome="ok"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	out := logs.String()
	for _, want := range []string{`"msg":"error captured"`, `"msg":"panic recovered"`, `index out of range`, `"route":"/fail"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}
