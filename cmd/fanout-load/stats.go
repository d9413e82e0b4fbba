package main

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// maxExamples bounds the violations kept with their details.
const maxExamples = 20

// stats gathers what every client saw. It is safe for concurrent use.
type stats struct {
	open        atomic.Int64  // connections open now (a poller counts while it polls)
	connects    atomic.Uint64 // connections opened, reconnections included
	reconnects  atomic.Uint64 // connections opened again after one ended
	cuts        atomic.Uint64 // connections cut on purpose (-cut)
	never       atomic.Uint64 // clients that never had a connection open
	msgs        atomic.Uint64 // protocol messages received
	bytes       atomic.Uint64 // bytes of those messages
	updates     atomic.Uint64 // updates applied
	markedGaps  atomic.Uint64 // updates marked "gap": true that skipped seqs
	resets      atomic.Uint64 // resets applied
	resumes     atomic.Uint64 // topics resumed without loss after a reconnection
	resumeReset atomic.Uint64 // topics whose resume was answered with a reset
	occupancy   atomic.Uint64 // occupancy counts received
	violations  [numKinds]atomic.Uint64
	lat         histogram

	mu       sync.Mutex // guards examples and errs
	examples []example
	errs     map[string]uint64 // server errors and failed connections, by kind
}

// example is one violation with its details.
type example struct {
	At     time.Duration // since the start of the run
	Client int
	Kind   Kind
	Detail string
}

func newStats() *stats { return &stats{errs: make(map[string]uint64)} }

// violate counts a violation and keeps its details while there are few.
func (s *stats) violate(at time.Duration, client int, k Kind, detail string) {
	s.violations[k].Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.examples) < maxExamples {
		s.examples = append(s.examples, example{At: at, Client: client, Kind: k, Detail: detail})
	}
}

// fail counts an error by its kind: a failed connection, a server error.
func (s *stats) fail(kind string) {
	s.mu.Lock()
	s.errs[kind]++
	s.mu.Unlock()
}

// totalViolations returns the violations counted so far.
func (s *stats) totalViolations() uint64 {
	var n uint64
	for i := range s.violations {
		n += s.violations[i].Load()
	}
	return n
}

// errors returns a copy of the error counts.
func (s *stats) errors() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.errs)
}

// sample is the state of the run at one moment, for the charts.
type sample struct {
	At         time.Duration // since the start of the run
	Open       int64         // connections open
	MsgsPerSec float64       // messages received per second since the previous sample
	P50, P99   time.Duration // latency of the messages received since the previous sample
	Violations uint64        // so far
}

// sampler takes a sample of stats at each tick.
type sampler struct {
	st      *stats
	start   time.Time
	prevAt  time.Time
	prevMsg uint64
	prevLat *counts

	mu      sync.Mutex // guards samples
	samples []sample
}

func newSampler(st *stats, start time.Time) *sampler {
	return &sampler{st: st, start: start, prevAt: start, prevLat: &counts{}}
}

// take records a sample at now; one goroutine calls it.
func (sp *sampler) take(now time.Time) sample {
	msgs := sp.st.msgs.Load()
	lat := sp.st.lat.snapshot()
	d := lat.sub(sp.prevLat)
	s := sample{At: now.Sub(sp.start), Open: sp.st.open.Load(), P50: d.quantile(0.5), P99: d.quantile(0.99),
		Violations: sp.st.totalViolations()}
	if secs := now.Sub(sp.prevAt).Seconds(); secs > 0 {
		s.MsgsPerSec = float64(msgs-sp.prevMsg) / secs
	}
	sp.prevAt, sp.prevMsg, sp.prevLat = now, msgs, lat
	sp.mu.Lock()
	sp.samples = append(sp.samples, s)
	sp.mu.Unlock()
	return s
}

// final records the sample that ends the run, unless the previous one is
// less than half of interval old: a sample of a sliver of time would show
// its rates as noise. It returns the run's last sample.
func (sp *sampler) final(now time.Time, interval time.Duration) sample {
	if len(sp.all()) > 0 && now.Sub(sp.prevAt) < interval/2 {
		s := sp.last()
		s.Open, s.Violations = sp.st.open.Load(), sp.st.totalViolations()
		return s
	}
	return sp.take(now)
}

// last returns the latest sample, or the zero one.
func (sp *sampler) last() sample {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.samples) == 0 {
		return sample{}
	}
	return sp.samples[len(sp.samples)-1]
}

// all returns a copy of the samples.
func (sp *sampler) all() []sample {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return append([]sample(nil), sp.samples...)
}
