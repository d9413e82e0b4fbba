package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/fanout-go/fanout"
	goredis "github.com/redis/go-redis/v9"
)

// subscription is the Broker's record of one subscribed topic.
type subscription struct {
	channel   string
	ready     chan struct{} // closed once Redis confirmed the subscription, or it was dropped
	confirmed bool
	dropped   bool // Unsubscribe ran before the confirmation
}

var errUnsubscribed = errors.New("fanout/redis: unsubscribed while subscribing")

// Subscribe starts delivering topic's publications to the sink. It
// returns once Redis confirmed the subscription, so every publication
// stored after Subscribe returns reaches the sink. Subscribing to a topic
// already subscribed waits for that subscription.
func (b *Broker) Subscribe(ctx context.Context, topic string) error {
	if b.isClosed() {
		return fmt.Errorf("fanout/redis: subscribe %q: %w", topic, ErrClosed)
	}
	b.psMu.RLock()
	b.subMu.Lock()
	s := b.subs[topic]
	if s == nil {
		s = &subscription{channel: b.channelFor(topic), ready: make(chan struct{})}
		b.subs[topic] = s
		b.pending[s.channel]++
		b.subMu.Unlock()
		err := b.ps.Subscribe(ctx, s.channel)
		b.psMu.RUnlock()
		if err != nil {
			b.abandon(topic, s, true)
			return fmt.Errorf("fanout/redis: subscribe %q: %w", topic, err)
		}
	} else {
		b.subMu.Unlock()
		b.psMu.RUnlock()
	}
	select {
	case <-s.ready:
		if s.dropped {
			return fmt.Errorf("fanout/redis: subscribe %q: %w", topic, errUnsubscribed)
		}
		return nil
	case <-ctx.Done():
		b.abandon(topic, s, false)
		return fmt.Errorf("fanout/redis: subscribe %q: %w", topic, ctx.Err())
	case <-b.stopSub:
		return fmt.Errorf("fanout/redis: subscribe %q: %w", topic, ErrClosed)
	}
}

// abandon undoes a subscription that failed. unsent says the SUBSCRIBE
// command never reached Redis, so no confirmation will come for it.
func (b *Broker) abandon(topic string, s *subscription, unsent bool) {
	b.subMu.Lock()
	if unsent {
		b.unpendLocked(s.channel)
	}
	drop := b.subs[topic] == s && !s.confirmed
	if drop {
		delete(b.subs, topic)
		s.dropped = true
		close(s.ready)
	}
	b.subMu.Unlock()
	if drop {
		// go-redis keeps a channel whose SUBSCRIBE failed in its set, to
		// subscribe it again after a reconnect; take it out.
		b.psMu.RLock()
		_ = b.ps.Unsubscribe(bg, s.channel)
		b.psMu.RUnlock()
	}
}

func (b *Broker) unpendLocked(channel string) {
	if b.pending[channel] <= 1 {
		delete(b.pending, channel)
	} else {
		b.pending[channel]--
	}
}

// Unsubscribe stops delivering topic's publications to the sink, at once,
// even while Redis is unreachable. A topic not subscribed is no error.
func (b *Broker) Unsubscribe(ctx context.Context, topic string) error {
	if b.isClosed() {
		return fmt.Errorf("fanout/redis: unsubscribe %q: %w", topic, ErrClosed)
	}
	b.subMu.Lock()
	s := b.subs[topic]
	if s != nil {
		delete(b.subs, topic)
		if !s.confirmed {
			s.dropped = true
			close(s.ready)
		}
	}
	b.subMu.Unlock()
	if s == nil {
		return nil
	}
	// Even when UNSUBSCRIBE cannot be sent (Redis is down), the channel
	// is out of go-redis's set, so no reconnect subscribes it again, and
	// the reader drops what still comes: the topic is unsubscribed.
	b.psMu.RLock()
	_ = b.ps.Unsubscribe(ctx, s.channel)
	b.psMu.RUnlock()
	return nil
}

// readerState is what the reader goroutine alone knows.
type readerState struct {
	lost     bool // a read failed: the connection was lost
	resub    bool // inside the confirmations of a resubscription
	pingSent bool // a PING is out, unanswered
	silent   int  // read timeouts since the PING went out
	cache    map[string]*channelCache
}

// channelCache keeps the strings of a channel's publications, so that
// they are not kept alive by, or allocated for, every message.
type channelCache struct {
	topic, epoch string
}

// reader reads the Pub/Sub connection until Close.
func (b *Broker) reader() {
	defer b.wg.Done()
	st := readerState{cache: make(map[string]*channelCache)}
	backoff := time.NewTimer(0)
	defer backoff.Stop()
	delay := minBackoff
	for {
		item, err := b.ps.ReceiveTimeout(bg, b.opts.HealthInterval)
		select {
		case <-b.stopSub:
			return
		default:
		}
		if err != nil {
			if !b.readFailed(&st, err) {
				continue
			}
			backoff.Reset(delay)
			delay = min(2*delay, maxBackoff)
			select {
			case <-backoff.C:
			case <-b.stopSub:
				return
			}
			continue
		}
		delay = minBackoff
		st.pingSent = false
		b.setHealth(nil)
		b.handle(&st, item)
	}
}

// Backoff between failed reads of the Pub/Sub connection.
const (
	minBackoff = 20 * time.Millisecond
	maxBackoff = time.Second
)

