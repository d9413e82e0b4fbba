package fanout

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Metrics: the core exposes what an exporter needs as plain values (Stats,
// OccupancyStats, QueueDepth, and the Meter of a group of subscribers),
// so that it depends on nothing; package metrics/prometheus (its own
// module) and the standard library's expvar (see ExpvarFunc) turn them
// into metrics.

// LatencyBuckets is the number of buckets of a Histogram: bucket i counts
// the observations of at most LatencyBound(i), the last one everything
// longer than the bound before it.
const LatencyBuckets = 22

// minLatencyShift makes the first bucket's bound 2^minLatencyShift µs.
const minLatencyShift = 4 // 16µs

// LatencyBound returns the upper bound of bucket i of a Histogram: 16µs
// for i = 0, doubling with each bucket up to about 16.8s for
// LatencyBuckets-2; the last bucket has no bound (it returns 0).
func LatencyBound(i int) time.Duration {
	if i < 0 || i >= LatencyBuckets-1 {
		return 0
	}
	return time.Duration(1<<(minLatencyShift+i)) * time.Microsecond
}

// A Histogram counts durations in fixed exponential buckets (see
// LatencyBound). Recording costs an atomic add or two and allocates
// nothing. It is safe for concurrent use and its zero value is ready to
// use; it must not be copied after first use.
type Histogram struct {
	counts [LatencyBuckets]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

// HistogramSnapshot is a Histogram's content at one moment.
type HistogramSnapshot struct {
	Counts [LatencyBuckets]uint64 // per bucket, not cumulative
	Count  uint64                 // the sum of Counts
	Sum    time.Duration          // of every observation
}

// bucketOf returns the bucket that d falls into.
func bucketOf(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	if us <= 1<<minLatencyShift {
		return 0
	}
	// The smallest i with us <= 2^(minLatencyShift+i).
	return min(bits.Len64(us-1)-minLatencyShift, LatencyBuckets-1)
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	h.counts[bucketOf(d)].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot returns the histogram's counts. Observations that run
// meanwhile may be counted in Sum and not yet in Counts, or the reverse.
func (h *Histogram) Snapshot() HistogramSnapshot {
	var s HistogramSnapshot
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
		s.Count += s.Counts[i]
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// A Meter counts what one group of subscribers does, typically the
// connections of one transport handler, for metrics: their subscriptions,
// and how long their updates took from publishing to the socket. Give it
// to SubscriberOptions.Meter. A Meter is safe for concurrent use; its zero
// value is ready to use, and it must not be copied after first use.
type Meter struct {
	subscriptions atomic.Int64
	latency       Histogram
}

// MeterStats is what a Meter counted.
type MeterStats struct {
	// Subscriptions is the number of topics the group's subscribers
	// subscribe to now (those whose snapshot or catch-up has been queued).
	Subscriptions int64
	// WriteLatency is the time from an update's publication on the node
	// (Message.Time; with a broker, when the broker stored it or, for a
	// broker that does not say, when the node received it) to when a
	// transport takes it from the queue into the frame, event batch or
	// answer it writes next (see ObserveWrite).
	WriteLatency HistogramSnapshot
}

// Stats returns what m counted. A nil Meter counts nothing.
func (m *Meter) Stats() MeterStats {
	if m == nil {
		return MeterStats{}
	}
	return MeterStats{Subscriptions: m.subscriptions.Load(), WriteLatency: m.latency.Snapshot()}
}

// ObserveWrite records, for every update of ds, the time from its
// publication to now, when a transport has taken ds from the queue into
// what it writes next: the time a write then blocks on a slow client is
// not in it (the transports' lag bounds watch that).
// Snapshots, resets and occupancy messages are not counted: their Time is
// not when they were sent. It allocates nothing and costs one atomic add
// per bucket that ds touches, plus one: transports call it once per frame
// or flush, not per message. A nil Meter does nothing.
func (m *Meter) ObserveWrite(ds []Delivery, now time.Time) {
	if m == nil || len(ds) == 0 {
		return
	}
	var n [LatencyBuckets]uint32
	var sum time.Duration
	lo, hi := LatencyBuckets, -1 // the buckets touched
	for i := range ds {
		if ds[i].Kind != Update || ds[i].Message == nil {
			continue
		}
		d := now.Sub(ds[i].Time)
		b := bucketOf(d)
		n[b]++
		lo, hi = min(lo, b), max(hi, b)
		sum += max(d, 0)
	}
	for i := lo; i <= hi; i++ {
		if n[i] > 0 {
			m.latency.counts[i].Add(uint64(n[i]))
		}
	}
	if sum > 0 {
		m.latency.sum.Add(int64(sum))
	}
}

// linkedLocked records that sn was linked to t; t's lock is held.
func (t *topic) linkedLocked(sn *subscription) {
	if m := sn.sub.opts.Meter; m != nil {
		m.subscriptions.Add(1)
	}
	sn.sub.hub.occ.joinedLocked(t)
}

// unlinkedLocked records that sn is being unlinked from t; t's lock is
// held.
func (t *topic) unlinkedLocked(sn *subscription) {
	if m := sn.sub.opts.Meter; m != nil {
		m.subscriptions.Add(-1)
	}
	sn.sub.hub.occ.changedLocked(t)
}

// QueueDepth returns the number of deliveries queued over all the hub's
// subscribers, and the most queued for one. It visits every subscriber,
// taking each one's lock briefly: call it at scrape time, not on a hot
// path.
func (h *Hub) QueueDepth() (total, most int) {
	for _, s := range h.subscribers() {
		n := s.Len()
		total += n
		most = max(most, n)
	}
	return total, most
}
