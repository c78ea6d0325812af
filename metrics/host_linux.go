//go:build linux

package metrics

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"
)

// hostProcRoot is where the host collector reads procfs; the cgroup filesystem is read
// beside it, at ../sys/fs/cgroup, so a test tree holds both.
const hostProcRoot = procfs.DefaultMountPoint

// hostScrapeBudget bounds the host collector's part of a scrape: a step that has not
// returned by then is left out of this scrape and counted.
const hostScrapeBudget = time.Second

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

	// Inside a container: its cgroup's figures, after the OpenTelemetry container
	// conventions (container.cpu.time, container.memory.usage) and the limits.
	descContainerCPUTime = prometheus.NewDesc("container_cpu_time_seconds_total",
		"CPU seconds the container used, by mode: user, system.", []string{"cpu_mode"}, nil)
	descContainerCPULimit = prometheus.NewDesc("container_cpu_limit",
		"CPUs the container may use (its CFS quota over its period); absent without a limit.", nil, nil)
	descContainerMemUsage = prometheus.NewDesc("container_memory_usage_bytes",
		"Memory the container uses, page cache included (the cgroup's memory.current).", nil, nil)
	descContainerMemLimit = prometheus.NewDesc("container_memory_limit_bytes",
		"Memory the container may use; absent without a limit.", nil, nil)

	descHostSkipped = prometheus.NewDesc("vigil_metrics_host_steps_skipped_total", descHostSkippedHelp, []string{"step"}, nil)
)

// localFS are the filesystem types whose space the collector reports: local disks only.
// Network filesystems (nfs, cifs, ceph...) and FUSE can block statfs on a dead server;
// kernel views (proc, sysfs, cgroup...) have no space; tmpfs is memory, counted there;
// overlay, a container's root, reports the node's disk under it, the same from every
// replica. An unlisted type is left out: absent is better than a hung scrape.
var localFS = map[string]bool{
	"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true, "zfs": true, "f2fs": true,
	"bcachefs": true, "jfs": true, "reiserfs": true, "nilfs2": true, "vfat": true, "exfat": true,
	"ntfs": true, "ntfs3": true, "hfsplus": true,
}

const descHostSkippedHelp = "Host collector steps left out of a scrape because they had not returned within 1s (or were still running from an earlier scrape), by step: cpu, memory, mounts, filesystem, network."

// Collection steps, as the step label of vigil_metrics_host_steps_skipped_total.
const (
	stepCPU = iota
	stepMemory
	stepMounts
	stepFilesystem
	stepNetwork
	numSteps
)

var stepNames = [numSteps]string{"cpu", "memory", "mounts", "filesystem", "network"}

type hostCollector struct {
	fs      procfs.FS
	err     error
	cgroups cgroupFS
	logger  *slog.Logger
	warned  [numSteps + 1]atomic.Bool // each failure logged once; the last: cgroup v1
	budget  time.Duration
	statfs  func(path string, st *syscall.Statfs_t) error // syscall.Statfs; tests replace it

	skipped [numSteps]atomic.Uint64
	// inflight holds the steps (by name, or "statfs "+mount point) still running, from
	// this scrape or an earlier one: a step that hangs is not started again until it
	// returns, so a stuck mount costs one goroutine, not one per scrape.
	mu       sync.Mutex
	inflight map[string]bool
}

func newHostCollector(root string, l *slog.Logger) prometheus.Collector {
	fs, err := procfs.NewFS(root)
	return &hostCollector{fs: fs, err: err, logger: l, budget: hostScrapeBudget, statfs: syscall.Statfs,
		cgroups: cgroupFS{proc: root, sys: cgroupRootFor(root)}, inflight: map[string]bool{}}
}

func (c *hostCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCPUTime, descCPUCount, descLoad1, descLoad5, descLoad15,
		descMemUsage, descMemLimit, descFSUsed, descFSLimit, descNetIO, descNetPackets, descNetErrors, descNetDropped,
		descContainerCPUTime, descContainerCPULimit, descContainerMemUsage, descContainerMemLimit, descHostSkipped} {
		ch <- d
	}
}

func (c *hostCollector) fail(i int, what string, err error) {
	if l := c.logger; l != nil && c.warned[i].CompareAndSwap(false, true) {
		l.Warn("metrics: host collector cannot read "+what, "error", err)
	}
}

// metricSink collects one step's metrics, sent on only if the step returned in time.
type metricSink []prometheus.Metric

