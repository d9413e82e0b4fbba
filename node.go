package fanout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBroker wraps the errors of the broker (Options.Broker): it was
// unreachable, too slow (Options.BrokerTimeout) or refused the call.
// Nothing was published or subscribed; retry later.
var ErrBroker = errors.New("fanout: broker failed")

// DefaultBrokerTimeout is the default of Options.BrokerTimeout.
const DefaultBrokerTimeout = 5 * time.Second

const (
	// maxStash bounds the publications a topic keeps while it is being
	// bound or repaired; beyond it they are dropped and fetched again
	// from the broker once the repair ends.
	maxStash = 1024
	// maxRepairers bounds the goroutines repairing topics at once.
	maxRepairers = 4
	// Retry delays of a repair whose Recover fails.
	minRetry = 50 * time.Millisecond
	maxRetry = 5 * time.Second
)

// node is the hub's side of a broker: it binds topics to the broker,
// applies what the broker delivers and repairs gaps.
//
// A topic with local subscribers mirrors the broker's: its epoch, head,
// snapshot and history are the broker's, and every local subscriber has
// been given everything up to the head. A publication that extends the
// head is applied at once; anything else (a gap, another epoch) is
// stashed and a repairer asks the broker with Recover what was missed,
// installs it, gives each subscriber what it lacks as a resume from the
// old head would (the missing updates, or a Reset), then applies the
// stash. While a topic is being bound or repaired, publications are
// stashed, in order, up to maxStash; beyond it they are dropped and the
// repair runs again. No I/O happens under a lock (the lock order is
// written on shard, in hub.go).
type node struct {
	h       *Hub
	b       Broker
	timeout time.Duration
	linger  time.Duration // how long a topic without subscribers stays subscribed
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // repair workers

	mu      sync.Mutex // guards the fields below
	queue   []*topic   // topics waiting for a repair
	workers int
	closed  bool
	leaving map[string]chan struct{} // topics being unsubscribed; closed when done
	pending []string                 // leaving topics the sweeper has yet to unsubscribe
	retry   chan struct{}            // closed (and replaced) to make waiting repairs retry now

	received   atomic.Uint64
	repairs    atomic.Uint64
	resets     atomic.Uint64
	reconnects atomic.Uint64
	errors     atomic.Uint64 // broker calls that failed
}

// brokerLink is the broker state of a topic; guarded by the topic's lock.
type brokerLink struct {
	bound     bool          // subscribed at the broker and recovered: the topic mirrors it
	binding   *bindCall     // non-nil while a join subscribes and recovers
	repairing bool          // a repair is queued or running
	settled   chan struct{} // closed when the repair ends; nil until a join waits for it
	caughtUp  time.Time     // when a join last started a catch-up
	catchUp   bool          // the repair queued or running is a join's catch-up: no loss was seen
	behind    Position      // non-zero while the node's own stream is trusted to bring it up to there (see lagsLocked)
	moved     chan struct{} // closed when the head moves; nil until a join waits for it
	oldEpoch  string        // the topic's epoch before the broker's last change of epoch
	stash     []Publication // received while binding or repairing, in order
	overflow  bool          // publications were lost since the last recovery began
}

// bindCall is one join binding a topic; the others wait for it.
type bindCall struct {
	done  chan struct{}
	err   error
	retry bool // err came from the binder's context: waiters try again
}

