package fanout

// entry is one slot of a subscriber's queue.
type entry struct {
	m    *Message
	sn   *subscription
	kind Kind
	gap  bool
}

// queue is a subscriber's bounded FIFO of entries. Absolute indexes let a
// conflating subscription remember where its pending entry sits.
type queue struct{ ring[entry] }

// push appends e unless the queue already holds limit entries.
func (q *queue) push(e entry, limit int) bool {
	if q.len() >= limit {
		return false
	}
	q.pushBack(e, limit)
	return true
}

// pop removes and returns the oldest entry; the queue must not be empty.
func (q *queue) pop() entry { return q.popFront() }

// release drops every entry and the backing array.
func (q *queue) release() { q.reset() }
