package fanout

import (
	"context"
	"time"
)

// repairLocked queues a repair of t, a bound topic that missed
// publications; t's lock is held. Publications received meanwhile are
// stashed.
func (n *node) repairLocked(t *topic) {
	t.link.repairing = true
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.queue = append(n.queue, t)
	if n.workers < maxRepairers {
		n.workers++
		n.wg.Add(1)
		go n.repairer()
	}
}

// minCatchUpInterval is the least time between two catch-ups of a topic
// (see catchUpUnlock): joins from positions no broker holds, a client's
// bug or a hostile one, cannot make a node query its broker more often.
const minCatchUpInterval = 100 * time.Millisecond

// catchUpUnlock brings the bound topic t up to pos, for a subscriber
// resuming from pos, a position this node has not reached (see
// aheadLocked). It shares the repair under way, or starts a catch-up, at
// most one per minCatchUpInterval (a join that comes sooner waits for the
// next), and waits until pos is reached, the catch-up shows that the
// broker never had pos, the broker timeout passes (the join then resets
// the subscriber) or ctx is done. The caller holds t's lock, which
// catchUpUnlock releases.
//
// A catch-up that finds the node merely behind its own stream (see
// lagsLocked) resets no one: the join waits for the stream, up to half the
// broker timeout, and only then has the topic repaired from what the
// broker holds, resetting the subscribers whose positions it no longer
// covers.
func (n *node) catchUpUnlock(ctx context.Context, t *topic, pos Position) error {
	deadline := time.NewTimer(n.timeout)
	defer deadline.Stop()
	var lagUntil time.Time // bounds the wait for the node's own stream
	l := t.link
	caught, paused := false, false
	for {
		if t.dead || !l.bound || !l.aheadLocked(t, pos) {
			t.mu.Unlock()
			return nil
		}
		var wait <-chan struct{}
		var lagC <-chan time.Time
		switch since := time.Since(l.caughtUp); {
		case l.repairing:
			wait, caught = l.settledLocked(), true
		case l.behind != (Position{}):
			if lagUntil.IsZero() {
				lagUntil = time.Now().Add(n.timeout / 2)
			}
			left := time.Until(lagUntil)
			if left <= 0 {
				n.stopWaitingLocked(t)
				continue
			}
			wait, lagC = l.movedChanLocked(), time.After(left)
		case caught:
			t.mu.Unlock()
			return nil // the broker's head was short of pos: the join resets
		case since < minCatchUpInterval:
			t.mu.Unlock()
			if paused {
				return nil // another join caught up while this one paused
			}
			paused = true
			if done, err := await(ctx, n, deadline, time.After(minCatchUpInterval-since)); done {
				return err
			}
			t.mu.Lock()
			continue
		default:
			l.caughtUp, l.catchUp = time.Now(), true
			n.repairLocked(t)
			wait, caught = l.settledLocked(), true
		}
		t.mu.Unlock()
		if done, err := awaitEither(ctx, n, deadline, wait, lagC); done {
			return err
		}
		t.mu.Lock()
	}
}

// stopWaitingLocked gives up waiting for t's own stream, which did not
// bring the head up in time: t is repaired from what the broker holds.
func (n *node) stopWaitingLocked(t *topic) {
	l := t.link
	if l.behind == (Position{}) || l.repairing {
		return
	}
	l.behind = Position{}
	n.repairLocked(t)
}

// settledLocked returns the channel closed when t's repair ends.
func (l *brokerLink) settledLocked() <-chan struct{} {
	if l.settled == nil {
		l.settled = make(chan struct{})
	}
	return l.settled
}

// movedChanLocked returns the channel closed when t's head moves.
func (l *brokerLink) movedChanLocked() <-chan struct{} {
	if l.moved == nil {
		l.moved = make(chan struct{})
	}
	return l.moved
}

// lagsLocked reports whether rec, the broker's answer to a catch-up,
// shows t merely behind its own stream: the same epoch, a head further on,
// history that no longer reaches back to t's head, and no publication
// known to be lost. The node's stream, which has not yet delivered what
// the broker has (a node paused, or busy), still will; installing rec
// would reset every subscriber of t, who would then have lost nothing.
func (l *brokerLink) lagsLocked(t *topic, rec Recovery) bool {
	if !l.catchUp || l.overflow || rec.Head.Epoch != t.epoch || rec.Head.Seq <= t.seq {
		return false
	}
	msgs := contiguous(rec)
	return len(msgs) == 0 || msgs[0].Seq > t.seq+1
}

// await waits for ch, the deadline, the hub's closing or ctx. It reports
// whether the wait ended otherwise than by ch, with ctx's error if ctx
// ended it.
func await[T any](ctx context.Context, n *node, deadline *time.Timer, ch <-chan T) (bool, error) {
	return awaitEither[T, struct{}](ctx, n, deadline, ch, nil)
}

// awaitEither is await for two channels, either of which ends the wait
// (a nil one never does).
func awaitEither[T, U any](ctx context.Context, n *node, deadline *time.Timer, ch <-chan T, or <-chan U) (bool, error) {
	select {
	case <-ch:
		return false, nil
	case <-or:
		return false, nil
	case <-deadline.C:
	case <-n.ctx.Done():
	case <-ctx.Done():
		return true, ctx.Err()
	}
	return true, nil
}

// settleLocked ends t's repair and wakes the joins waiting for it.
func (l *brokerLink) settleLocked() {
	l.repairing, l.catchUp = false, false
	if l.settled != nil {
		close(l.settled)
		l.settled = nil
	}
}

