package fanout

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Overflow is a subscriber's policy for a full queue.
type Overflow uint8

const (
	// OverflowDisconnect ends a subscriber whose queue is full with
	// ErrSlowConsumer. Nothing is dropped silently: the consumer knows the
	// last position it processed on every topic and can resume from there.
	// It is the default.
	OverflowDisconnect Overflow = iota

	// OverflowConflate keeps, for each subscribed topic configured with
	// TopicConfig.Conflate, only the newest pending message: a newer
	// message replaces the queued one in place and is marked with
	// Delivery.Gap. Topics that do not conflate still disconnect on
	// overflow, so the queue must be larger than the number of conflated
	// subscriptions plus the burst of other topics it must absorb.
	OverflowConflate
)

// SubscriberOptions configures a Subscriber. The zero value gives the
// defaults.
type SubscriberOptions struct {
	// QueueSize bounds the messages queued for the subscriber over all its
	// topics. Zero means DefaultQueueSize. The queue's memory grows with
	// use, up to this bound.
	QueueSize int

	// MaxSubscriptions bounds the topics the subscriber may subscribe to
	// at once. Zero means DefaultMaxSubscriptions.
	MaxSubscriptions int

	// Overflow is the policy for a full queue; the default is
	// OverflowDisconnect.
	Overflow Overflow

	// Meter, when set, counts the subscriber's subscriptions and the
	// latency of its updates (see Meter), with those of the other
	// subscribers given the same Meter: a transport handler gives one to
	// all its connections. Nil counts nothing.
	Meter *Meter

	// OnReady, when set, is called each time the queue turns from empty to
	// non-empty and once when the subscriber ends, in addition to the Ready
	// channel being signalled. It runs on the publisher's goroutine while
	// the topic is locked, so it must be quick and must not block or call
	// back into the hub; transports use it to start a writer goroutine only
	// when there is something to write.
	OnReady func()
}

// A Subscriber is one consumer of messages, typically one client
// connection. It has one bounded queue for all the topics it subscribes to,
// so a transport needs a single writer per connection. The hub starts no
// goroutine for it: the consumer drains the queue with Next or Drain, woken
// by Ready or OnReady.
//
// A Subscriber is safe for concurrent use. Create one with
// Hub.NewSubscriber; the zero value is not usable. Close it when done.
type Subscriber struct {
	hub   *Hub
	opts  SubscriberOptions
	ready chan struct{}

	mu   sync.Mutex // guards the fields below and the gone, pending and gapNext fields of its subscriptions
	q    queue
	subs map[string]*subscription
	err  error // why the subscriber ended; nil while it is active
}

// subscription links a subscriber to a topic.
type subscription struct {
	sub      *Subscriber
	conflate bool

	// Guarded by sub.mu.
	topic   *topic // set once linked
	gone    bool   // unsubscribed or ended: queued entries are skipped
	pending uint64 // for conflation: the absolute queue index+1 of the newest queued entry
	gapNext bool   // mark the next update with Gap
	occ     uint64 // the absolute queue index+1 of the newest queued Occupancy entry

	idx int // the index in topic.subs, -1 when unlinked; guarded by topic.mu
}

// NewSubscriber returns a subscriber with no subscriptions. On a closed
// hub the subscriber has already ended with ErrClosed.
func (h *Hub) NewSubscriber(opts SubscriberOptions) *Subscriber {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxSubscriptions <= 0 {
		opts.MaxSubscriptions = DefaultMaxSubscriptions
	}
	s := &Subscriber{
		hub:   h,
		opts:  opts,
		ready: make(chan struct{}, 1),
		subs:  make(map[string]*subscription),
	}
	if !h.register(s) {
		s.err = ErrClosed
	}
	return s
}

