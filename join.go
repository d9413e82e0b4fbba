package fanout

import (
	"context"
	"time"
)

// Joining a topic: Hub.join finds or creates the topic, binds it at the
// broker or runs its loader when needed, and links the subscription;
// decide chooses what the subscriber receives before the live stream,
// and topic.catchUpLocked queues it, under the topic's lock, so that the
// catch-up is atomic with the stream.

// join links sn to the topic name, running the loader first if the topic
// is cold, and queues its catch-up.
func (h *Hub) join(ctx context.Context, name string, sn *subscription, from *Position) error {
	sh := h.shardFor(name)
	caughtUp := false
	for {
		if h.closed.Load() {
			return ErrClosed
		}
		t, err := h.lockTopic(sh, name, true)
		if err != nil {
			return err
		}
		if h.node != nil && (t.link == nil || !t.link.bound) {
			if err := h.node.bindUnlock(ctx, t); err != nil {
				return err
			}
			continue
		}
		if h.node != nil && !caughtUp && from != nil && t.link.aheadLocked(t, *from) {
			// The subscriber may have seen messages this node has not
			// received yet (it comes from a node ahead of this one): catch
			// up with the broker once rather than reset it.
			caughtUp = true
			if err := h.node.catchUpUnlock(ctx, t, *from); err != nil {
				return err
			}
			continue
		}
		if h.node != nil || h.opts.Loader == nil || t.loaded || t.snap != nil {
			err = sn.sub.linkLocked(t, sn, from, time.Now())
			vacant := err != nil && t.vacantLocked()
			t.mu.Unlock()
			if vacant { // the join created t and failed: it goes at once
				h.dropIfVacant(t)
			}
			return err
		}
		if err := h.loadUnlock(ctx, t); err != nil {
			h.dropIfVacant(t)
			return err
		}
	}
}

// catchUpLocked queues for sn what it needs before the live stream: the
// snapshot or a replay from history, as decide chooses. The subscriber's
// lock must be held too.
func (t *topic) catchUpLocked(sn *subscription, from *Position, now time.Time) bool {
	t.expireLocked(now)
	s := sn.sub
	room := s.opts.QueueSize - s.q.len()
	p, kind := decide(from, t.epoch, t.seq, t.hist.oldest(), room)
	switch p {
	case planReplay:
		ok := true
		t.hist.after(from.Seq, room, func(m *Message) {
			ok = ok && s.q.push(entry{m: m, sn: sn, kind: Update}, s.opts.QueueSize)
		})
		return ok
	case planInitial:
		snap := t.snap
		if snap == nil {
			// No state to give: the position alone (nil data) still
			// starts the subscription, so every fresh join and every
			// reset begins with a message a client can resume from.
			snap = &Message{Topic: t.name, Epoch: t.epoch, Seq: t.seq, Time: now}
		}
		if !s.q.push(entry{m: snap, sn: sn, kind: kind}, s.opts.QueueSize) {
			return false
		}
		if snap.Seq == t.seq {
			return true
		}
		// The snapshot is older than the head: the updates after it come
		// from history, marked with Gap if history cannot reach back to it
		// or they do not all fit.
		ok := true
		first := t.hist.after(snap.Seq, room-1, func(m *Message) {
			ok = ok && s.q.push(entry{m: m, sn: sn, kind: Update}, s.opts.QueueSize)
		})
		if first != snap.Seq+1 {
			if first == 0 {
				sn.gapNext = true
			} else {
				s.q.at(s.q.tail - (t.seq - first + 1)).gap = true
			}
		}
		return ok
	}
	return true
}

// plan is what a joining subscriber receives before the live stream.
type plan int

const (
	planLive    plan = iota // nothing to catch up: live from head+1
	planReplay              // history from since+1 to head, as updates
	planInitial             // the snapshot (kind Snapshot or Reset), then history after it
)

// decide chooses how a subscriber that presents from (nil on a fresh join)
// catches up with a topic whose epoch is epoch and whose newest sequence
// number is head. oldest is the first sequence number history holds (0 when
// empty) and room the free space of the subscriber's queue.
//
// A resume is served from history only when the epoch matches, history
// holds every message after from.Seq and they fit the queue; otherwise the
// subscriber is reset, which is never worse than an overflow or a gap.
func decide(from *Position, epoch string, head, oldest uint64, room int) (plan, Kind) {
	if from == nil {
		return planInitial, Snapshot
	}
	if from.Epoch != epoch || from.Seq > head {
		return planInitial, Reset
	}
	missed := head - from.Seq
	switch {
	case missed == 0:
		return planLive, Update
	case oldest != 0 && oldest <= from.Seq+1 && missed <= uint64(room):
		return planReplay, Update
	}
	return planInitial, Reset
}
