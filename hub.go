package fanout

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Hub. The zero value gives the defaults.
type Options struct {
	// Shards is the number of topic shards, each with its own lock, so that
	// work on different topics does not contend. It is rounded up to a
	// power of two. Zero means DefaultShards.
	Shards int

	// MaxTopics bounds the number of topics the hub holds. Zero means
	// DefaultMaxTopics.
	MaxTopics int

	// MaxMessageSize bounds a published message and a snapshot, in bytes.
	// Zero means DefaultMaxMessageSize.
	MaxMessageSize int

	// MaxTopicLength bounds a topic name, in bytes. Zero means
	// DefaultMaxTopicLength.
	MaxTopicLength int

	// MaxUnpublishedTopics bounds, apart from MaxTopics, the topics that
	// exist only because subscribers joined them: nothing was published
	// on them and the loader gave them no state. Clients can invent topic
	// names, so these are counted on their own, and a flood of them can
	// never make Publish fail; a join that would create one more fails
	// with ErrLimit. Such a topic goes as soon as its last subscriber
	// leaves (on a hub with a broker, at the next sweep after a linger).
	// Zero means DefaultMaxUnpublishedTopics.
	MaxUnpublishedTopics int

	// TopicExists, when set, tells whether a topic the hub does not hold
	// exists for the application. A Subscribe or Resume of a topic the hub
	// does not hold asks it before anything is allocated, and fails with
	// ErrNotFound when it answers false; the transports answer such a
	// client with the not_found code. Publish does not ask it. It is
	// called without locks held, must be quick and safe for concurrent
	// use. Nil admits every valid name (then MaxUnpublishedTopics bounds
	// what invented names cost). The Loader may refuse a topic too, by
	// returning an error that wraps ErrNotFound.
	TopicExists func(topic string) bool

	// TopicConfig, when set, returns the configuration of a topic when the
	// hub creates it. It is called without locks held and must be quick.
	// Nil gives every topic the zero TopicConfig (the defaults).
	TopicConfig func(topic string) TopicConfig

	// Loader, when set, supplies the snapshot of a cold topic, one that has
	// no snapshot yet, when the first subscriber joins. It runs once per
	// topic even when many subscribers join at once (they wait for it),
	// must return the state as of the moment it is called (updates
	// published while it runs follow it), and may return nil for no state.
	// An error (or a panic, returned as an error) fails the Subscribe
	// calls waiting for it; the next join tries again.
	Loader func(ctx context.Context, topic string) ([]byte, error)

	// IdleTopicTTL is how long a topic with retained state (snapshot or
	// history) but no subscribers and no publishes stays in memory. Topics
	// with neither subscribers nor state are evicted at the next sweep.
	// An evicted topic starts a new epoch when it is used again. Zero
	// means DefaultIdleTopicTTL; a negative value keeps such topics until
	// the hub closes (MaxTopics still bounds them).
	IdleTopicTTL time.Duration

	// Occupancy configures the counting of each topic's subscribers across
	// nodes (Hub.Occupancy) and the occupancy messages pushed to the
	// subscribers of the topics that ask for them (TopicConfig.Occupancy).
	// The zero value gives the defaults.
	Occupancy OccupancyOptions

	// Broker, when set, makes the hub one node of several that share
	// topics through the broker, which then assigns sequence numbers and
	// keeps history and snapshots. Publish goes through the broker and
	// returns once it stored the message; local subscribers receive it
	// when the broker delivers it back. A topic is subscribed at the
	// broker while it has local subscribers, and until the first sweep
	// after it has had none for 30s (or IdleTopicTTL when shorter).
	// Loader is not used: the broker holds the snapshots. The hub binds
	// the broker and closes it when it closes. Nil means a single node.
	Broker Broker

	// BrokerTimeout bounds each call to the broker. Zero means
	// DefaultBrokerTimeout.
	BrokerTimeout time.Duration
}

// DefaultIdleTopicTTL is the default of Options.IdleTopicTTL.
const DefaultIdleTopicTTL = time.Hour

// sweepInterval is how often the hub expires history and evicts topics.
const sweepInterval = 30 * time.Second