func (s *metricSink) gauge(d *prometheus.Desc, v float64, labels ...string) {
	*s = append(*s, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
}

func (s *metricSink) counter(d *prometheus.Desc, v float64, labels ...string) {
	*s = append(*s, prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...))
}

// pending is a step running in its own goroutine.
type pending struct {
	step int
	done chan any // buffered: the step never blocks on a scrape that gave up on it
}

// start runs fn in a goroutine unless the same key is still running (from this scrape
// or an earlier one), in which case the step is counted as skipped and nil returned.
func (c *hostCollector) start(step int, key string, fn func() any) *pending {
	c.mu.Lock()
	if c.inflight[key] {
		c.mu.Unlock()
		c.skipped[step].Add(1)
		return nil
	}
	c.inflight[key] = true
	c.mu.Unlock()
	p := &pending{step: step, done: make(chan any, 1)}
	go func() {
		var v any
		defer func() {
			c.mu.Lock()
			delete(c.inflight, key)
			c.mu.Unlock()
			p.done <- v
		}()
		v = fn()
	}()
	return p
}

// result waits for p until expired is closed; a step that has not returned by then is
// counted as skipped. ok is false for a skipped step.
func (c *hostCollector) result(p *pending, expired <-chan struct{}) (v any, ok bool) {
	if p == nil {
		return nil, false
	}
	select {
	case v = <-p.done:
		return v, true
	case <-expired:
		c.skipped[p.step].Add(1)
		return nil, false
	}
}

// metrics starts a step that produces metrics.
func (c *hostCollector) metrics(step int, key string, fn func(*metricSink)) *pending {
	return c.start(step, key, func() any {
		var s metricSink
		fn(&s)
		return s
	})
}

func (c *hostCollector) Collect(ch chan<- prometheus.Metric) {
	defer func() {
		for i := range c.skipped {
			ch <- prometheus.MustNewConstMetric(descHostSkipped, prometheus.CounterValue, float64(c.skipped[i].Load()), stepNames[i])
		}
	}()
	if c.err != nil {
		c.fail(stepCPU, "procfs", c.err)
		return
	}
	// One budget for the whole scrape: once it is spent, every step still running is
	// left out at once.
	expired := make(chan struct{})
	t := time.AfterFunc(c.budget, func() { close(expired) })
	defer t.Stop()

	cg := c.cgroups.detect()
	if cg.v1Container {
		c.fail(numSteps, "cgroup v1", errCgroupV1)
	}
	steps := []*pending{
		c.metrics(stepCPU, "cpu", func(s *metricSink) { c.cpu(s, cg) }),
		c.metrics(stepMemory, "memory", func(s *metricSink) { c.memory(s, cg) }),
		c.metrics(stepNetwork, "network", c.network),
	}
	mounts := c.start(stepMounts, "mounts", func() any {
		m, err := c.fs.GetMounts()
		if err != nil {
			c.fail(stepMounts, "mountinfo", err)
		}
		return m
	})
	var statfs []*pending
	if v, ok := c.result(mounts, expired); ok {
		ms, _ := v.([]*procfs.MountInfo)
		seen := map[string]bool{}
		for _, m := range ms {
			// A bind mount of a directory or file (root other than "/": Kubernetes'
			// /etc/hosts, hostPath and emptyDir volumes) shows the space of the filesystem
			// under it, the node's disk: only whole filesystems count.
			if !localFS[m.FSType] || m.Root != "/" || seen[m.MountPoint] {
				continue
			}
			seen[m.MountPoint] = true
			// At most one statfs per mount point at a time, across scrapes.
			statfs = append(statfs, c.metrics(stepFilesystem, "statfs "+m.MountPoint, func(s *metricSink) { c.filesystem(s, m) }))
		}
	}
	for _, p := range append(steps, statfs...) {
		if v, ok := c.result(p, expired); ok {
			for _, m := range v.(metricSink) {
				ch <- m
			}
		}
	}
}

