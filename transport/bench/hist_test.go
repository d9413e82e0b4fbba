package bench

import (
	"math/bits"
	"time"
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