// A Hub routes published messages to the subscribers of their topics. It
// is in-process and sharded by topic name. A Hub is safe for concurrent
// use; create one with NewHub and Close it when done.
type Hub struct {
	opts   Options
	seed   maphash.Seed
	shards []shard
	mask   uint64

	topics      atomic.Int64           // published topics held, over all shards (see topic.unpublished)
	unpublished atomic.Int64           // unpublished topics held, over all shards
	epoch       atomic.Pointer[string] // the epoch new topics start in (see forgetLocked)
	slow        atomic.Uint64          // subscribers ended by ErrSlowConsumer

	closed atomic.Bool
	stop   chan struct{} // closed by Close to stop the sweeper
	done   chan struct{} // closed when Close has finished
	wg     sync.WaitGroup

	subsMu sync.Mutex // guards subs
	subs   map[*Subscriber]struct{}

	node *node      // the broker side; nil without Options.Broker
	occ  *occupancy // subscriber counts, this node's and the others'
}

// shard is a slice of the topic space with its own lock and counters,
// padded so that shards do not share cache lines.
//
// Lock order, for the whole package: shard.mu, then topic.mu, then one of
// Subscriber.mu, node.mu or occupancy's mu; Hub.subsMu is taken alone.
// No lock is held during I/O (broker calls, the loader) or while waiting,
// and a Subscriber's consumer is woken (notify) only after its mu is
// released.
type shard struct {
	mu     sync.RWMutex // guards topics and peak
	topics map[string]*topic
	peak   int // the most topics held since the map was last rebuilt (see forgetLocked)

	published atomic.Uint64
	delivered atomic.Uint64
	dropped   atomic.Uint64
	_         [64]byte
}

// NewHub returns a running hub. It starts one goroutine, which expires
// history and evicts idle topics; Close stops it.
func NewHub(opts Options) *Hub {
	if opts.Shards <= 0 {
		opts.Shards = DefaultShards
	}
	n := 1 << bits.Len(uint(opts.Shards-1))
	if opts.MaxTopics <= 0 {
		opts.MaxTopics = DefaultMaxTopics
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.MaxTopicLength <= 0 {
		opts.MaxTopicLength = DefaultMaxTopicLength
	}
	if opts.MaxUnpublishedTopics <= 0 {
		opts.MaxUnpublishedTopics = DefaultMaxUnpublishedTopics
	}
	if opts.IdleTopicTTL == 0 {
		opts.IdleTopicTTL = DefaultIdleTopicTTL
	}
	h := &Hub{
		opts:   opts,
		seed:   maphash.MakeSeed(),
		shards: make([]shard, n),
		mask:   uint64(n - 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		subs:   make(map[*Subscriber]struct{}),
	}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topic)
	}
	epoch := NewEpoch()
	h.epoch.Store(&epoch)
	if opts.Broker != nil {
		h.node = newNode(h)
		opts.Broker.Bind(sink{h})
	}
	h.wg.Add(1)
	go h.sweeper()
	h.occ = newOccupancy(h)
	h.wg.Add(1)
	go h.occ.run()
	return h
}

func (h *Hub) shardFor(name string) *shard {
	return &h.shards[maphash.String(h.seed, name)&h.mask]
}

// Publish publishes data on topic and returns its position. It assigns the
// topic's next sequence number, keeps the message in the topic's history
// and queues it for every subscriber, never waiting for one. If the topic
// retains its last message (TopicConfig.RetainLast), the message becomes
// its snapshot.
//
// The hub keeps data and shares it with every subscriber: the caller must
// not modify it afterwards.
func (h *Hub) Publish(topic string, data []byte) (Position, error) {
	pos, err := h.publish(topic, data, nil, false)
	if err != nil {
		return Position{}, fmt.Errorf("publish %q: %w", topic, err)
	}
	return pos, nil
}

// PublishState publishes update on topic like Publish and, atomically with
// it, makes state the topic's snapshot at the update's position: a
// subscriber that joins afterwards receives state and then the updates
// that follow. The hub keeps both slices.
func (h *Hub) PublishState(topic string, update, state []byte) (Position, error) {
	pos, err := h.publish(topic, update, state, true)
	if err != nil {
		return Position{}, fmt.Errorf("publish state %q: %w", topic, err)
	}
	return pos, nil
}

