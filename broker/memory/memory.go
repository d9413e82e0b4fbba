package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fanout-go/fanout"
)

// Options configures a Broker. The zero value gives the defaults.
type Options struct {
	// HistorySize is how many recent messages the broker keeps per topic
	// for Recover. Zero means fanout.DefaultHistorySize; a negative value keeps
	// none.
	HistorySize int

	// QueueSize bounds the publications queued for one node. A node whose
	// queue is full misses the publications that do not fit and is then
	// told so with fanout.Sink.Reconnected, as a remote broker's client would be
	// after its connection dropped. Zero means DefaultQueueSize.
	QueueSize int

	// MaxTopics bounds the topics the broker holds. Zero means
	// fanout.DefaultMaxTopics.
	MaxTopics int
}

// DefaultQueueSize is the default of Options.QueueSize.
const DefaultQueueSize = 4096

// errMemoryDown is what a Broker returns while SetDown(true) holds.
var errMemoryDown = errors.New("fanout: memory broker is down (Broker.SetDown); retry once it is up")

// A Broker is an in-process broker that several hubs in one process
// share, each through its own Conn. It behaves like a remote broker:
// it has its own sequence numbers, epochs, history and snapshots, and
// delivers publications to each node asynchronously, through a bounded
// queue and a goroutine that the node's Conn owns. Its test hooks
// (Flush, SetDown, Conn.DropNext) simulate a broker losing its data,
// an outage and lost publications.
//
// A Broker is safe for concurrent use. Create one with
// New; the zero value is not usable. It holds no goroutine of
// its own: closing its connections releases everything.
type Broker struct {
	opts Options

	mu     sync.Mutex // guards the fields below and every Conn's topics
	topics map[string]*memTopic
	subs   map[string]map[*Conn]struct{} // topic -> subscribed nodes
	conns  map[*Conn]struct{}
	down   bool
}

// memTopic is a topic as the memory broker stores it.
type memTopic struct {
	epoch string
	seq   uint64
	hist  history
	snap  *fanout.Message
}

