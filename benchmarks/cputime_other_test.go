//go:build !unix

package benchmarks

func processCPU() int64 { return -1 }