func newNode(h *Hub) *node {
	n := &node{
		h:       h,
		b:       h.opts.Broker,
		timeout: h.opts.BrokerTimeout,
		linger:  sweepInterval,
		leaving: make(map[string]chan struct{}),
		retry:   make(chan struct{}),
	}
	if n.timeout <= 0 {
		n.timeout = DefaultBrokerTimeout
	}
	if ttl := h.opts.IdleTopicTTL; ttl > 0 {
		n.linger = min(ttl, sweepInterval)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	return n
}

// publish forwards a publication to the broker and returns the position
// the broker assigned. Local subscribers receive it when the broker
// delivers it back.
func (n *node) publish(name string, data, state []byte, withState bool) (Position, error) {
	retainLast := false
	if withState {
		if state == nil {
			state = []byte{} // an empty state still replaces the snapshot
		}
	} else if n.h.opts.TopicConfig != nil {
		retainLast = n.h.opts.TopicConfig(name).RetainLast
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.timeout)
	defer cancel()
	pos, err := n.b.Publish(ctx, name, data, state, retainLast)
	if err != nil {
		n.errors.Add(1)
		return Position{}, fmt.Errorf("%w: %w", ErrBroker, err)
	}
	n.h.shardFor(name).published.Add(1)
	return pos, nil
}

// bindUnlock subscribes the topic t at the broker and loads its state,
// once even when many subscribers join at once. The caller holds t's lock,
// which bindUnlock releases. It returns nil when the caller should look at
// the topic again.
func (n *node) bindUnlock(ctx context.Context, t *topic) error {
	if t.link == nil {
		t.link = &brokerLink{}
	}
	l := t.link
	if call := l.binding; call != nil {
		t.mu.Unlock()
		select {
		case <-call.done:
			if call.retry {
				return nil
			}
			return call.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	call := &bindCall{done: make(chan struct{})}
	l.binding = call
	t.mu.Unlock()

	rec, mark, err := n.subscribe(ctx, t)

	t.mu.Lock()
	defer t.mu.Unlock()
	l.binding = nil
	if err != nil {
		n.errors.Add(1)
		l.stash, l.overflow = nil, false
		call.err = fmt.Errorf("%w: %w", ErrBroker, err)
		call.retry = ctx.Err() != nil
		close(call.done)
		return call.err
	}
	close(call.done)
	l.bound = true
	n.installLocked(t, rec, mark, time.Now(), true)
	if n.drainLocked(t, mark) {
		n.repairLocked(t)
	}
	return nil
}

// subscribe subscribes t at the broker, once an earlier unsubscription of
// the name has ended, and recovers its state. mark is how many stashed
// publications predate the recovery.
func (n *node) subscribe(ctx context.Context, t *topic) (rec Recovery, mark int, err error) {
	for {
		n.mu.Lock()
		wait := n.leaving[t.name]
		n.mu.Unlock()
		if wait == nil {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return rec, 0, ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	if err := n.b.Subscribe(ctx, t.name); err != nil {
		return rec, 0, err
	}
	t.mu.Lock()
	mark = len(t.link.stash)
	t.link.overflow = false
	t.mu.Unlock()
	rec, err = n.b.Recover(ctx, t.name, Position{}, max(t.cfg.HistorySize, 0))
	if err != nil {
		// Do not leave a subscription nobody uses; the next join
		// subscribes again anyway.
		uctx, ucancel := context.WithTimeout(n.ctx, n.timeout)
		_ = n.b.Unsubscribe(uctx, t.name)
		ucancel()
	}
	return rec, mark, err
}

// sink is the broker-facing side of a hub: the value NewHub hands to
// Broker.Bind, so that the Sink methods stay out of the Hub's method set.
type sink struct{ h *Hub }

var _ Sink = sink{}

// Receive implements Sink: see Hub.receive.
func (s sink) Receive(p Publication) { s.h.receive(p) }

// Reconnected implements Sink: see Hub.reconnected.
func (s sink) Reconnected() { s.h.reconnected() }

// receive hands the hub a publication from its broker. A publication that follows the topic's head is delivered
// to the topic's subscribers like a local publish; a duplicate is dropped;
// after a gap or on a new epoch the hub repairs the topic from the
// broker's history, or resets its subscribers, so that none of them sees
// a silent gap. It does not block.
func (h *Hub) receive(p Publication) {
	n := h.node
	if n == nil || p.Message == nil || h.closed.Load() {
		return
	}
	sh := h.shardFor(p.Topic)
	sh.mu.RLock()
	t := sh.topics[p.Topic]
	sh.mu.RUnlock()
	if t == nil {
		return // not subscribed here (any more)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.link
	switch {
	case t.dead || l == nil || !l.bound && l.binding == nil:
		return
	case l.binding != nil || l.repairing:
		l.stashLocked(p)
		return
	case p.Epoch == t.epoch && p.Seq <= t.seq:
		return // a duplicate
	case p.Epoch == t.epoch && p.Seq == t.seq+1:
		n.applyLocked(sh, t, p, time.Now())
		return
	}
	l.stashLocked(p)
	n.repairLocked(t)
}

// reconnected tells the hub that its broker lost and restored its
// connection. The hub checks every topic it subscribes to against the broker
// and repairs those that missed publications. It does not block.
func (h *Hub) reconnected() {
	n := h.node
	if n == nil || h.closed.Load() {
		return
	}
	n.reconnects.Add(1)
	n.retryNow()
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, t := range sh.topics {
			t.mu.Lock()
			if l := t.link; l != nil && !t.dead {
				switch {
				case l.binding != nil || l.repairing:
					l.overflow = true // its recovery may predate the outage: check again
				case l.bound:
					n.repairLocked(t)
				}
			}
			t.mu.Unlock()
		}
		sh.mu.RUnlock()
	}
}

// aheadLocked reports whether pos may be a position of t that the broker
// holds and this node has not reached: later in t's epoch, or in an epoch
// this node has not had (a newer one, after the broker lost data). t's
// lock is held.
func (l *brokerLink) aheadLocked(t *topic, pos Position) bool {
	switch pos.Epoch {
	case "", l.oldEpoch:
		return false
	case t.epoch:
		return pos.Seq > t.seq
	}
	return true
}

func (l *brokerLink) stashLocked(p Publication) {
	if len(l.stash) >= maxStash {
		l.overflow = true
		return
	}
	l.stash = append(l.stash, p)
}

// applyLocked delivers p, the publication after the topic's head, as
// Hub.publish does a local one.
func (n *node) applyLocked(sh *shard, t *topic, p Publication, now time.Time) {
	m := p.Message
	t.seq = m.Seq
	t.expireLocked(now)
	t.hist.push(m, t.cfg.HistorySize)
	switch {
	case p.State != nil:
		t.snap = &Message{Topic: t.name, Epoch: m.Epoch, Seq: m.Seq, Time: m.Time, Data: p.State}
	case p.RetainLast:
		t.snap = m
	}
	if t.unpublished {
		_ = n.h.claimLocked(t, false) // published elsewhere
	}
	n.received.Add(1) // before the subscribers can see it, so that tests can count
	delivered, dropped := t.fanoutLocked(m)
	if delivered > 0 {
		sh.delivered.Add(delivered)
	}
	if dropped > 0 {
		sh.dropped.Add(dropped)
	}
	t.link.movedLocked(t)
}

// movedLocked notes that t's head moved: it ends the wait for the node's
// own stream once the stream has brought the head where the broker's was,
// and wakes the joins waiting for the head (see catchUpUnlock).
func (l *brokerLink) movedLocked(t *topic) {
	if l.behind != (Position{}) && (t.epoch != l.behind.Epoch || t.seq >= l.behind.Seq) {
		l.behind = Position{}
	}
	if l.moved != nil {
		close(l.moved)
		l.moved = nil
	}
}

// drainLocked applies the stashed publications that follow the head after
// a recovery. The first mark of them predate the recovery, so one of
// another epoch is stale. It reports whether the topic needs another
// repair: a gap or a new epoch remains, or publications were lost.
func (n *node) drainLocked(t *topic, mark int) bool {
	l := t.link
	sh := n.h.shardFor(t.name)
	now := time.Now()
	i := 0
	for ; i < len(l.stash); i++ {
		p := l.stash[i]
		if p.Epoch != t.epoch {
			if i < mark {
				continue
			}
			break
		}
		if p.Seq <= t.seq {
			continue
		}
		if p.Seq > t.seq+1 {
			break
		}
		n.applyLocked(sh, t, p, now)
	}
	rest := copy(l.stash, l.stash[i:])
	clear(l.stash[rest:])
	l.stash = l.stash[:rest]
	if rest == 0 && cap(l.stash) > 64 {
		l.stash = nil
	}
	return rest > 0 || l.overflow
}

// close stops the repairs, waits for them and closes the broker.
func (n *node) close() error {
	n.mu.Lock()
	n.closed = true
	n.queue = nil
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
	n.leave()
	return n.b.Close()
}

// stats adds the broker's counters to st.
func (n *node) stats(st *Stats) {
	st.BrokerErr = n.b.Health()
	st.Received = n.received.Load()
	st.Repairs = n.repairs.Load()
	st.Resets = n.resets.Load()
	st.Reconnects = n.reconnects.Load()
	st.BrokerErrors = n.errors.Load()
}
