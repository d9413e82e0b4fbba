package sse

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

// Bits of stream.state.
const (
	stPing   = 1 << iota // a heartbeat is due
	stEnding             // Shutdown: write what is queued, then end
)

// stream is one open event stream.
type stream struct {
	h   *Handler
	sub *fanout.Subscriber

	state  atomic.Uint32 // st* bits
	writer conns.Writer  // the writer role: held by the request's goroutine first, then by writer goroutines
	wrote  atomic.Bool   // events were written since the last heartbeat tick
	// hijacked is set once the stream has its own connection; the
	// heartbeat goroutine serves only those streams.
	hijacked atomic.Bool
	// stuck is set when a write failed (its deadline passed) or Close cut
	// the stream: finish drops what the kernel still holds for it.
	stuck atomic.Bool

	ticket  conns.Ticket // the stream's admission
	started time.Time    // when the stream subscribed: what it queued then is undelivered since

	// Owned by the writer (the goroutine that holds the writer role).
	lag   conns.Lag // how far the writer is behind
	since time.Time // when the oldest message of the batch being built became undelivered
	cur   cursor
	pre   []byte // bytes to write before the next events: head, retry, errors
	// runFn is s.runAsync, bound by the first trigger that starts a
	// writer: "go s.runAsync()" would allocate a closure at every start.
	runFn func()

	// The connection: conn when hijacked, else w and rc.
	w  http.ResponseWriter
	rc *http.ResponseController

	mu       sync.Mutex // guards conn, wake and finished
	conn     net.Conn
	wake     chan struct{} // wakes a serveLoop stream for end
	finished bool
}

// scratch is a writer's reusable memory, pooled by the handler so that an
// idle stream holds none.
type scratch struct {
	out []byte
	ds  [32]fanout.Delivery
}

// trigger makes sure a writer runs for s (see conns.Writer). It is the
// subscriber's OnReady hook and the heartbeat's kick, so it runs on a
// publisher's goroutine under the topic's lock: it only flips bits and
// starts a goroutine.
func (s *stream) trigger() {
	if s.writer.Busy() {
		return
	}
	h := s.h
	h.active.Add(1) // before taking the role, so that Close waiting for zero sees it
	if !s.writer.TryStart() {
		h.leave()
		return
	}
	if s.runFn == nil {
		s.runFn = s.runAsync // once per stream; trigger holds the role
	}
	go s.runFn()
}

func (s *stream) runAsync() {
	defer s.h.leave()
	s.run()
}

// run writes until nothing is left to write, then gives the writer role
// up. The caller holds the role.
func (s *stream) run() {
	for {
		if !s.flush() {
			s.finish()
			return
		}
		if !s.writer.Release(s.pending) {
			return
		}
	}
}

// pending reports whether the writer has work: queued messages, a
// heartbeat, or the end of the subscriber.
func (s *stream) pending() bool {
	return s.state.Load()&(stPing|stEnding) != 0 || s.sub.Len() > 0 || s.sub.Err() != nil
}

// flush writes s.pre, a due heartbeat and everything queued, in writes of
// about MaxBatchBytes. It returns false when the stream must end: the
// subscriber ended (slow consumer, hub closed, Shutdown) or a write failed.
func (s *stream) flush() bool {
	sc := s.h.scratch.Get().(*scratch)
	defer s.h.putScratch(sc)
	b := append(sc.out[:0], s.pre...)
	s.pre = nil
	if s.state.And(^uint32(stPing))&stPing != 0 {
		b = append(b, ": ping\n\n"...)
	}
	ok, events := true, false
	for {
		n, err := s.sub.Drain(sc.ds[:])
		if n > 0 && s.lagging(sc.ds[:n]) {
			clear(sc.ds[:n])
			sc.out = b
			return false // a slow consumer: the stream ends, and resumes
		}
		var taken int
		var sent bool
		b, taken, sent = s.appendBatch(b, sc.ds[:n])
		if sent {
			s.h.stats.Meter.ObserveWrite(sc.ds[:n], time.Now())
		}
		clear(sc.ds[:n])
		if !sent {
			sc.out = b
			return false
		}
		events = events || n > 0
		if err != nil {
			ok = false
			break
		}
		if s.lag.Took(taken, n < len(sc.ds)) {
			sc.out = b
			return false
		}
		if n < len(sc.ds) {
			break
		}
	}
	if len(b) > 0 && s.send(b) != nil {
		ok = false
	}
	s.since = time.Time{}
	if events {
		s.wrote.Store(true)
	}
	sc.out = b
	return ok && s.state.Load()&stEnding == 0
}

