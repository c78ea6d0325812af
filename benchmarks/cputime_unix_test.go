//go:build unix

package benchmarks

import "syscall"

// processCPU is the CPU time (user + system) every thread of this process has used, in
// nanoseconds, or -1 when the system will not say.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
