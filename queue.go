package fanout

// entry is one slot of a subscriber's queue.
type entry struct {
	m    *Message
	sn   *subscription
	kind Kind
	gap  bool
}

// queue is a bounded FIFO ring of entries. It addresses slots by absolute
// index (head and tail only grow), so that a conflating subscription can
// remember where its pending entry sits. The backing array starts small and
// doubles up to the limit, so an idle subscriber costs little and a busy one
// stops allocating once it has grown.
type queue struct {
	buf        []entry // len is a power of two
	head, tail uint64  // absolute indexes: entries live at [head, tail)
}

const minQueueBuf = 8

func (q *queue) len() int { return int(q.tail - q.head) }

func (q *queue) at(i uint64) *entry { return &q.buf[i&uint64(len(q.buf)-1)] }

// push appends e unless the queue already holds limit entries.
func (q *queue) push(e entry, limit int) bool {
	n := q.len()
	if n >= limit {
		return false
	}
	if n == len(q.buf) {
		q.grow(limit)
	}
	*q.at(q.tail) = e
	q.tail++
	return true
}

func (q *queue) grow(limit int) {
	size := max(minQueueBuf, 2*len(q.buf))
	for size/2 >= limit && size > minQueueBuf { // no bigger than limit needs
		size /= 2
	}
	buf := make([]entry, size)
	mask := uint64(size - 1)
	for i := q.head; i < q.tail; i++ {
		buf[i&mask] = *q.at(i)
	}
	q.buf = buf
}

// pop removes and returns the oldest entry; the queue must not be empty.
func (q *queue) pop() entry {
	p := q.at(q.head)
	e := *p
	*p = entry{} // let the message be collected
	q.head++
	return e
}

// release drops every entry and the backing array.
func (q *queue) release() { *q = queue{head: q.head, tail: q.head} }
