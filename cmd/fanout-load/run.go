package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// loadRun is what a run's clients share. It is safe for concurrent use.
type loadRun struct {
	cfg                    loadConfig
	st                     *stats
	start                  time.Time
	httpClients            []*http.Client // one per local address: client i takes httpClients[i mod len]
	wsURL, sseURL, pollURL string

	limitOnce sync.Once
	limit     chan struct{} // closed when -messages have been received
}

// counted notes one more message received, and closes limit when the run
// has received -messages.
func (l *loadRun) counted() {
	if n := l.cfg.Messages; n > 0 && l.st.msgs.Load() >= n {
		l.limitOnce.Do(func() { close(l.limit) })
	}
}

// result is what a run measured.
type result struct {
	Config     loadConfig
	Start      time.Time
	Elapsed    time.Duration
	RampTime   time.Duration // from the start to the last connection started
	Started    int           // clients started
	PeakOpen   int64
	Connects   uint64
	Reconnects uint64
	Cuts       uint64
	Never      uint64        // clients that never had a connection open
	CPU        time.Duration // of this process during the run (user and system)
	Msgs       uint64
	Bytes      uint64
	Updates    uint64
	MarkedGaps uint64
	Resets     uint64
	Resumes    uint64
	ResumeRst  uint64
	Occupancy  uint64
	Violations [numKinds]uint64
	Examples   []example
	Errors     map[string]uint64
	Latency    *counts
	Samples    []sample
}

// violations returns the violations counted.
func (r *result) violations() uint64 {
	var n uint64
	for _, v := range r.Violations {
		n += v
	}
	return n
}

// newLoadRun returns what a run's clients share, starting now. Its HTTP
// clients, one per local address (a client's connections all come from
// one), speak HTTP/1.1, one connection per client as browsers have;
// closeIdle must end the run.
func newLoadRun(cfg loadConfig) *loadRun {
	base := strings.TrimSuffix(cfg.URL, "/")
	l := &loadRun{cfg: cfg, st: newStats(), start: time.Now(),
		wsURL: wsURL(base, cfg.WSPath), sseURL: base + cfg.SSEPath, pollURL: base + cfg.PollPath,
		limit: make(chan struct{})}
	for _, d := range newDialers(cfg.Local) {
		tr := &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: cfg.Clients + 16,
			IdleConnTimeout:     30 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			// A TLS configuration of its own keeps HTTP/2 off, so that every
			// client has its own connection, as browsers' tabs do.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: cfg.Insecure},
		}
		l.httpClients = append(l.httpClients, &http.Client{Transport: tr})
	}
	return l
}

// closeIdle closes the idle connections of the run's HTTP clients.
func (l *loadRun) closeIdle() {
	for _, h := range l.httpClients {
		h.CloseIdleConnections()
	}
}

// errNoConnection says that no client could connect.
var errNoConnection = errors.New("fanout-load: no connection could be opened")

// run opens cfg.Clients connections at cfg.Ramp per second, holds them for
// cfg.Duration (or until cfg.Messages have been received, or ctx is
// done), checking every message, then closes them and returns what it
// measured. Live progress goes to progress (nil: none).
func run(ctx context.Context, cfg loadConfig, progress io.Writer) (*result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := newLoadRun(cfg)
	defer l.closeIdle()

	cpu0, _ := usage()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sp := newSampler(l.st, l.start)
	rampTime := time.Duration(float64(cfg.Clients-1) / cfg.Ramp * float64(time.Second))
	prog := newProgress(progress, cfg, rampTime+cfg.Duration, sp)

	var (
		samplerWG sync.WaitGroup
		clients   sync.WaitGroup
		peak      int64
	)
	sctx, stopSampler := context.WithCancel(ctx)
	defer stopSampler()
	samplerWG.Go(func() {
		t := time.NewTicker(cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case now := <-t.C:
				s := sp.take(now)
				peak = max(peak, s.Open)
				prog.update(s)
			}
		}
	})
	started := l.ramp(ctx, &clients)
	rampEnd := time.Now()
	hold := time.NewTimer(time.Until(l.start.Add(rampTime + cfg.Duration)))
	select {
	case <-hold.C:
	case <-l.limit:
	case <-ctx.Done():
	}
	hold.Stop()
	stopSampler()
	samplerWG.Wait()
	last := sp.final(time.Now(), cfg.Interval) // before the connections close
	peak = max(peak, last.Open)
	cancel()
	clients.Wait()
	prog.finish(last)

	cpu1, _ := usage()
	r := l.result(sp.all(), peak, started, rampEnd.Sub(l.start), cpu1-cpu0)
	if r.Connects == 0 {
		return r, errNoConnection
	}
	return r, nil
}

// result gathers what the run's clients counted, once they have ended.
func (l *loadRun) result(samples []sample, peak int64, started int, rampTime, cpu time.Duration) *result {
	st := l.st
	r := &result{Config: l.cfg, Start: l.start, Elapsed: time.Since(l.start), RampTime: rampTime,
		Started: started, PeakOpen: peak, CPU: cpu, Samples: samples, Latency: st.lat.snapshot(),
		Connects: st.connects.Load(), Reconnects: st.reconnects.Load(), Cuts: st.cuts.Load(),
		Never: st.never.Load(), Msgs: st.msgs.Load(), Bytes: st.bytes.Load(), Updates: st.updates.Load(),
		MarkedGaps: st.markedGaps.Load(), Resets: st.resets.Load(), Resumes: st.resumes.Load(),
		ResumeRst: st.resumeReset.Load(), Occupancy: st.occupancy.Load(), Errors: st.errors()}
	for i := range r.Violations {
		r.Violations[i] = st.violations[i].Load()
	}
	st.mu.Lock()
	r.Examples = append([]example(nil), st.examples...)
	st.mu.Unlock()
	return r
}

// ramp starts the clients at cfg.Ramp per second until all are started,
// the message limit is reached or ctx is done, and returns how many it
// started.
func (l *loadRun) ramp(ctx context.Context, clients *sync.WaitGroup) int {
	cfg := l.cfg
	rampTime := time.Duration(float64(cfg.Clients-1) / cfg.Ramp * float64(time.Second))
	cutFrom := l.start.Add(rampTime)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range cfg.Clients {
		at := l.start.Add(time.Duration(float64(i) / cfg.Ramp * float64(time.Second)))
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-l.limit:
				return i
			case <-ctx.Done():
				return i
			}
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		c := &client{id: i, load: l, proto: cfg.Transports[i%len(cfg.Transports)], rng: rng,
			http:   l.httpClients[i%len(l.httpClients)],
			topics: chooseTopics(rng, cfg.Topics, cfg.PerClient, cfg.Dist, cfg.ZipfS)}
		c.chk = newChecker(c.topics, cfg.StrictResume)
		if cfg.Cut > 0 && rng.Float64() < cfg.Cut {
			// Within the hold, away from its edges, so that the connection
			// has a position to resume from and time to resume.
			c.cutAt = cutFrom.Add(time.Duration((0.1 + 0.8*rng.Float64()) * float64(cfg.Duration)))
		}
		clients.Go(func() { c.loop(ctx) })
	}
	return cfg.Clients
}