// appendBatch appends the events of ds to b, writing b out whenever it
// reaches MaxBatchBytes, so that a stream holds at most that much (plus
// one event) while its write waits. It returns b, the bytes of the
// events, and false when a write failed.
func (s *stream) appendBatch(b []byte, ds []fanout.Delivery) (_ []byte, taken int, ok bool) {
	for i, d := range ds {
		at := len(b)
		b = s.appendDelivery(b, d)
		taken += len(b) - at
		if len(b) < s.h.opts.MaxBatchBytes {
			continue
		}
		if s.send(b) != nil {
			return b, taken, false
		}
		b = b[:0]
		s.since = time.Time{} // what is left of ds is undelivered since its first event
		if rest := ds[i+1:]; len(rest) > 0 {
			s.since = conns.Since(rest, s.started)
		}
	}
	return b, taken, true
}

// lagging reports whether the stream, which has just taken ds from its
// queue, lags beyond Options.MaxLag: the oldest event it has not written
// yet is too old. It records when that event became undelivered, for the
// write deadline (see send).
func (s *stream) lagging(ds []fanout.Delivery) bool {
	since := conns.Since(ds, s.started)
	if s.since.IsZero() || since.Before(s.since) {
		s.since = since
	}
	return s.lag.Over(time.Now(), s.since)
}

func (h *Handler) putScratch(sc *scratch) {
	if cap(sc.out) > 2*h.opts.MaxBatchBytes+fanout.DefaultMaxMessageSize {
		return // an outsized batch: let it go
	}
	sc.out = sc.out[:0]
	h.scratch.Put(sc)
}

// appendDelivery appends the event of d and moves the cursor past it.
func (s *stream) appendDelivery(b []byte, d fanout.Delivery) []byte {
	i := s.cur.index(d.Topic)
	if i < 0 {
		return b // not a topic of the stream: cannot happen
	}
	if d.Kind != fanout.Occupancy { // not in the topic's sequence: the cursor stays
		s.cur.set(i, d.Position())
	}
	return appendEvent(b, &s.cur, d.Kind.String(), protocol.Encode(d))
}

// send writes b to the client within WriteTimeout, and before the oldest
// event it carries exceeds MaxLag.
func (s *stream) send(b []byte) error {
	now := time.Now()
	deadline := s.lag.Deadline(now, s.since, s.h.opts.WriteTimeout)
	if deadline.Sub(now) < minWriteTime {
		deadline = now.Add(minWriteTime)
	}
	if s.conn != nil {
		_ = s.conn.SetWriteDeadline(deadline)
		_, err := s.conn.Write(b)
		if err != nil {
			s.stuck.Store(true)
		}
		return err
	}
	_ = s.rc.SetWriteDeadline(deadline) // unsupported by some writers: then unbounded
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// minWriteTime is the least time a write is given, also when the event
// it carries is about to exceed MaxLag.
const minWriteTime = 100 * time.Millisecond

// end ends the stream gracefully: its writer writes what is queued, then
// closes it.
func (s *stream) end() {
	s.state.Or(stEnding)
	s.mu.Lock()
	wake := s.wake
	s.mu.Unlock()
	if wake != nil {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	s.trigger()
}

// finish closes the stream at once: the connection, the subscriber and
// its place in the handler. It is idempotent.
func (s *stream) finish() {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	s.finished = true
	conn := s.conn
	s.mu.Unlock()
	s.writer.Kill()
	switch {
	case conn == nil:
	case s.stuck.Load():
		_ = conns.Discard(conn) // drop what the kernel holds for a client that does not read
	default:
		_ = conn.Close()
	}
	s.h.stats.Closed(endReason(s.sub.Err()))
	_ = s.sub.Close()
	s.h.unregister(s)
}

// attach records the hijacked connection; it returns false, having closed
// conn, if the stream was finished meanwhile.
func (s *stream) attach(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		_ = conn.Close()
		return false
	}
	s.conn = conn
	s.hijacked.Store(true)
	return true
}
