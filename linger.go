package fanout

import (
	"context"
	"time"
)

// A topic bound at the broker stays subscribed there for a while after
// its last local subscriber left (node.linger), so that a client that
// reconnects at once finds it bound; the sweep then retires it and leave
// unsubscribes it at the broker, outside the locks.

// retireLocked reports whether the sweep may forget t and, when it may
// forget a topic bound at the broker, queues its name for unsubscribing
// (see leave). A broker topic stays subscribed for a while after its last
// subscriber left (linger).
func (h *Hub) retireLocked(t *topic, now time.Time) bool {
	l := t.link
	if l == nil {
		return t.evictableLocked(now, h.opts.IdleTopicTTL)
	}
	if len(t.subs) > 0 || l.binding != nil {
		return false
	}
	if !l.bound {
		return true // never bound: nothing to undo at the broker
	}
	n := h.node
	if now.Sub(t.active) < n.linger {
		return false
	}
	n.mu.Lock()
	n.leaving[t.name] = make(chan struct{})
	n.pending = append(n.pending, t.name)
	n.mu.Unlock()
	return true
}

// leave unsubscribes at the broker the topics the sweep evicted. A join
// of one of them waits until it is done before subscribing again.
func (n *node) leave() {
	n.mu.Lock()
	names := n.pending
	n.pending = nil
	n.mu.Unlock()
	for _, name := range names {
		ctx, cancel := context.WithTimeout(n.ctx, n.timeout)
		_ = n.b.Unsubscribe(ctx, name) // on failure the broker sends what Receive ignores
		cancel()
		n.mu.Lock()
		close(n.leaving[name])
		delete(n.leaving, name)
		n.mu.Unlock()
	}
}
