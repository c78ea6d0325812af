//go:build linux

package metrics

import (
	"log/slog"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"
)

// hostProcRoot is where the host collector reads procfs.
const hostProcRoot = procfs.DefaultMountPoint

// Host metrics, named after the OpenTelemetry system semantic conventions in their
// Prometheus form (dots to underscores, unit suffix, _total on counters).
var (
	descCPUTime = prometheus.NewDesc("system_cpu_time_seconds_total",
		"Seconds all CPUs spent in each mode.", []string{"cpu_mode"}, nil)
	descCPUCount = prometheus.NewDesc("system_cpu_logical_count",
		"Logical CPUs.", nil, nil)
	descLoad1 = prometheus.NewDesc("system_cpu_load_average_1m",
		"Load average over 1 minute.", nil, nil)
	descLoad5 = prometheus.NewDesc("system_cpu_load_average_5m",
		"Load average over 5 minutes.", nil, nil)
	descLoad15 = prometheus.NewDesc("system_cpu_load_average_15m",
		"Load average over 15 minutes.", nil, nil)
	descMemUsage = prometheus.NewDesc("system_memory_usage_bytes",
		"Memory in use by state: used, free, buffers, cached.", []string{"system_memory_state"}, nil)
	descMemLimit = prometheus.NewDesc("system_memory_limit_bytes",
		"Total memory.", nil, nil)
	fsLabels   = []string{"system_device", "system_filesystem_mountpoint", "system_filesystem_type"}
	descFSUsed = prometheus.NewDesc("system_filesystem_usage_bytes",
		"Filesystem space by state: used, free (available to users), reserved (for root).",
		append(fsLabels[:3:3], "system_filesystem_state"), nil)
	descFSLimit = prometheus.NewDesc("system_filesystem_limit_bytes",
		"Filesystem size.", fsLabels, nil)
	netLabels = []string{"network_interface_name", "network_io_direction"}
	descNetIO = prometheus.NewDesc("system_network_io_bytes_total",
		"Bytes received and transmitted per interface.", netLabels, nil)
	descNetPackets = prometheus.NewDesc("system_network_packets_total",
		"Packets received and transmitted per interface.", netLabels, nil)
	descNetErrors = prometheus.NewDesc("system_network_errors_total",
		"Receive and transmit errors per interface.", netLabels, nil)
	descNetDropped = prometheus.NewDesc("system_network_dropped_total",
		"Packets dropped while receiving and transmitting per interface.", netLabels, nil)
)

// skipFS are filesystem types without meaningful space (kernel views) or whose statfs
// can hang on a dead server (network filesystems): a scrape must not block on them.
var skipFS = map[string]bool{
	"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true, "mqueue": true,
	"debugfs": true, "tracefs": true, "securityfs": true, "pstore": true, "bpf": true,
	"autofs": true, "configfs": true, "fusectl": true, "hugetlbfs": true, "nsfs": true,
	"binfmt_misc": true, "rpc_pipefs": true, "selinuxfs": true, "efivarfs": true, "devtmpfs": true,
	"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true, "ceph": true,
	"glusterfs": true, "fuse.sshfs": true, "9p": true,
}

type hostCollector struct {
	fs     procfs.FS
	err    error
	logger *slog.Logger
	warned [4]atomic.Bool // cpu, memory, filesystem, network: each failure logged once
}

func newHostCollector(root string, l *slog.Logger) prometheus.Collector {
	fs, err := procfs.NewFS(root)
	return &hostCollector{fs: fs, err: err, logger: l}
}

func (c *hostCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCPUTime, descCPUCount, descLoad1, descLoad5, descLoad15,
		descMemUsage, descMemLimit, descFSUsed, descFSLimit, descNetIO, descNetPackets, descNetErrors, descNetDropped} {
		ch <- d
	}
}

func (c *hostCollector) fail(i int, what string, err error) {
	if l := c.logger; l != nil && c.warned[i].CompareAndSwap(false, true) {
		l.Warn("metrics: host collector cannot read "+what, "error", err)
	}
}

func (c *hostCollector) Collect(ch chan<- prometheus.Metric) {
	if c.err != nil {
		c.fail(0, "procfs", c.err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}

	if st, err := c.fs.Stat(); err != nil {
		c.fail(0, "/proc/stat", err)
	} else {
		t := st.CPUTotal
		for _, m := range []struct {
			mode string
			v    float64
		}{{"user", t.User}, {"nice", t.Nice}, {"system", t.System}, {"idle", t.Idle},
			{"iowait", t.Iowait}, {"interrupt", t.IRQ}, {"softirq", t.SoftIRQ}, {"steal", t.Steal}} {
			counter(descCPUTime, m.v, m.mode)
		}
		gauge(descCPUCount, float64(len(st.CPU)))
	}
	if la, err := c.fs.LoadAvg(); err == nil {
		gauge(descLoad1, la.Load1)
		gauge(descLoad5, la.Load5)
		gauge(descLoad15, la.Load15)
	} else {
		c.fail(0, "/proc/loadavg", err)
	}

	if mi, err := c.fs.Meminfo(); err != nil {
		c.fail(1, "/proc/meminfo", err)
	} else {
		v := func(p *uint64) float64 {
			if p == nil {
				return 0
			}
			return float64(*p)
		}
		total, free, buffers := v(mi.MemTotalBytes), v(mi.MemFreeBytes), v(mi.BuffersBytes)
		cached := v(mi.CachedBytes) + v(mi.SReclaimableBytes)
		gauge(descMemUsage, max(total-free-buffers-cached, 0), "used")
		gauge(descMemUsage, free, "free")
		gauge(descMemUsage, buffers, "buffers")
		gauge(descMemUsage, cached, "cached")
		gauge(descMemLimit, total)
	}

	if mounts, err := c.fs.GetMounts(); err != nil {
		c.fail(2, "mountinfo", err)
	} else {
		seen := map[string]bool{}
		for _, m := range mounts {
			if skipFS[m.FSType] || seen[m.MountPoint] {
				continue
			}
			seen[m.MountPoint] = true
			var s syscall.Statfs_t
			if syscall.Statfs(m.MountPoint, &s) != nil || s.Blocks == 0 {
				continue
			}
			bs := float64(s.Bsize)
			size, free, avail := float64(s.Blocks)*bs, float64(s.Bfree)*bs, float64(s.Bavail)*bs
			gauge(descFSUsed, size-free, m.Source, m.MountPoint, m.FSType, "used")
			gauge(descFSUsed, avail, m.Source, m.MountPoint, m.FSType, "free")
			gauge(descFSUsed, free-avail, m.Source, m.MountPoint, m.FSType, "reserved")
			gauge(descFSLimit, size, m.Source, m.MountPoint, m.FSType)
		}
	}

	if nd, err := c.fs.NetDev(); err != nil {
		c.fail(3, "/proc/net/dev", err)
	} else {
		for name, l := range nd {
			counter(descNetIO, float64(l.RxBytes), name, "receive")
			counter(descNetIO, float64(l.TxBytes), name, "transmit")
			counter(descNetPackets, float64(l.RxPackets), name, "receive")
			counter(descNetPackets, float64(l.TxPackets), name, "transmit")
			counter(descNetErrors, float64(l.RxErrors), name, "receive")
			counter(descNetErrors, float64(l.TxErrors), name, "transmit")
			counter(descNetDropped, float64(l.RxDropped), name, "receive")
			counter(descNetDropped, float64(l.TxDropped), name, "transmit")
		}
	}
}