// New returns an empty in-process broker.
func New(opts Options) *Broker {
	if opts.HistorySize == 0 {
		opts.HistorySize = fanout.DefaultHistorySize
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxTopics <= 0 {
		opts.MaxTopics = fanout.DefaultMaxTopics
	}
	return &Broker{
		opts:   opts,
		topics: make(map[string]*memTopic),
		subs:   make(map[string]map[*Conn]struct{}),
		conns:  make(map[*Conn]struct{}),
	}
}

// Connect returns a new connection to the broker for one node (one hub):
// pass it as fanout.Options.Broker. It starts the goroutine that delivers the
// node's publications; Close stops it.
func (b *Broker) Connect() *Conn {
	c := &Conn{
		b:      b,
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		topics: make(map[string]struct{}),
	}
	b.mu.Lock()
	b.conns[c] = struct{}{}
	b.mu.Unlock()
	go c.run()
	return c
}

// Flush makes the broker lose every topic's sequence, history and
// snapshot, as a broker restarted without persistence would: each topic
// starts a new epoch at Seq 0. Subscriptions stay and nodes are not told;
// they notice the new epoch on the next publication.
func (b *Broker) Flush() {
	b.mu.Lock()
	clear(b.topics)
	b.mu.Unlock()
}

// SetDown simulates an outage. While down, every call of every connection
// fails, Health reports the outage, and publications queued for nodes are
// lost. When it comes back up, every node is told with fanout.Sink.Reconnected.
// The broker keeps its data through the outage (see Flush to lose it).
func (b *Broker) SetDown(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down == down {
		return
	}
	b.down = down
	for c := range b.conns {
		c.mu.Lock()
		if down {
			clear(c.q)
			c.q = c.q[:0]
			c.lost = false
		} else {
			c.lost = true
		}
		c.mu.Unlock()
		c.signal()
	}
}

// topicLocked returns the stored topic name, created with a fresh epoch if
// the broker does not know it.
func (b *Broker) topicLocked(name string) (*memTopic, error) {
	if mt := b.topics[name]; mt != nil {
		return mt, nil
	}
	if len(b.topics) >= b.opts.MaxTopics {
		return nil, fmt.Errorf("%w: %d topics in the memory broker; raise Options.MaxTopics", fanout.ErrLimit, b.opts.MaxTopics)
	}
	mt := &memTopic{epoch: fanout.NewEpoch()}
	b.topics[name] = mt
	return mt, nil
}

// copyMessage returns a copy of m, as a node of a remote broker would
// decode it: nodes never share a Message (nor its encoding cache).
func copyMessage(m *fanout.Message) *fanout.Message {
	if m == nil {
		return nil
	}
	return &fanout.Message{Topic: m.Topic, Epoch: m.Epoch, Seq: m.Seq, Time: m.Time, Data: m.Data}
}

// A Conn is one node's connection to a Broker; it implements
// fanout.Broker. It is safe for concurrent use. Create one with
// Broker.Connect and Close it when done (a Hub closes its broker).
type Conn struct {
	b    *Broker
	wake chan struct{} // signals run that q or lost changed
	stop chan struct{} // closed by Close
	done chan struct{} // closed when run has returned

	mu      sync.Mutex // guards the fields below
	sink    fanout.Sink
	q       []fanout.Publication // publications waiting for delivery, at most QueueSize
	reports [][]byte             // occupancy reports waiting for delivery, at most QueueSize
	lost    bool                 // publications were lost: tell the sink Reconnected
	drop    int                  // publications still to drop (DropNext)
	closed  bool

	topics map[string]struct{} // subscribed topics; guarded by b.mu
}

var _ fanout.Broker = (*Conn)(nil)

// DropNext makes the connection lose the next n publications meant for
// its node, on any topic, without telling it, as a lossy network would.
func (c *Conn) DropNext(n int) {
	c.mu.Lock()
	c.drop += n
	c.mu.Unlock()
}

// Bind sets the sink that receives the node's publications.
func (c *Conn) Bind(sink fanout.Sink) {
	c.mu.Lock()
	c.sink = sink
	c.mu.Unlock()
}

// begin checks that a call can go ahead and locks the broker.
func (c *Conn) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return fanout.ErrClosed
	}
	c.b.mu.Lock()
	if c.b.down {
		c.b.mu.Unlock()
		return errMemoryDown
	}
	return nil
}

// Publish implements fanout.Broker.
func (c *Conn) Publish(ctx context.Context, topic string, data, state []byte, retainLast bool) (fanout.Position, error) {
	if err := c.begin(ctx); err != nil {
		return fanout.Position{}, err
	}
	b := c.b
	defer b.mu.Unlock()
	mt, err := b.topicLocked(topic)
	if err != nil {
		return fanout.Position{}, err
	}
	mt.seq++
	m := &fanout.Message{Topic: topic, Epoch: mt.epoch, Seq: mt.seq, Time: time.Now(), Data: data}
	mt.hist.push(m, b.opts.HistorySize)
	switch {
	case state != nil:
		mt.snap = &fanout.Message{Topic: topic, Epoch: mt.epoch, Seq: mt.seq, Time: m.Time, Data: state}
	case retainLast:
		mt.snap = m
	}
	for node := range b.subs[topic] {
		node.enqueue(fanout.Publication{Message: copyMessage(m), State: state, RetainLast: retainLast && state == nil})
	}
	return m.Position(), nil
}

// Subscribe implements fanout.Broker. Subscribing to a subscribed topic does
// nothing.
func (c *Conn) Subscribe(ctx context.Context, topic string) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	b := c.b
	defer b.mu.Unlock()
	nodes := b.subs[topic]
	if nodes == nil {
		nodes = make(map[*Conn]struct{})
		b.subs[topic] = nodes
	}
	nodes[c] = struct{}{}
	c.topics[topic] = struct{}{}
	return nil
}

// Unsubscribe implements fanout.Broker. Unsubscribing from a topic the node does
// not subscribe to does nothing.
func (c *Conn) Unsubscribe(ctx context.Context, topic string) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.b.mu.Unlock()
	c.unsubscribeLocked(topic)
	return nil
}