// readFailed handles a failed read and reports whether the connection
// is lost (rather than only quiet).
func (b *Broker) readFailed(st *readerState, err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if !st.pingSent {
			st.pingSent, st.silent = true, 0
			if err := b.ps.Ping(bg); err != nil {
				b.setHealth(err)
			}
			return false
		}
		st.silent++
		silence := time.Duration(st.silent) * b.opts.HealthInterval
		if st.silent < redialAfter {
			b.setHealth(fmt.Errorf("no answer to PING for %v", silence))
			return false
		}
		b.setHealth(fmt.Errorf("no answer to PING for %v: reconnecting", silence))
		b.redial(st)
		return false
	}
	st.lost, st.pingSent = true, false
	b.setHealth(err)
	return true
}

// redialAfter is how many HealthIntervals a PING may stay unanswered
// before the reader replaces the Pub/Sub connection.
const redialAfter = 2

// redial replaces the Pub/Sub connection, which stopped answering: a
// connection whose peer vanished (a half-open TCP connection) fails no
// read, and go-redis would keep it for as long as TCP does. The new one
// subscribes every topic; the sink is told once it answers.
func (b *Broker) redial(st *readerState) {
	b.psMu.Lock()
	select {
	case <-b.stopSub:
		b.psMu.Unlock()
		return
	default:
	}
	old := b.ps
	b.ps = b.client.Subscribe(bg)
	b.subMu.Lock()
	channels := make([]string, 0, len(b.subs))
	clear(b.pending) // what was sent on the old connection is lost with it
	for _, s := range b.subs {
		channels = append(channels, s.channel)
		b.pending[s.channel] = 1
	}
	b.subMu.Unlock()
	if b.occupancy.Load() {
		channels = append(channels, b.occupancyChannel())
	}
	if len(channels) > 0 {
		// On failure go-redis keeps the channels, and subscribes them when
		// the reader's next read connects.
		_ = b.ps.Subscribe(bg, channels...)
	}
	b.psMu.Unlock()
	_ = old.Close()
	st.lost, st.resub, st.pingSent, st.silent = true, false, false, 0
	clear(st.cache)
}

// handle processes one item of the Pub/Sub connection.
func (b *Broker) handle(st *readerState, item any) {
	lost := st.lost
	st.lost = false
	if lost {
		b.newConnection()
	}
	switch it := item.(type) {
	case *goredis.Message:
		st.resub = false
		if lost {
			b.reconnected()
		}
		b.deliver(st, it)
	case *goredis.Subscription:
		if it.Kind == "subscribe" {
			if b.confirm(it.Channel) && (!st.resub || it.Count == 1) {
				lost = true // a confirmation nobody asked for: go-redis reconnected
			}
			if lost {
				st.resub = true
				b.reconnected()
			}
			return
		}
		st.resub = false
		if lost {
			b.reconnected()
		}
		if it.Kind == "unsubscribe" {
			delete(st.cache, it.Channel)
		}
	default: // *goredis.Pong
		st.resub = false
		if lost {
			b.reconnected()
		}
	}
}

// confirm records Redis's confirmation of a subscription to channel and
// reports whether nobody was waiting for it: go-redis subscribed the
// channel again on a new connection.
func (b *Broker) confirm(channel string) (unasked bool) {
	topic, ok := b.topicOf(channel)
	if !ok {
		return false
	}
	b.subMu.Lock()
	defer b.subMu.Unlock()
	s := b.subs[topic]
	if b.pending[channel] > 0 {
		b.unpendLocked(channel)
		if b.pending[channel] > 0 || s == nil || s.confirmed {
			return false // an older SUBSCRIBE of the channel; wait for the newest
		}
		s.confirmed = true
		close(s.ready)
		return false
	}
	return s != nil
}

// newConnection resets the count of unconfirmed SUBSCRIBE commands when
// the reader reads its first item from a new connection: those sent on the
// old one will never be confirmed, and go-redis subscribed the new one to
// every channel of its set, which holds every subscribed topic, with one
// command. Without it, a channel whose SUBSCRIBE was lost with its
// connection would wait for a confirmation that never comes.
func (b *Broker) newConnection() {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	clear(b.pending)
	for _, s := range b.subs {
		if !s.confirmed {
			b.pending[s.channel] = 1
		}
	}
}

func (b *Broker) reconnected() {
	if sink := b.sinkOrNil(); sink != nil {
		sink.Reconnected()
	}
}

// deliver hands a publication to the sink, if its topic is subscribed
// and Redis confirmed the subscription: what comes before the
// confirmation belongs to an earlier subscription, since unsubscribed.
func (b *Broker) deliver(st *readerState, m *goredis.Message) {
	if b.deliverOccupancy(m) {
		return
	}
	c := st.cache[m.Channel]
	if c == nil {
		topic, ok := b.topicOf(m.Channel)
		if !ok {
			return
		}
		c = &channelCache{topic: topic}
		st.cache[m.Channel] = c // bounded: removed on the unsubscribe confirmation
	}
	if !b.live(c.topic) {
		return
	}
	p, err := decodePayload(m.Payload)
	if err != nil {
		b.setHealth(fmt.Errorf("channel %s: %w", m.Channel, err))
		return
	}
	if p.epoch != c.epoch {
		c.epoch = string([]byte(p.epoch)) // do not keep the payload alive
	}
	sink := b.sinkOrNil()
	if sink == nil {
		return
	}
	sink.Receive(fanout.Publication{
		Message: &fanout.Message{
			Topic: c.topic, Epoch: c.epoch, Seq: p.seq, Time: time.Now(), Data: p.data,
		},
		State:      p.state,
		RetainLast: p.flags&flagRetain != 0,
	})
}

// live reports whether topic is subscribed, as Redis confirmed.
func (b *Broker) live(topic string) bool {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	s := b.subs[topic]
	return s != nil && s.confirmed
}
