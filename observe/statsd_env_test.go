package observe

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/logtest"
)

// TestStatsDDatadogVariables: the StatsD address and the unified service tags follow
// field > vigil's (or OpenTelemetry's) variable > Datadog's variable > default.
func TestStatsDDatadogVariables(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		env   map[string]string
		addr  string
		svc   string
		envTg string
		ver   string
	}{
		{name: "agent host alone takes 8125", env: map[string]string{"DD_AGENT_HOST": "dd-agent"}, addr: "dd-agent:8125"},
		{name: "agent host and port", env: map[string]string{"DD_AGENT_HOST": "dd-agent", "DD_DOGSTATSD_PORT": "9125"}, addr: "dd-agent:9125"},
		{name: "agent host with its own port", env: map[string]string{"DD_AGENT_HOST": "dd-agent:7125", "DD_DOGSTATSD_PORT": "9125"}, addr: "dd-agent:7125"},
		{name: "IPv6 agent host", env: map[string]string{"DD_AGENT_HOST": "fd00::1"}, addr: "[fd00::1]:8125"},
		{name: "URL over agent host", env: map[string]string{"DD_DOGSTATSD_URL": "unix:///var/run/datadog/dsd.socket", "DD_AGENT_HOST": "dd-agent"},
			addr: "unix:///var/run/datadog/dsd.socket"},
		{name: "vigil's variable over Datadog's", env: map[string]string{"VIGIL_STATSD_ADDR": "statsd:8125", "DD_DOGSTATSD_URL": "udp://x:1",
			"DD_AGENT_HOST": "dd-agent", "DD_DOGSTATSD_PORT": "9125"}, addr: "statsd:8125"},
		{name: "field over every variable", cfg: func() Config { var c Config; c.Metrics.StatsD.Addr = "field:8125"; return c }(),
			env: map[string]string{"VIGIL_STATSD_ADDR": "statsd:8125", "DD_AGENT_HOST": "dd-agent", "DD_DOGSTATSD_PORT": "9125"}, addr: "field:8125"},
		{name: "Datadog's tags", env: map[string]string{"DD_SERVICE": "dd-svc", "DD_ENV": "dd-env", "DD_VERSION": "dd-ver"},
			svc: "dd-svc", envTg: "dd-env", ver: "dd-ver"},
		{name: "OpenTelemetry's and vigil's variables over Datadog's",
			env: map[string]string{"OTEL_SERVICE_NAME": "otel-svc", "VIGIL_ENVIRONMENT": "vigil-env", "DD_SERVICE": "dd-svc", "DD_ENV": "dd-env"},
			svc: "otel-svc", envTg: "vigil-env"},
		{name: "resource attribute over DD_SERVICE",
			env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=attr-svc", "DD_SERVICE": "dd-svc"}, svc: "attr-svc"},
		{name: "fields over every variable", cfg: Config{Service: "f-svc", Environment: "f-env", Version: "f-ver"},
			env: map[string]string{"OTEL_SERVICE_NAME": "otel-svc", "DD_SERVICE": "dd-svc", "DD_ENV": "dd-env", "DD_VERSION": "dd-ver"},
			svc: "f-svc", envTg: "f-env", ver: "f-ver"},
		{name: "the part's own fields first", cfg: func() Config {
			c := Config{Service: "f-svc", Environment: "f-env"}
			c.Metrics.Service, c.Metrics.Environment, c.Metrics.Version = "m-svc", "m-env", "m-ver"
			return c
		}(), env: map[string]string{"DD_VERSION": "dd-ver"}, svc: "m-svc", envTg: "m-env", ver: "m-ver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			res := apply(&c, mapEnv(tc.env), nil)
			if len(res.problems) > 0 {
				t.Fatal(res.problems)
			}
			c, _ = c.resolveFixed()
			m := c.Metrics
			if m.StatsD.Addr != tc.addr {
				t.Errorf("StatsD address %q, want %q", m.StatsD.Addr, tc.addr)
			}
			if tc.svc != "" && m.Service != tc.svc {
				t.Errorf("service %q, want %q", m.Service, tc.svc)
			}
			if m.Environment != tc.envTg || m.Version != tc.ver {
				t.Errorf("env %q, version %q; want %q, %q", m.Environment, m.Version, tc.envTg, tc.ver)
			}
		})
	}
}

// resolveFixed applies the defaults to a Config the test already filled from its own
// environment, without reading the process's.
func (c Config) resolveFixed() (Config, *envResult) {
	c.fixed = true
	c, env := c.resolve()
	c.fixed = false
	return c, env
}

// TestStatsDServiceTagsFromDatadogVariables: a program configured only by Datadog's
// variables sends to the Agent's port with the service, env and version tags.
func TestStatsDServiceTagsFromDatadogVariables(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	o, err := newWithEnv(t, quietConfig(&logtest.Buffer{}), map[string]string{
		"DD_AGENT_HOST": "127.0.0.1", "DD_DOGSTATSD_PORT": port,
		"DD_SERVICE": "checkout", "DD_ENV": "prod", "DD_VERSION": "1.4.2",
	})
	if err != nil {
		t.Fatal(err)
	}
	o.Counter("orders_total", "", "route").With("/orders").Add(3)
	if err := o.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	for {
		_ = pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no orders_total line: %v", err)
		}
		for _, l := range strings.Split(string(buf[:n]), "\n") {
			if strings.HasPrefix(l, "orders_total:") {
				if want := "orders_total:3|c|#route:/orders,service:checkout,env:prod,version:1.4.2"; l != want {
					t.Fatalf("line %q, want %q", l, want)
				}
				return
			}
		}
	}
}
