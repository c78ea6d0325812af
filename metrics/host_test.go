//go:build linux

package metrics

import (
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-go/vigil/internal/logtest"
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
	hc := newHostCollector(hostProcRoot, slog.New(slog.DiscardHandler)).(*hostCollector)
	if hc.cgroups.detect() != (cgroupInfo{}) {
		t.Skip("running in a container: the fixture tests cover the container figures")
	}
	reg.MustRegister(hc)
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

// fixtureCollector reads the tree testdata/host/name, with statfs answering for /data.
func fixtureCollector(name string, log *logtest.Buffer) *hostCollector {
	c := newHostCollector("testdata/host/"+name+"/proc", slog.New(slog.NewTextHandler(log, nil))).(*hostCollector)
	c.statfs = func(path string, st *syscall.Statfs_t) error {
		if path != "/data" {
			return syscall.ENOENT
		}
		*st = syscall.Statfs_t{Bsize: 4096, Blocks: 1000, Bfree: 400, Bavail: 300}
		return nil
	}
	return c
}

// TestHostCollectorWhere: what the collector reports on a host and in a container, read
// from fixture trees of /proc and /sys/fs/cgroup.
func TestHostCollectorWhere(t *testing.T) {
	const (
		systemCPU = `
# HELP system_cpu_logical_count Logical CPUs.
# TYPE system_cpu_logical_count gauge
system_cpu_logical_count 2
# HELP system_cpu_time_seconds_total Seconds all CPUs spent in each mode.
# TYPE system_cpu_time_seconds_total counter
system_cpu_time_seconds_total{cpu_mode="idle"} 10
system_cpu_time_seconds_total{cpu_mode="interrupt"} 0.01
system_cpu_time_seconds_total{cpu_mode="iowait"} 0.1
system_cpu_time_seconds_total{cpu_mode="nice"} 0.05
system_cpu_time_seconds_total{cpu_mode="softirq"} 0.02
system_cpu_time_seconds_total{cpu_mode="steal"} 0.03
system_cpu_time_seconds_total{cpu_mode="system"} 0.5
system_cpu_time_seconds_total{cpu_mode="user"} 1.5
`
		systemMemory = `
# HELP system_memory_limit_bytes Total memory.
# TYPE system_memory_limit_bytes gauge
system_memory_limit_bytes 2.097152e+09
`
		containerCPU = `
# HELP container_cpu_time_seconds_total CPU seconds the container used, by mode: user, system.
# TYPE container_cpu_time_seconds_total counter
container_cpu_time_seconds_total{cpu_mode="system"} 0.5
container_cpu_time_seconds_total{cpu_mode="user"} 1.5
`
		containerMemory = `
# HELP container_memory_usage_bytes Memory the container uses, page cache included (the cgroup's memory.current).
# TYPE container_memory_usage_bytes gauge
container_memory_usage_bytes %s
`
		cpuLimit = `
# HELP container_cpu_limit CPUs the container may use (its CFS quota over its period); absent without a limit.
# TYPE container_cpu_limit gauge
container_cpu_limit %s
`
		memLimit = `
# HELP container_memory_limit_bytes Memory the container may use; absent without a limit.
# TYPE container_memory_limit_bytes gauge
container_memory_limit_bytes %s
`
		filesystem = `
# HELP system_filesystem_limit_bytes Filesystem size.
# TYPE system_filesystem_limit_bytes gauge
system_filesystem_limit_bytes{system_device="/dev/sda1",system_filesystem_mountpoint="/data",system_filesystem_type="ext4"} 4.096e+06
`
		network = `
# HELP system_network_io_bytes_total Bytes received and transmitted per interface.
# TYPE system_network_io_bytes_total counter
system_network_io_bytes_total{network_interface_name="eth0",network_io_direction="receive"} 1000
system_network_io_bytes_total{network_interface_name="eth0",network_io_direction="transmit"} 2000
`
	)
	f := func(tmpl, v string) string { return strings.Replace(tmpl, "%s", v, 1) }
	names := []string{"system_cpu_logical_count", "system_cpu_time_seconds_total", "system_memory_limit_bytes",
		"container_cpu_time_seconds_total", "container_memory_usage_bytes", "container_cpu_limit",
		"container_memory_limit_bytes", "system_filesystem_limit_bytes", "system_network_io_bytes_total"}
	for _, tc := range []struct {
		tree, want, log string
	}{
		{"v2-container", containerCPU + f(cpuLimit, "2") + f(containerMemory, "1.23456789e+08") +
			f(memLimit, "5.36870912e+08") + filesystem + network, ""},
		{"v2-container-nolimit", containerCPU + f(containerMemory, "1.23456789e+08") + filesystem + network, ""},
		{"v2-container-hostns", containerCPU + f(cpuLimit, "0.5") + f(containerMemory, "1e+06") +
			f(memLimit, "2.68435456e+08") + filesystem + network, ""},
		{"v2-host", systemCPU + systemMemory + filesystem + network, ""},
		{"v1-host", systemCPU + systemMemory + filesystem + network, ""},
		// No CPU or memory series rather than the node's, said once in the log.
		{"v1-container", filesystem + network, "cgroup v1"},
	} {
		t.Run(tc.tree, func(t *testing.T) {
			var log logtest.Buffer
			c := fixtureCollector(tc.tree, &log)
			if err := testutil.CollectAndCompare(c, strings.NewReader(tc.want), names...); err != nil {
				t.Error(err)
			}
			if tc.log != "" && !strings.Contains(log.String(), tc.log) {
				t.Errorf("log %q does not mention %q", log.String(), tc.log)
			}
			if tc.log == "" && log.String() != "" {
				t.Errorf("unexpected log: %s", log.String())
			}
		})
	}
}

// TestHostCollectorStuckMount: a statfs that never returns (a dead network server behind
// a local-looking mount) costs one scrape its filesystem series after the budget, not the
// whole scrape; later scrapes do not start another statfs on that mount while it hangs,
// and the mount's figures come back once it returns.
func TestHostCollectorStuckMount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log logtest.Buffer
		c := fixtureCollector("v2-host", &log)
		release := make(chan struct{})
		var calls atomic.Int32
		statfs := c.statfs
		c.statfs = func(path string, st *syscall.Statfs_t) error {
			calls.Add(1)
			<-release
			return statfs(path, st)
		}
		skipped := func(want float64) {
			t.Helper()
			exp := `
# HELP vigil_metrics_host_steps_skipped_total ` + descHostSkippedHelp + `
# TYPE vigil_metrics_host_steps_skipped_total counter
vigil_metrics_host_steps_skipped_total{step="cpu"} 0
vigil_metrics_host_steps_skipped_total{step="filesystem"} ` + strconv.FormatFloat(want, 'g', -1, 64) + `
vigil_metrics_host_steps_skipped_total{step="memory"} 0
vigil_metrics_host_steps_skipped_total{step="mounts"} 0
vigil_metrics_host_steps_skipped_total{step="network"} 0
`
			if err := testutil.CollectAndCompare(c, strings.NewReader(exp), "vigil_metrics_host_steps_skipped_total"); err != nil {
				t.Error(err)
			}
		}
		for scrape := range 3 {
			start := time.Now()
			if n := testutil.CollectAndCount(c, "system_cpu_time_seconds_total"); n != 8 {
				t.Errorf("scrape %d: %d CPU series, want 8: the other steps still report", scrape, n)
			}
			if n := testutil.CollectAndCount(c, "system_filesystem_limit_bytes"); n != 0 {
				t.Errorf("scrape %d: filesystem series from a hung statfs", scrape)
			}
			if d := time.Since(start); d > 3*hostScrapeBudget {
				t.Errorf("scrape %d took %v", scrape, d)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("statfs started %d times on the hung mount, want 1", n)
		}
		skipped(7) // the first scrape waited out its budget; every later one skipped at once
		close(release)
		synctest.Wait()
		if n := testutil.CollectAndCount(c, "system_filesystem_limit_bytes"); n != 1 {
			t.Errorf("after the mount recovered: %d filesystem series, want 1", n)
		}
	})
}