// Subscribe subscribes to topic. The subscriber first receives a Snapshot
// at some sequence number k, then exactly the updates k+1, k+2, ... with
// nothing missed or repeated, even while others publish. The Snapshot
// carries the topic's state (loaded with Options.Loader when the topic is
// cold); when the topic keeps none, its Data is nil and it only tells the
// position the live stream starts after, which is what a consumer
// presents to Resume after a disconnect. Every subscription starts with
// exactly one Snapshot (or, after Resume, the replayed updates or a Reset).
//
// Subscribe blocks only while the loader runs or, on a hub with a broker,
// while the hub subscribes the topic at the broker; ctx bounds that wait.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) error {
	if err := s.join(ctx, topic, nil); err != nil {
		return fmt.Errorf("subscribe %q: %w", topic, err)
	}
	return nil
}

// Resume subscribes to topic from pos, the position of the last message
// the consumer processed. When pos is in the topic's current epoch and
// history still holds every message after it (and they fit the queue), the
// subscriber receives them as updates, then the live stream. Otherwise it
// receives a Reset carrying the snapshot (nil data when the topic keeps
// none), followed by the updates after it, and must replace its state.
//
// On a hub with a broker, a pos this node has not reached yet (the
// consumer comes from a node that is ahead: a later seq, or an epoch this
// node has not seen) makes Resume catch the topic up with the broker
// first, waiting at most Options.BrokerTimeout, so the consumer is resumed
// rather than reset. A topic is caught up at most once per 100ms; joins
// in between share or wait for the next.
func (s *Subscriber) Resume(ctx context.Context, topic string, pos Position) error {
	if err := s.join(ctx, topic, &pos); err != nil {
		return fmt.Errorf("resume %q at %v: %w", topic, pos, err)
	}
	return nil
}

func (s *Subscriber) join(ctx context.Context, name string, from *Position) error {
	h := s.hub
	if err := ValidTopic(name, h.opts.MaxTopicLength); err != nil {
		return err
	}
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	if _, ok := s.subs[name]; ok {
		s.mu.Unlock()
		return ErrSubscribed
	}
	if len(s.subs) >= s.opts.MaxSubscriptions {
		s.mu.Unlock()
		return fmt.Errorf("%w: %d subscriptions per subscriber; raise SubscriberOptions.MaxSubscriptions", ErrLimit, s.opts.MaxSubscriptions)
	}
	sn := &subscription{sub: s, idx: -1}
	s.subs[name] = sn // reserve the name while joining
	s.mu.Unlock()

	err := h.join(ctx, name, sn, from)
	if err != nil {
		s.mu.Lock()
		if s.subs[name] == sn {
			delete(s.subs, name)
		}
		s.mu.Unlock()
	}
	return err
}

// linkLocked queues the catch-up for sn and links it to t. Both t.mu is
// held; it takes s.mu.
func (s *Subscriber) linkLocked(t *topic, sn *subscription, from *Position, now time.Time) error {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	if sn.gone {
		s.mu.Unlock()
		return fmt.Errorf("%w: unsubscribed while joining", ErrNotSubscribed)
	}
	sn.conflate = t.cfg.Conflate && s.opts.Overflow == OverflowConflate
	before := s.q.len()
	if !t.catchUpLocked(sn, from, now) {
		s.failLocked(ErrSlowConsumer)
		s.mu.Unlock()
		s.notify()
		return ErrSlowConsumer
	}
	if sn.conflate && s.q.len() > before {
		sn.pending = s.q.tail
	}
	sn.topic = t
	t.addLocked(sn)
	wake := before == 0 && s.q.len() > 0
	s.mu.Unlock()
	if wake {
		s.notify()
	}
	return nil
}

type pushResult uint8

const (
	pushQueued pushResult = iota
	pushConflated
	pushOverflow
	pushGone
)

// push queues m for sn. The topic's lock is held.
func (s *Subscriber) push(sn *subscription, m *Message, kind Kind, gap bool) pushResult {
	s.mu.Lock()
	if s.err != nil || sn.gone {
		s.mu.Unlock()
		return pushGone
	}
	if sn.gapNext {
		gap, sn.gapNext = true, false
	}
	if sn.conflate && sn.pending > s.q.head {
		e := s.q.at(sn.pending - 1)
		e.m = m
		e.gap = e.kind == Update
		s.mu.Unlock()
		return pushConflated
	}
	if !s.q.push(entry{m: m, sn: sn, kind: kind, gap: gap}, s.opts.QueueSize) {
		s.failLocked(ErrSlowConsumer)
		s.mu.Unlock()
		s.notify()
		return pushOverflow
	}
	if sn.conflate {
		sn.pending = s.q.tail
	}
	wake := s.q.len() == 1
	s.mu.Unlock()
	if wake {
		s.notify()
	}
	return pushQueued
}

