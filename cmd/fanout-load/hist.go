package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Latencies are kept in microseconds in log-linear buckets: exact below
// 32 µs, then 16 buckets per power of two (at most 6.25% wide), up to
// 2^41 µs (25 days); larger values land in the last bucket.
const (
	subBits    = 4
	subBuckets = 1 << subBits
	numBuckets = 42 * subBuckets
)

// bucketOf returns the bucket of a latency of us microseconds.
func bucketOf(us uint64) int {
	if us < 2*subBuckets {
		return int(us)
	}
	shift := bits.Len64(us) - (subBits + 1)
	return min((shift+1)*subBuckets+int(us>>shift)-subBuckets, numBuckets-1)
}

// bucketLow returns the smallest latency, in microseconds, of bucket i.
func bucketLow(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	shift := i/subBuckets - 1
	return uint64(i%subBuckets+subBuckets) << shift
}

// histogram counts latencies. It is safe for concurrent use; the zero
// value is empty and ready to use.
type histogram struct {
	counts [numBuckets]atomic.Uint64
}

// record counts one latency; negative ones (clocks apart) count as zero.
func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(uint64(max(d, 0)/time.Microsecond))].Add(1)
}

// snapshot copies the counts.
func (h *histogram) snapshot() *counts {
	var c counts
	for i := range h.counts {
		c[i] = h.counts[i].Load()
	}
	return &c
}

// counts is a copy of a histogram's buckets.
type counts [numBuckets]uint64

// sub returns c minus earlier, the latencies recorded in between.
func (c *counts) sub(earlier *counts) *counts {
	var d counts
	for i := range c {
		d[i] = c[i] - earlier[i]
	}
	return &d
}

// total returns how many latencies were recorded.
func (c *counts) total() uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// quantile returns the latency below which the share q of the recorded
// ones fall, as the upper edge of its bucket, or 0 when none was recorded.
func (c *counts) quantile(q float64) time.Duration {
	n := c.total()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i, v := range c {
		seen += v
		if seen >= rank {
			return time.Duration(bucketLow(i+1)) * time.Microsecond
		}
	}
	return time.Duration(bucketLow(numBuckets)) * time.Microsecond
}

// max returns the upper edge of the highest non-empty bucket.
func (c *counts) max() time.Duration {
	for i := len(c) - 1; i >= 0; i-- {
		if c[i] > 0 {
			return time.Duration(bucketLow(i+1)) * time.Microsecond
		}
	}
	return 0
}