// repairer repairs queued topics until none is left or the hub closes.
func (n *node) repairer() {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		if len(n.queue) == 0 || n.closed {
			n.workers--
			n.mu.Unlock()
			return
		}
		t := n.queue[0]
		n.queue[0] = nil
		n.queue = n.queue[1:]
		n.mu.Unlock()
		n.repair(t)
	}
}

// repair brings t up to the broker's head: it fetches what the topic
// missed with Recover, retrying while the broker fails, and applies what
// was stashed meanwhile, until nothing is missing.
func (n *node) repair(t *topic) {
	retry := minRetry
	for {
		t.mu.Lock()
		l := t.link
		if t.dead || !l.bound {
			l.settleLocked()
			l.stash, l.overflow = nil, false
			t.mu.Unlock()
			return
		}
		from := Position{Epoch: t.epoch, Seq: t.seq}
		mark := len(l.stash)
		l.overflow = false
		t.mu.Unlock()

		ctx, cancel := context.WithTimeout(n.ctx, n.timeout)
		rec, err := n.b.Recover(ctx, t.name, from, max(t.cfg.HistorySize, 0))
		cancel()
		if err != nil {
			n.errors.Add(1)
			if !n.wait(retry) {
				return // the hub is closing
			}
			retry = min(2*retry, maxRetry)
			continue
		}

		t.mu.Lock()
		done := t.dead
		if !done {
			if l.lagsLocked(t, rec) {
				l.behind = rec.Head // the stream brings the rest: reset no one
			} else {
				n.installLocked(t, rec, mark, time.Now(), false)
			}
			l.catchUp = false // what follows, if anything, is a loss
			done = !n.drainLocked(t, mark)
		}
		if done {
			l.settleLocked()
		}
		t.mu.Unlock()
		if done {
			return
		}
	}
}

// wait waits for d, or until the broker reports it reconnected, or for
// the hub to close (false).
func (n *node) wait(d time.Duration) bool {
	n.mu.Lock()
	retry := n.retry
	n.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-retry:
	case <-n.ctx.Done():
		return false
	}
	return true
}

// retryNow wakes the repairs waiting to retry.
func (n *node) retryNow() {
	n.mu.Lock()
	close(n.retry)
	n.retry = make(chan struct{})
	n.mu.Unlock()
}

// installLocked brings t's state (epoch, head, history, snapshot) up to
// rec and gives every subscriber what it missed: the missing updates when
// the epoch is the same and history reaches back to them and they fit the
// subscriber's queue, else a Reset with the snapshot. A head behind ours
// in the same epoch (a broker that lost data without changing the epoch)
// resets too: the broker is the authority, and otherwise its next
// publications would be dropped as duplicates. initial is set when the
// topic is being bound and has no subscriber yet.
func (n *node) installLocked(t *topic, rec Recovery, mark int, now time.Time, initial bool) {
	old := Position{Epoch: t.epoch, Seq: t.seq}
	same := !initial && rec.Head.Epoch == t.epoch
	if same && rec.Head.Seq == t.seq {
		return // nothing missed
	}
	msgs := contiguous(rec)
	if same && rec.Head.Seq > t.seq && len(msgs) > 0 && msgs[0].Seq <= t.seq+1 {
		for _, m := range msgs {
			if m.Seq > t.seq {
				t.hist.push(m, t.cfg.HistorySize)
			}
		}
		n.repairs.Add(1)
	} else {
		if !initial && t.epoch != rec.Head.Epoch {
			t.link.oldEpoch = t.epoch
		}
		t.epoch = rec.Head.Epoch
		t.hist = history{}
		for _, m := range msgs {
			t.hist.push(m, t.cfg.HistorySize)
		}
		if !initial {
			n.resets.Add(1)
		}
	}
	t.seq = rec.Head.Seq
	t.snap = rec.Snapshot
	if t.unpublished && (t.seq > 0 || t.snap != nil) {
		_ = n.h.claimLocked(t, false) // the broker holds state: not a client's invention
	}
	for i := 0; i < len(t.subs); {
		if !resyncLocked(t, t.subs[i], old, now) {
			t.removeAtLocked(i)
			continue
		}
		i++
	}
	t.link.behind = Position{}
	t.link.movedLocked(t)
}

// contiguous returns rec's messages when they are the history of its head
// without holes, else nil: a broker that breaks its contract is treated
// as one without history.
func contiguous(rec Recovery) []*Message {
	msgs := rec.Messages
	if len(msgs) == 0 || msgs[len(msgs)-1].Seq != rec.Head.Seq {
		return nil
	}
	for i, m := range msgs {
		if m == nil || m.Epoch != rec.Head.Epoch || m.Seq != msgs[0].Seq+uint64(i) {
			return nil
		}
	}
	return msgs
}

// resyncLocked queues for sn what it needs to go from old to t's new
// head, as a resume from old would; t's lock is held. It reports false
// when sn is gone or ended (its queue overflowed).
func resyncLocked(t *topic, sn *subscription, old Position, now time.Time) bool {
	s := sn.sub
	s.mu.Lock()
	if s.err != nil || sn.gone {
		s.mu.Unlock()
		return false
	}
	before := s.q.len()
	if !t.catchUpLocked(sn, &old, now) {
		s.failLocked(ErrSlowConsumer)
		s.mu.Unlock()
		s.notify()
		return false
	}
	if sn.conflate && s.q.len() > before {
		sn.pending = s.q.tail
	}
	wake := before == 0 && s.q.len() > 0
	s.mu.Unlock()
	if wake {
		s.notify()
	}
	return true
}