// notify wakes the consumer. It must not be called with s.mu held.
func (s *Subscriber) notify() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
	if s.opts.OnReady != nil {
		s.opts.OnReady()
	}
}

// failLocked ends the subscriber with err, releasing its queue.
func (s *Subscriber) failLocked(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	s.q.release()
	for _, sn := range s.subs {
		sn.gone = true
	}
	if err == ErrSlowConsumer {
		s.hub.slow.Add(1)
	}
}

// Unsubscribe ends the subscription to topic. Messages of the topic still
// queued are discarded.
func (s *Subscriber) Unsubscribe(topic string) error {
	s.mu.Lock()
	sn, ok := s.subs[topic]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("unsubscribe %q: %w", topic, ErrNotSubscribed)
	}
	delete(s.subs, topic)
	sn.gone = true
	t := sn.topic
	s.mu.Unlock()
	if t != nil {
		s.hub.unlink(t, sn)
	}
	return nil
}

// Topics returns the names of the topics the subscriber subscribes to, in
// no particular order.
func (s *Subscriber) Topics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.subs))
	for name := range s.subs {
		names = append(names, name)
	}
	return names
}

// Ready returns a channel that receives a value when the queue turns
// non-empty or the subscriber ends. A value may be stale (the queue already
// drained), so a consumer drains until Drain returns 0 and then waits again.
func (s *Subscriber) Ready() <-chan struct{} { return s.ready }

// Next returns the next queued delivery, waiting for one until ctx is done.
// Once the subscriber has ended it returns the error that ended it (see
// Err).
func (s *Subscriber) Next(ctx context.Context) (Delivery, error) {
	for {
		s.mu.Lock()
		for s.q.len() > 0 {
			if e := s.q.pop(); !e.sn.gone {
				s.mu.Unlock()
				return Delivery{Message: e.m, Kind: e.kind, Gap: e.gap}, nil
			}
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return Delivery{}, err
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return Delivery{}, ctx.Err()
		}
	}
}

// Drain moves up to len(buf) queued deliveries into buf, oldest first,
// without waiting, and returns how many it moved. It allocates nothing, so
// a transport reuses buf to write everything queued in one frame. When the
// subscriber has ended it returns 0 and the error that ended it.
func (s *Subscriber) Drain(buf []Delivery) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(buf) && s.q.len() > 0 {
		if e := s.q.pop(); !e.sn.gone {
			buf[n] = Delivery{Message: e.m, Kind: e.kind, Gap: e.gap}
			n++
		}
	}
	if n == 0 && s.err != nil {
		return 0, s.err
	}
	return n, nil
}

// Len returns the number of queued deliveries.
func (s *Subscriber) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.len()
}

// Err returns the error that ended the subscriber: ErrSlowConsumer,
// ErrClosed, or nil while it is active.
func (s *Subscriber) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscriber with ErrClosed (unless it already ended) and
// leaves all its topics. It is idempotent and returns nil.
func (s *Subscriber) Close() error {
	s.end(ErrClosed)
	return nil
}

// end ends the subscriber with err and unlinks it from its topics.
func (s *Subscriber) end(err error) {
	type link struct {
		sn *subscription
		t  *topic
	}
	s.mu.Lock()
	ended := s.err == nil
	s.failLocked(err)
	links := make([]link, 0, len(s.subs))
	for _, sn := range s.subs {
		if sn.topic != nil {
			links = append(links, link{sn, sn.topic})
		}
	}
	clear(s.subs)
	s.mu.Unlock()
	if ended {
		s.notify()
	}
	for _, l := range links {
		s.hub.unlink(l.t, l.sn)
	}
	s.hub.unregister(s)
}
