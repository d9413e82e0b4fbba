package fanout

import "fmt"

// Unpublished topics are those a join created and that have had no state
// since: nothing was published on them, the loader gave them none, the
// broker holds none. Clients choose the names they subscribe to, so such
// topics are counted apart from the published ones (the hub's topics and
// unpublished counters, Options.MaxTopics and MaxUnpublishedTopics): no
// flood of invented names can make Publish fail. On a hub without a
// broker an unpublished topic goes as soon as its last subscriber leaves,
// and a shard's map is rebuilt when it has shrunk well below its peak, so
// the memory of a flood returns once the clients leave.

// shrinkMin is the smallest peak of a shard's map worth rebuilding for.
const shrinkMin = 256

// claimLocked makes the unpublished topic t a published one, now that it
// has state. A local publish checks MaxTopics first (check); state that
// arrives from the loader or the broker is taken regardless. t's lock is
// held.
func (h *Hub) claimLocked(t *topic, check bool) error {
	if check && h.topics.Load() >= int64(h.opts.MaxTopics) {
		return fmt.Errorf("%w: %d topics; raise Options.MaxTopics", ErrLimit, h.opts.MaxTopics)
	}
	t.unpublished = false
	h.unpublished.Add(-1)
	h.topics.Add(1)
	return nil
}

// vacantLocked reports whether t can go at once: unpublished, with no
// subscriber, nothing loading, and no broker state to undo. t's lock is
// held.
func (t *topic) vacantLocked() bool {
	return t.unpublished && !t.dead && len(t.subs) == 0 && t.loading == nil && t.link == nil
}

// unlink removes sn from t and forgets t if that left it vacant. No lock
// is held.
func (h *Hub) unlink(t *topic, sn *subscription) {
	t.mu.Lock()
	t.removeLocked(sn)
	vacant := t.vacantLocked()
	t.mu.Unlock()
	if vacant {
		h.dropIfVacant(t)
	}
}

// dropIfVacant forgets t if it is still vacant. No lock is held.
func (h *Hub) dropIfVacant(t *topic) {
	sh := h.shardFor(t.name)
	sh.mu.Lock()
	t.mu.Lock()
	if t.vacantLocked() && sh.topics[t.name] == t {
		h.forgetLocked(sh, t)
	}
	t.mu.Unlock()
	h.shrinkLocked(sh)
	sh.mu.Unlock()
}

// forgetLocked removes t from its shard. Both locks are held.
//
// Every topic starts in the hub's current epoch (h.epoch), so that a
// vacant topic that goes and comes back keeps its epoch: a client that
// holds its position (epoch, 0) has lost nothing, and a long-poll client
// is held rather than reset on every poll. A topic that had messages or
// state takes its epoch with it: when it goes in the current epoch, the
// hub moves to a new one before the name can be created again (creation
// reads h.epoch under the same shard lock), so that positions of its
// earlier life are never mistaken for ones of the next.
func (h *Hub) forgetLocked(sh *shard, t *topic) {
	t.dead = true
	delete(sh.topics, t.name)
	if t.unpublished {
		h.unpublished.Add(-1)
	} else {
		h.topics.Add(-1)
	}
	if cur := h.epoch.Load(); (t.seq > 0 || t.snap != nil) && t.epoch == *cur {
		next := NewEpoch()
		h.epoch.CompareAndSwap(cur, &next)
	}
}

// shrinkLocked rebuilds sh's map once it holds a quarter of its peak or
// less: a Go map never returns the buckets it grew, so without this a
// flood of topics would keep its memory after the topics left. sh's lock
// is held.
func (h *Hub) shrinkLocked(sh *shard) {
	if sh.peak < shrinkMin || len(sh.topics) > sh.peak/4 {
		return
	}
	m := make(map[string]*topic, len(sh.topics))
	for name, t := range sh.topics {
		m[name] = t
	}
	sh.topics = m
	sh.peak = len(m)
}
