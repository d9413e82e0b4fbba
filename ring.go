package fanout

// ring is a FIFO ring buffer addressed by absolute index: head and tail
// only grow, and the element at index i lives at buf[i&(len(buf)-1)]. A
// subscriber's queue and a topic's history are rings. The backing array
// starts small and doubles up to the ring's limit, so an idle ring costs
// little and a busy one stops allocating once it has grown.
type ring[T any] struct {
	buf        []T    // len is zero or a power of two
	head, tail uint64 // elements live at [head, tail)
}

// minRing is the length of a ring's first backing array.
const minRing = 8

func (r *ring[T]) len() int { return int(r.tail - r.head) }

// at returns the slot of absolute index i, which must be in [head, tail).
func (r *ring[T]) at(i uint64) *T { return &r.buf[i&uint64(len(r.buf)-1)] }

// pushBack appends v, growing the array if it is full; the caller keeps
// the ring within its limit.
func (r *ring[T]) pushBack(v T, limit int) {
	if r.len() == len(r.buf) {
		r.grow(limit)
	}
	*r.at(r.tail) = v
	r.tail++
}

// popFront removes and returns the oldest element; the ring must not be
// empty. The slot is zeroed so that what it held can be collected.
func (r *ring[T]) popFront() T {
	p := r.at(r.head)
	v := *p
	var zero T
	*p = zero
	r.head++
	return v
}

// grow doubles the backing array, to no more than limit needs.
func (r *ring[T]) grow(limit int) {
	size := max(minRing, 2*len(r.buf))
	for size/2 >= limit && size > minRing {
		size /= 2
	}
	buf := make([]T, size)
	for i := r.head; i < r.tail; i++ {
		buf[i&uint64(size-1)] = *r.at(i)
	}
	r.buf = buf
}

// reset drops every element and the backing array, keeping the indexes.
func (r *ring[T]) reset() { *r = ring[T]{head: r.tail, tail: r.tail} }
