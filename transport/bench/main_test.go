package bench

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(envProfiles) != "" {
		runtime.MemProfileRate = 1 // exact heap profiles of the idle connections
	}
	if err := raiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	goleak.VerifyTestMain(m)
}

// raiseFileLimit raises the soft limit on open files to the hard limit:
// a benchmark with 2000 connections holds 4000 descriptors in one process
// (both ends of each connection).
func raiseFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur >= lim.Max {
		return nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise the open-file limit to %d: %w", lim.Max, err)
	}
	return nil
}

// needFiles skips b when the process may not open n more files.
func needFiles(tb testing.TB, n int) {
	tb.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Skipf("cannot read the open-file limit: %v", err)
	}
	if lim.Cur < uint64(n)+256 {
		tb.Skipf("needs %d open files, the limit is %d (hard %d): raise it with ulimit -n", n+256, lim.Cur, lim.Max)
	}
}
