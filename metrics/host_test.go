//go:build linux

package metrics

import (
	"log/slog"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestHostCollectorPlausible(t *testing.T) {
	// Some loopback traffic, so that lo's counters cannot be zero.
	if pc, err := net.ListenPacket("udp", "127.0.0.1:0"); err == nil {
		if c, err := net.Dial("udp", pc.LocalAddr().String()); err == nil {
			_, _ = c.Write([]byte("ping"))
			c.Close()
		}
		pc.Close()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newHostCollector(hostProcRoot, slog.New(slog.DiscardHandler)))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	value := func(m *dto.Metric) float64 {
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	label := func(m *dto.Metric, name string) string {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == name {
				return lp.GetValue()
			}
		}
		return ""
	}
	find := func(name, lname, lvalue string) float64 {
		mf := byName[name]
		if mf == nil {
			t.Fatalf("%s missing", name)
		}
		for _, m := range mf.GetMetric() {
			if lname == "" || label(m, lname) == lvalue {
				return value(m)
			}
		}
		t.Fatalf("%s{%s=%q} missing", name, lname, lvalue)
		return 0
	}
	for _, tc := range []struct {
		name, lname, lvalue string
		min, max            float64
	}{
		{"system_cpu_time_seconds_total", "cpu_mode", "user", 0.01, 1e12},
		{"system_cpu_time_seconds_total", "cpu_mode", "idle", 0.01, 1e12},
		{"system_cpu_logical_count", "", "", 1, 4096},
		{"system_cpu_load_average_1m", "", "", 0, 1e4},
		{"system_memory_limit_bytes", "", "", 64 << 20, 1 << 50},
		{"system_memory_usage_bytes", "system_memory_state", "used", 1 << 20, 1 << 50},
		{"system_memory_usage_bytes", "system_memory_state", "free", 1, 1 << 50},
		{"system_filesystem_usage_bytes", "system_filesystem_state", "used", 1, 1 << 60},
		{"system_filesystem_limit_bytes", "system_filesystem_mountpoint", "/", 1 << 20, 1 << 60},
		{"system_network_io_bytes_total", "network_interface_name", "lo", 1, 1 << 62},
		{"system_network_packets_total", "network_interface_name", "lo", 1, 1 << 62},
	} {
		v := find(tc.name, tc.lname, tc.lvalue)
		if v < tc.min || v > tc.max {
			t.Errorf("%s{%s=%q} = %v, want within [%v, %v]", tc.name, tc.lname, tc.lvalue, v, tc.min, tc.max)
		}
	}
	// Used plus free plus reserved is the size, per mount.
	if mf := byName["system_filesystem_usage_bytes"]; mf != nil {
		sum := map[string]float64{}
		for _, m := range mf.GetMetric() {
			sum[label(m, "system_filesystem_mountpoint")] += value(m)
		}
		for _, m := range byName["system_filesystem_limit_bytes"].GetMetric() {
			mp := label(m, "system_filesystem_mountpoint")
			if sum[mp] != value(m) {
				t.Errorf("%s: states sum to %v, limit %v", mp, sum[mp], value(m))
			}
		}
	}
}

func TestHostCollectorBadRootFailsQuietly(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newHostCollector("/nonexistent-proc", slog.New(slog.DiscardHandler)))
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("Gather = %v: an unreadable /proc must cost the host series, not the scrape", err)
	}
}