func (c *Conn) unsubscribeLocked(topic string) {
	b := c.b
	if nodes := b.subs[topic]; nodes != nil {
		delete(nodes, c)
		if len(nodes) == 0 {
			delete(b.subs, topic)
		}
	}
	delete(c.topics, topic)
}

// Recover implements fanout.Broker. An empty after.Epoch stands for the start of
// the current epoch.
func (c *Conn) Recover(ctx context.Context, topic string, after fanout.Position, limit int) (fanout.Recovery, error) {
	if err := c.begin(ctx); err != nil {
		return fanout.Recovery{}, err
	}
	b := c.b
	defer b.mu.Unlock()
	mt, err := b.topicLocked(topic)
	if err != nil {
		return fanout.Recovery{}, err
	}
	rec := fanout.Recovery{Head: fanout.Position{Epoch: mt.epoch, Seq: mt.seq}, Snapshot: copyMessage(mt.snap)}
	if limit > 0 && (after.Epoch == "" || after.Epoch == mt.epoch) && after.Seq < mt.seq {
		rec.Messages = make([]*fanout.Message, 0, min(uint64(limit), mt.seq-after.Seq, uint64(mt.hist.len())))
		mt.hist.after(after.Seq, limit, func(m *fanout.Message) {
			rec.Messages = append(rec.Messages, copyMessage(m))
		})
	}
	return rec, nil
}

// Health implements fanout.Broker.
func (c *Conn) Health() error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return fanout.ErrClosed
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.b.down {
		return errMemoryDown
	}
	return nil
}

// Close disconnects the node: its subscriptions end, queued publications
// are dropped and its goroutine exits. It is idempotent, waits, and
// returns nil.
func (c *Conn) Close() error {
	b := c.b
	b.mu.Lock()
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.q = nil
	c.reports = nil
	c.mu.Unlock()
	if first {
		for topic := range c.topics {
			c.unsubscribeLocked(topic)
		}
		delete(b.conns, c)
		close(c.stop)
	}
	b.mu.Unlock()
	<-c.done
	return nil
}

// enqueue queues p for the node; b.mu is held.
func (c *Conn) enqueue(p fanout.Publication) {
	c.mu.Lock()
	switch {
	case c.drop > 0:
		c.drop--
	case len(c.q) >= c.b.opts.QueueSize:
		c.lost = true
	default:
		c.q = append(c.q, p)
	}
	c.mu.Unlock()
	c.signal()
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run delivers the queued publications to the sink, in order, then tells
// it about lost ones, until Close.
func (c *Conn) run() {
	defer close(c.done)
	var batch []fanout.Publication
	var reports [][]byte
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		c.mu.Lock()
		batch, c.q = c.q, batch[:0]
		reports, c.reports = c.reports, reports[:0]
		lost, sink := c.lost, c.sink
		c.lost = false
		c.mu.Unlock()
		for i, p := range batch {
			if sink != nil {
				sink.Receive(p)
			}
			batch[i] = fanout.Publication{}
		}
		if lost && sink != nil {
			sink.Reconnected()
		}
		deliverReports(sink, reports)
		if len(batch) > 0 || len(reports) > 0 || lost {
			c.signal() // look again: more may have come meanwhile
		}
	}
}

// history is a topic's bounded list of recent messages, in sequence order
// without holes.
type history struct{ msgs []*fanout.Message }

// push appends m, dropping the oldest message when limit are held.
func (h *history) push(m *fanout.Message, limit int) {
	if limit <= 0 {
		return
	}
	if len(h.msgs) == limit {
		copy(h.msgs, h.msgs[1:])
		h.msgs = h.msgs[:limit-1]
	}
	h.msgs = append(h.msgs, m)
}

func (h *history) len() int { return len(h.msgs) }

// after calls f with every held message whose sequence number is greater
// than seq, oldest first, skipping the oldest ones so that at most n are
// visited.
func (h *history) after(seq uint64, n int, f func(*fanout.Message)) {
	i := 0
	for i < len(h.msgs) && h.msgs[i].Seq <= seq {
		i++
	}
	i = max(i, len(h.msgs)-n)
	for _, m := range h.msgs[i:] {
		f(m)
	}
}
