package observe_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-go/vigil/observe"
)

type selfExporter struct {
	Name          string `json:"name"`
	LastOK        string `json:"last_ok"`
	LastError     string `json:"last_error"`
	LastErrorTime string `json:"last_error_time"`
}

// TestConsoleExporterStatus: the self view lists StatsD, the Pushgateway and the
// OpenTelemetry metrics and logs exporters, once configured, with their last success
// and failure; the Pushgateway's password, in its URL, shows nowhere.
func TestConsoleExporterStatus(t *testing.T) {
	// Without a backend configured, no metrics exporter is listed.
	var self struct {
		Exporters []selfExporter `json:"exporters"`
	}
	newConsoleApp(t, nil).api(t, "self", &self)
	for _, e := range self.Exporters {
		if strings.HasPrefix(e.Name, "metrics") {
			t.Errorf("unconfigured backend listed: %+v", e)
		}
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() { // drain
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	var pushes atomic.Int32
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != "ops" || p != "gw-s3cret" {
			t.Errorf("push without the URL's credentials as basic auth: %q", r.Header.Get("Authorization"))
		}
		if pushes.Add(1) == 1 {
			http.Error(w, "storage full", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	// The OTLP collector turns the first metrics and logs exports away.
	var otlpMetrics, otlpLogs atomic.Int32
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := &otlpMetrics
		if r.URL.Path == "/v1/logs" {
			n = &otlpLogs
		}
		if n.Add(1) == 1 {
			http.Error(w, "quota exceeded", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer otlp.Close()
	a := newConsoleApp(t, func(cfg *observe.Config) {
		cfg.Metrics.StatsD.Addr, cfg.Metrics.StatsD.FlushInterval = pc.LocalAddr().String(), 20*time.Millisecond
		cfg.Metrics.Push.URL = strings.Replace(gw.URL, "http://", "http://ops:gw-s3cret@", 1)
		// The interval is also each push's timeout: long enough that no push times out on
		// a loaded machine, which would replace the 500 as the last error.
		cfg.Metrics.Push.Job, cfg.Metrics.Push.Interval = "probe", 500*time.Millisecond
		cfg.OTelMetrics.Exporter, cfg.OTelMetrics.Interval = "otlp", 20*time.Millisecond
		cfg.OTelMetrics.OTLP.Endpoint = otlp.URL + "/v1/metrics"
		cfg.OTelLogs.Exporter, cfg.OTelLogs.OTLP.Endpoint = "otlp", otlp.URL+"/v1/logs"
	})
	a.o.Counter("jobs_total", "Jobs.").Inc()

	var statsd, push, otelMetrics, otelLogs selfExporter
	var body string
	deadline := time.Now().Add(20 * time.Second) // a liveness bound, not a speed
	for time.Now().Before(deadline) {
		self.Exporters = nil
		body = a.api(t, "self", &self)
		statsd, push, otelMetrics, otelLogs = selfExporter{}, selfExporter{}, selfExporter{}, selfExporter{}
		for _, e := range self.Exporters {
			switch e.Name {
			case "metrics: statsd":
				statsd = e
			case "metrics: pushgateway":
				push = e
			case "metrics (OpenTelemetry): otlp":
				otelMetrics = e
			case "logs (OpenTelemetry): otlp":
				otelLogs = e
			}
		}
		if statsd.LastOK != "" && push.LastOK != "" && push.LastError != "" &&
			otelMetrics.LastOK != "" && otelMetrics.LastError != "" && otelLogs.LastOK != "" && otelLogs.LastError != "" {
			break
		}
		a.o.Logger().Info("tick") // something for the logs exporter to send
		time.Sleep(10 * time.Millisecond)
	}
	if statsd.LastOK == "" || statsd.LastError != "" || statsd.LastErrorTime != "" {
		t.Errorf("statsd: %+v", statsd)
	}
	if push.LastError == "" || !strings.Contains(push.LastError, "500") || !strings.Contains(push.LastError, "storage full") {
		t.Errorf("pushgateway error: %+v", push)
	}
	okAt, err1 := time.Parse(time.RFC3339Nano, push.LastOK)
	errAt, err2 := time.Parse(time.RFC3339Nano, push.LastErrorTime)
	if err1 != nil || err2 != nil || !okAt.After(errAt) {
		t.Errorf("pushgateway times: ok %q, error %q: want the success after the failure", push.LastOK, push.LastErrorTime)
	}
	for _, e := range []selfExporter{otelMetrics, otelLogs} {
		if e.LastOK == "" || !strings.Contains(e.LastError, "400") || e.LastErrorTime == "" {
			t.Errorf("OpenTelemetry exporter: %+v", e)
		}
	}
	if strings.Contains(body, "gw-s3cret") {
		t.Errorf("the Pushgateway password shows in api/self: %s", body)
	}
}
