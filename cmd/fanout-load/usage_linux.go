//go:build linux

package main

import (
	"syscall"
	"time"
)

// usage returns the process's CPU time (user and system) and its peak
// resident memory.
func usage() (cpu time.Duration, maxRSS int64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, ru.Maxrss * 1024 // in KiB
}
