package bench

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// histSub is the number of buckets per power of two: values are kept with
// a relative error below 1/histSub.
const histSub = 16

// histBuckets covers values up to 2^40 ns (18 minutes).
const histBuckets = histSub + (40-4)*histSub

// hist is a log-linear histogram of durations in nanoseconds. It is owned
// by one goroutine at a time; merge them once their owners are done.
type hist struct {
	n      uint64
	counts [histBuckets]uint32
}

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - 5 // v>>e is in [16, 32)
	i := histSub + e*histSub + int(v>>e) - histSub
	return min(i, histBuckets-1)
}

// histLower returns the smallest value of bucket i.
func histLower(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := (i - histSub) / histSub
	return uint64(histSub+(i-histSub)%histSub) << e
}

func (h *hist) record(d int64) {
	if d < 0 {
		d = 0 // clocks are monotonic; cannot happen
	}
	h.counts[histIndex(uint64(d))]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

func (h *hist) reset() { *h = hist{} }

// MarshalText writes h's non-empty buckets as index:count pairs separated
// by spaces ("52:3 53:17"), one line at most a few kilobytes, in which a
// child process hands its latencies to its parent (see TestQuietClients).
func (h *hist) MarshalText() ([]byte, error) {
	var b []byte
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(c), 10)
	}
	return b, nil
}

// UnmarshalText sets h to what MarshalText wrote.
func (h *hist) UnmarshalText(b []byte) error {
	h.reset()
	for _, f := range strings.Fields(string(b)) {
		is, cs, ok := strings.Cut(f, ":")
		i, ierr := strconv.Atoi(is)
		c, cerr := strconv.ParseUint(cs, 10, 32)
		if !ok || ierr != nil || cerr != nil || i < 0 || i >= histBuckets {
			return fmt.Errorf("histogram bucket %q", f)
		}
		h.counts[i] += uint32(c)
		h.n += c
	}
	return nil
}

// quantile returns the value below which a fraction q of the samples lie,
// as the middle of its bucket.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			lo, hi := histLower(i), histLower(i+1)
			return time.Duration(lo + (hi-lo)/2)
		}
	}
	return time.Duration(histLower(histBuckets - 1))
}

func TestHistText(t *testing.T) {
	var h hist
	for _, v := range []int64{0, 3, 1000, 1001, 5e6, 5e6, 1 << 45} {
		h.record(v)
	}
	b, err := h.MarshalText()
	require.NoError(t, err)
	var got hist
	require.NoError(t, got.UnmarshalText(b))
	require.Equal(t, h, got)

	var empty hist
	b, err = empty.MarshalText()
	require.NoError(t, err)
	require.Empty(t, b)
	require.NoError(t, got.UnmarshalText(b))
	require.Equal(t, empty, got)

	for _, bad := range []string{"3", "x:1", "3:x", "-1:1", "100000:1", "3:-1", "3:4294967296"} {
		require.Error(t, got.UnmarshalText([]byte(bad)), bad)
	}
}
