//go:build linux

package metrics

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupFS reads the process's cgroup: /proc/self/cgroup under proc, the cgroup
// filesystem at sys (/sys/fs/cgroup).
type cgroupFS struct{ proc, sys string }

// cgroupRootFor is the cgroup filesystem beside a procfs mount point: /sys/fs/cgroup for
// /proc, and the same layout inside a test tree.
func cgroupRootFor(procRoot string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(procRoot)), "sys", "fs", "cgroup")
}

// cgroupInfo is where the CPU and memory figures come from.
type cgroupInfo struct {
	v2          string // the container's cgroup v2 directory; "" outside a container
	v1Container bool   // a container under cgroup v1, which is not read
}

var errCgroupV1 = errors.New("the process runs in a container under cgroup v1, which vigil does not read: CPU and memory series are left out rather than the node's shown")

// containerRuntimes name the cgroups that container runtimes create, when the
// container sees the host's cgroup paths (no cgroup namespace, or cgroup v1).
var containerRuntimes = []string{"docker", "kubepods", "containerd", "crio", "libpod", "podman", "lxc"}

// detect finds the process's cgroup and whether it is a container's. Under cgroup v2 it
// is one when its path names a container runtime, or when the path is "/" (a cgroup
// namespace, as Docker and Kubernetes give by default) and yet holds cpu.max or
// memory.max, which the host's true root cgroup never has. A process in a systemd unit
// or a session on a host is therefore outside a container, and keeps the system
// figures.
func (g cgroupFS) detect() cgroupInfo {
	b, err := os.ReadFile(filepath.Join(g.proc, "self", "cgroup"))
	if err != nil {
		return cgroupInfo{}
	}
	var v2 string
	v2Found, v1Container := false, false
	for _, line := range strings.Split(string(b), "\n") {
		hier, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrls, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if hier == "0" && ctrls == "" {
			v2, v2Found = path, true
		} else if runtimePath(path) {
			v1Container = true
		}
	}
	if v2Found && exists(filepath.Join(g.sys, "cgroup.controllers")) {
		dir := filepath.Join(g.sys, filepath.FromSlash(v2))
		if runtimePath(v2) || (v2 == "/" && (exists(filepath.Join(dir, "cpu.max")) || exists(filepath.Join(dir, "memory.max")))) {
			return cgroupInfo{v2: dir}
		}
		return cgroupInfo{}
	}
	return cgroupInfo{v1Container: v1Container}
}

func runtimePath(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		for _, r := range containerRuntimes {
			if strings.Contains(seg, r) {
				return true
			}
		}
	}
	return false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readKeyed reads a cgroup file of "key value" lines, such as cpu.stat.
func readKeyed(p string) (map[string]uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
				out[k] = n
			}
		}
	}
	return out, nil
}

// readLimit reads a one-value cgroup file (memory.current, memory.max); ok is false for
// "max", no limit.
func readLimit(p string) (v float64, ok bool, err error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, false, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, errors.New(filepath.Base(p) + ": not a number")
	}
	return float64(n), true, nil
}

// readCPUMax reads cpu.max, "quota period" in microseconds, as CPUs; ok is false for a
// quota of "max", no limit.
func readCPUMax(p string) (cpus float64, ok bool, err error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, false, err
	}
	quota, period, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if quota == "max" {
		return 0, false, nil
	}
	q, err1 := strconv.ParseUint(quota, 10, 64)
	per, err2 := strconv.ParseUint(period, 10, 64)
	if err1 != nil || err2 != nil || per == 0 {
		return 0, false, errors.New("cpu.max: want \"quota period\"")
	}
	return float64(q) / float64(per), true, nil
}