func (h *Hub) publish(name string, data, state []byte, withState bool) (Position, error) {
	if h.closed.Load() {
		return Position{}, ErrClosed
	}
	if err := ValidTopic(name, h.opts.MaxTopicLength); err != nil {
		return Position{}, err
	}
	if max(len(data), len(state)) > h.opts.MaxMessageSize {
		return Position{}, fmt.Errorf("%w: %d bytes, the limit is %d (Options.MaxMessageSize)", ErrTooLarge, max(len(data), len(state)), h.opts.MaxMessageSize)
	}
	if h.node != nil {
		return h.node.publish(name, data, state, withState)
	}
	sh := h.shardFor(name)
	t, err := h.lockTopic(sh, name, false)
	if err != nil {
		return Position{}, err
	}
	if t.unpublished {
		if err := h.claimLocked(t, true); err != nil {
			t.mu.Unlock()
			return Position{}, err
		}
	}
	now := time.Now()
	t.seq++
	m := &Message{Topic: t.name, Epoch: t.epoch, Seq: t.seq, Time: now, Data: data}
	t.expireLocked(now)
	t.hist.push(m, t.cfg.HistorySize)
	switch {
	case withState:
		t.snap = &Message{Topic: t.name, Epoch: t.epoch, Seq: t.seq, Time: now, Data: state}
	case t.cfg.RetainLast:
		t.snap = m
	}
	t.active = now
	delivered, dropped := t.fanoutLocked(m)
	t.mu.Unlock()

	sh.published.Add(1)
	if delivered > 0 {
		sh.delivered.Add(delivered)
	}
	if dropped > 0 {
		sh.dropped.Add(dropped)
	}
	return Position{Epoch: m.Epoch, Seq: m.Seq}, nil
}

// lockTopic returns the live topic named name, created if needed, with its
// lock held. A topic that a join creates is unpublished (see
// Options.MaxUnpublishedTopics), and must exist for the application
// (Options.TopicExists).
func (h *Hub) lockTopic(sh *shard, name string, join bool) (*topic, error) {
	for {
		sh.mu.RLock()
		t := sh.topics[name]
		sh.mu.RUnlock()
		if t == nil {
			if join && h.opts.TopicExists != nil && !h.opts.TopicExists(name) {
				return nil, ErrNotFound
			}
			var err error
			if t, err = h.createTopic(sh, name, join); err != nil {
				return nil, err
			}
		}
		t.mu.Lock()
		if !t.dead {
			return t, nil
		}
		t.mu.Unlock() // evicted meanwhile: look again
	}
}

func (h *Hub) createTopic(sh *shard, name string, join bool) (*topic, error) {
	var cfg TopicConfig
	if h.opts.TopicConfig != nil {
		cfg = h.opts.TopicConfig(name)
	}
	fresh := &topic{name: name, cfg: cfg.withDefaults(), active: time.Now(), unpublished: join}

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if t := sh.topics[name]; t != nil {
		return t, nil
	}
	if h.closed.Load() {
		return nil, ErrClosed
	}
	if join {
		if h.unpublished.Add(1) > int64(h.opts.MaxUnpublishedTopics) {
			h.unpublished.Add(-1)
			return nil, fmt.Errorf("%w: %d topics that subscribers created and nothing was published on; raise Options.MaxUnpublishedTopics, or refuse unknown topics with Options.TopicExists", ErrLimit, h.opts.MaxUnpublishedTopics)
		}
	} else if h.topics.Add(1) > int64(h.opts.MaxTopics) {
		h.topics.Add(-1)
		return nil, fmt.Errorf("%w: %d topics; raise Options.MaxTopics", ErrLimit, h.opts.MaxTopics)
	}
	fresh.epoch = *h.epoch.Load() // under sh.mu: see forgetLocked
	sh.topics[name] = fresh
	sh.peak = max(sh.peak, len(sh.topics))
	return fresh, nil
}