func (c *hostCollector) cpu(s *metricSink, cg cgroupInfo) {
	switch {
	case cg.v2 != "":
		c.containerCPU(s, cg.v2)
		return
	case cg.v1Container:
		return // the node's figures would be wrong here; cgroup v1 is not read
	}
	if st, err := c.fs.Stat(); err != nil {
		c.fail(stepCPU, "/proc/stat", err)
	} else {
		t := st.CPUTotal
		for _, m := range []struct {
			mode string
			v    float64
		}{{"user", t.User}, {"nice", t.Nice}, {"system", t.System}, {"idle", t.Idle},
			{"iowait", t.Iowait}, {"interrupt", t.IRQ}, {"softirq", t.SoftIRQ}, {"steal", t.Steal}} {
			s.counter(descCPUTime, m.v, m.mode)
		}
		s.gauge(descCPUCount, float64(len(st.CPU)))
	}
	if la, err := c.fs.LoadAvg(); err == nil {
		s.gauge(descLoad1, la.Load1)
		s.gauge(descLoad5, la.Load5)
		s.gauge(descLoad15, la.Load15)
	} else {
		c.fail(stepCPU, "/proc/loadavg", err)
	}
}

func (c *hostCollector) memory(s *metricSink, cg cgroupInfo) {
	switch {
	case cg.v2 != "":
		c.containerMemory(s, cg.v2)
		return
	case cg.v1Container:
		return
	}
	mi, err := c.fs.Meminfo()
	if err != nil {
		c.fail(stepMemory, "/proc/meminfo", err)
		return
	}
	v := func(p *uint64) float64 {
		if p == nil {
			return 0
		}
		return float64(*p)
	}
	total, free, buffers := v(mi.MemTotalBytes), v(mi.MemFreeBytes), v(mi.BuffersBytes)
	cached := v(mi.CachedBytes) + v(mi.SReclaimableBytes)
	s.gauge(descMemUsage, max(total-free-buffers-cached, 0), "used")
	s.gauge(descMemUsage, free, "free")
	s.gauge(descMemUsage, buffers, "buffers")
	s.gauge(descMemUsage, cached, "cached")
	s.gauge(descMemLimit, total)
}

func (c *hostCollector) containerCPU(s *metricSink, dir string) {
	st, err := readKeyed(dir + "/cpu.stat")
	if err != nil {
		c.fail(stepCPU, "cpu.stat", err)
	} else {
		s.counter(descContainerCPUTime, float64(st["user_usec"])/1e6, "user")
		s.counter(descContainerCPUTime, float64(st["system_usec"])/1e6, "system")
	}
	if cpus, ok, err := readCPUMax(dir + "/cpu.max"); err != nil {
		c.fail(stepCPU, "cpu.max", err)
	} else if ok {
		s.gauge(descContainerCPULimit, cpus)
	}
}

func (c *hostCollector) containerMemory(s *metricSink, dir string) {
	if v, ok, err := readLimit(dir + "/memory.current"); err != nil || !ok {
		c.fail(stepMemory, "memory.current", err)
	} else {
		s.gauge(descContainerMemUsage, v)
	}
	if v, ok, err := readLimit(dir + "/memory.max"); err != nil {
		c.fail(stepMemory, "memory.max", err)
	} else if ok {
		s.gauge(descContainerMemLimit, v)
	}
}

func (c *hostCollector) filesystem(s *metricSink, m *procfs.MountInfo) {
	var st syscall.Statfs_t
	if c.statfs(m.MountPoint, &st) != nil || st.Blocks == 0 {
		return
	}
	bs := float64(st.Bsize)
	size, free, avail := float64(st.Blocks)*bs, float64(st.Bfree)*bs, float64(st.Bavail)*bs
	s.gauge(descFSUsed, size-free, m.Source, m.MountPoint, m.FSType, "used")
	s.gauge(descFSUsed, avail, m.Source, m.MountPoint, m.FSType, "free")
	s.gauge(descFSUsed, free-avail, m.Source, m.MountPoint, m.FSType, "reserved")
	s.gauge(descFSLimit, size, m.Source, m.MountPoint, m.FSType)
}

func (c *hostCollector) network(s *metricSink) {
	nd, err := c.fs.NetDev()
	if err != nil {
		c.fail(stepNetwork, "/proc/net/dev", err)
		return
	}
	for name, l := range nd {
		s.counter(descNetIO, float64(l.RxBytes), name, "receive")
		s.counter(descNetIO, float64(l.TxBytes), name, "transmit")
		s.counter(descNetPackets, float64(l.RxPackets), name, "receive")
		s.counter(descNetPackets, float64(l.TxPackets), name, "transmit")
		s.counter(descNetErrors, float64(l.RxErrors), name, "receive")
		s.counter(descNetErrors, float64(l.TxErrors), name, "transmit")
		s.counter(descNetDropped, float64(l.RxDropped), name, "receive")
		s.counter(descNetDropped, float64(l.TxDropped), name, "transmit")
	}
}
