package nats

import (
	"context"
	"fmt"
)

// Subscribe starts delivering topic's publications to the sink: a core
// NATS subscription on the topic's live subject, which the stream leader
// republishes each message to once it is stored. It returns once the
// server has the subscription (a flush: one round trip), so that every
// publication stored afterwards is delivered. Subscribing to a topic
// already subscribed does nothing more.
//
// Core NATS delivers at most once: a publication lost while the
// connection is down, or dropped because ReceiveBuffer is full, shows as
// a gap in the sequence numbers (or as Sink.Reconnected), which the hub
// repairs from Recover.
func (b *Broker) Subscribe(ctx context.Context, topic string) error {
	subj, err := b.subjectsFor(topic)
	if err != nil {
		return fmt.Errorf("nats subscribe %q: %w", topic, err)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if _, ok := b.topics[topic]; !ok {
		sub, err := b.nc.ChanSubscribe(subj.live, b.in)
		if err != nil {
			b.mu.Unlock()
			return fmt.Errorf("nats subscribe %q: %w", topic, err)
		}
		b.topics[topic] = sub
		b.subs[sub] = topic
	}
	b.mu.Unlock()
	// The SUB is buffered: wait until the server has processed it. On
	// failure the subscription stays; nats.go sends it again on reconnect.
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("nats subscribe %q: the server did not confirm: %w", topic, err)
	}
	return nil
}

// Unsubscribe stops delivering topic's publications to the sink. A
// publication already received is dropped. Unsubscribing a topic not
// subscribed does nothing.
func (b *Broker) Unsubscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	sub, ok := b.topics[topic]
	if ok {
		delete(b.topics, topic)
		delete(b.subs, sub)
	}
	b.mu.Unlock()
	if !ok {
		return nil
	}
	if err := sub.Unsubscribe(); err != nil {
		return fmt.Errorf("nats unsubscribe %q: %w", topic, err)
	}
	return nil
}
