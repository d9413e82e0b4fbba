package client

import (
	"time"

	"github.com/fanout-go/fanout"
)

// topic is the client's state of one subscribed topic. Its fields are
// guarded by Client.mu.
type topic struct {
	name  string
	order uint64 // the rank of its Subscribe call: subscribes go out in that order

	// pos is the position of the last message the caller took with Next:
	// what Client.Position reports.
	pos    fanout.Position
	hasPos bool

	// recv is the position of the last message accepted into the queue.
	// Every queued message reaches the caller (unless the topic is
	// unsubscribed), so a resubscribe resumes after recv.
	recv    fanout.Position
	hasRecv bool

	sent    bool      // the subscribe command went out on the current connection
	due     time.Time // when to send it; zero means now
	retries int       // unavailable or rate_limited answers in a row
	gone    bool      // unsubscribed or refused: queued messages are skipped

	occupancy    int  // the newest subscriber count the server pushed
	hasOccupancy bool // one came
}

// verdict is what the client does with an arriving message.
type verdict int

const (
	deliver verdict = iota // queue it for the caller
	drop                   // a duplicate or stale message: ignore it
	lost                   // the topic's sequence broke: resynchronise
)

// judge applies the protocol's rules to a message m of a topic whose last
// accepted position is recv (has reports whether there is one):
//   - without a position, anything is accepted (a fresh subscription
//     starts with a snapshot, or with updates when the topic keeps none);
//   - a message at or before recv in the same epoch is a duplicate,
//     dropped, whatever its kind: the caller's state is already there;
//   - a snapshot or reset replaces the state: accepted;
//   - an update must be recv.Seq+1 in the same epoch, or more with Gap;
//     anything else means the client lost its place.
func judge(recv fanout.Position, has bool, m *Message) verdict {
	if !has {
		return deliver
	}
	sameEpoch := m.Epoch == recv.Epoch
	switch {
	case sameEpoch && m.Seq <= recv.Seq:
		return drop
	case m.Kind != fanout.Update:
		return deliver
	case sameEpoch && (m.Seq == recv.Seq+1 || m.Gap):
		return deliver
	}
	return lost
}

// item is one entry of the caller's queue: a message or a topic error.
type item struct {
	t   *topic
	m   Message
	err *TopicError
}

// queue is a growable ring of items, oldest first.
type queue struct {
	buf  []item
	head int // index of the oldest item
	n    int
}

func (q *queue) len() int { return q.n }

func (q *queue) push(it item) {
	if q.n == len(q.buf) {
		buf := make([]item, max(16, 2*len(q.buf)))
		for i := range q.n {
			buf[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = it
	q.n++
}

func (q *queue) pop() item {
	it := q.buf[q.head]
	q.buf[q.head] = item{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return it
}
