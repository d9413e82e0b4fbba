package bench

import (
	"fmt"
	"math"
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

// fileMargin is how many descriptors a process keeps for other things
// than its connections: the listener, pipes, the runtime's.
const fileMargin = 256

// fileLimit returns the process's limit on open files. TestMain raises
// the soft limit (Cur) to the hard one (Max); child processes inherit it.
func fileLimit() (syscall.Rlimit, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return lim, fmt.Errorf("read the open-file limit: %w", err)
	}
	return lim, nil
}

// needFiles skips tb when the process may not open n more files, and
// fileMargin besides.
func needFiles(tb testing.TB, n int) {
	tb.Helper()
	lim, err := fileLimit()
	if err != nil {
		tb.Skip(err)
	}
	if lim.Cur < uint64(n)+fileMargin {
		tb.Skipf("needs %d open files, the limit is %d (hard %d): raise it with ulimit -n", n+fileMargin, lim.Cur, lim.Max)
	}
}

// connsPerProcess returns how many connections one process may hold, one
// file each: its open-file limit less fileMargin.
func connsPerProcess() (int, error) {
	lim, err := fileLimit()
	if err != nil {
		return 0, err
	}
	if lim.Cur <= fileMargin {
		return 0, fmt.Errorf("the open-file limit is %d", lim.Cur)
	}
	return int(min(lim.Cur-fileMargin, math.MaxInt32)), nil
}