// Stats is a snapshot of a hub's counters.
type Stats struct {
	Topics            int    // topics held
	UnpublishedTopics int    // of Topics, those that only subscribers created (Options.MaxUnpublishedTopics)
	Subscribers       int    // subscribers not yet closed
	Published         uint64 // messages published
	Delivered         uint64 // messages queued for subscribers
	Dropped           uint64 // queued messages replaced by newer ones (conflation)
	SlowConsumers     uint64 // subscribers ended with ErrSlowConsumer

	// With a broker (Options.Broker); zero values without one.
	BrokerErr    error  // the broker's Health: nil while it is reachable
	Received     uint64 // publications received from the broker and delivered
	Repairs      uint64 // gaps filled from the broker's history
	Resets       uint64 // topics whose subscribers were reset: a gap history could not fill, or a new epoch
	Reconnects   uint64 // times the broker reported a lost and restored connection
	BrokerErrors uint64 // broker calls that failed: publishes, subscribes, recoveries
}

// Stats returns the hub's counters. It takes no lock that publishing
// takes, so it is cheap enough to call often.
func (h *Hub) Stats() Stats {
	unpublished := int(h.unpublished.Load())
	st := Stats{Topics: int(h.topics.Load()) + unpublished, UnpublishedTopics: unpublished, SlowConsumers: h.slow.Load()}
	h.subsMu.Lock()
	st.Subscribers = len(h.subs)
	h.subsMu.Unlock()
	for i := range h.shards {
		sh := &h.shards[i]
		st.Published += sh.published.Load()
		st.Delivered += sh.delivered.Load()
		st.Dropped += sh.dropped.Load()
	}
	if h.node != nil {
		h.node.stats(&st)
	}
	return st
}

func (h *Hub) register(s *Subscriber) bool {
	h.subsMu.Lock()
	defer h.subsMu.Unlock()
	if h.closed.Load() {
		return false
	}
	h.subs[s] = struct{}{}
	return true
}

func (h *Hub) unregister(s *Subscriber) {
	h.subsMu.Lock()
	delete(h.subs, s)
	h.subsMu.Unlock()
}

// Close closes the hub: Publish and Subscribe fail with ErrClosed from now
// on, and every subscriber ends with ErrClosed, so its consumer wakes up
// and sees it. Close waits for the hub's goroutines to exit and closes its
// broker, if any. It is idempotent; later calls wait for the first to
// finish. It returns the error of closing the broker; otherwise nil.
func (h *Hub) Close() error {
	if !h.closed.CompareAndSwap(false, true) {
		<-h.done
		return nil
	}
	close(h.stop)
	if h.node != nil {
		h.node.cancel() // ends the broker calls of a sweep under way
	}
	h.wg.Wait()
	var err error
	if h.node != nil {
		if err = h.node.close(); err != nil {
			err = fmt.Errorf("close broker: %w", err)
		}
	}
	for _, s := range h.subscribers() {
		s.end(ErrClosed)
	}
	close(h.done)
	return err
}

// subscribers returns the hub's subscribers at this moment, so that the
// caller can visit them without holding subsMu.
func (h *Hub) subscribers() []*Subscriber {
	h.subsMu.Lock()
	defer h.subsMu.Unlock()
	subs := make([]*Subscriber, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	return subs
}

func (h *Hub) sweeper() {
	defer h.wg.Done()
	interval := sweepInterval
	if ttl := h.opts.IdleTopicTTL; ttl > 0 && ttl/2 < interval {
		interval = max(ttl/2, time.Millisecond)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case now := <-tick.C:
			h.sweep(now)
		}
	}
}

// sweep expires history and evicts idle topics, one shard at a time.
func (h *Hub) sweep(now time.Time) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, t := range sh.topics {
			t.mu.Lock()
			t.expireLocked(now)
			if h.retireLocked(t, now) {
				h.forgetLocked(sh, t)
			}
			t.mu.Unlock()
		}
		h.shrinkLocked(sh)
		sh.mu.Unlock()
	}
	if h.node != nil {
		h.node.leave()
	}
}
