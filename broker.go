package fanout

import "context"

// A Broker carries publications between the hubs of several gateway
// processes (nodes), so that every node shows the same topics with the
// same (epoch, seq) and a client can resume on any node. The broker, not
// the hub, is then the authority: it assigns sequence numbers and keeps
// each topic's history and snapshot. Without a broker (Options.Broker nil)
// the hub is its own authority, in process.
//
// Implementations live in their own modules (broker/redis, broker/nats);
// package broker/memory is an in-process one for tests and single-process use.
// Every implementation passes the conformance suite in package brokertest.
// A Broker is safe for concurrent use.
type Broker interface {
	// Publish assigns the next position of topic to data, stores it in
	// the topic's history, replaces the topic's snapshot with state when
	// state is not nil (or with data when retainLast is set), and sends
	// the publication to every node that subscribes to topic, all as one
	// atomic step. It returns only once the message is stored: an error
	// means it was not published.
	Publish(ctx context.Context, topic string, data, state []byte, retainLast bool) (Position, error)

	// Subscribe starts delivering topic's publications to this node's
	// Sink, in sequence order, until Unsubscribe. Every publication
	// stored after Subscribe returns is delivered. Subscribing to a
	// subscribed topic does nothing.
	Subscribe(ctx context.Context, topic string) error

	// Unsubscribe stops delivering topic's publications to this node.
	// Unsubscribing from a topic not subscribed to does nothing.
	Unsubscribe(ctx context.Context, topic string) error

	// Recover returns what a node needs to (re)build its view of topic
	// after position after: the topic's current head, its snapshot, and
	// the stored messages with sequence numbers after after.Seq (at most
	// limit, the newest ones), when after is in the current epoch; an
	// empty after.Epoch stands for the start of the current epoch. A
	// topic the broker does not know gets a fresh epoch, kept for its
	// next publications, and has Seq 0.
	Recover(ctx context.Context, topic string, after Position, limit int) (Recovery, error)

	// Bind sets the sink that receives this node's publications. The hub
	// calls it once, from NewHub, before any other method.
	Bind(sink Sink)

	// Health returns nil while the broker is reachable, else why not.
	Health() error

	// Close releases the broker's connections and goroutines. It is
	// idempotent and waits.
	Close() error
}

// Recovery is a broker's answer to Recover.
type Recovery struct {
	// Head is the topic's newest position (Seq 0 before any publish).
	Head Position
	// Snapshot is the topic's snapshot, nil when it has none.
	Snapshot *Message
	// Messages are stored messages after the requested position, in
	// sequence order and contiguous up to Head.Seq; they may start later
	// than requested when history no longer reaches back.
	Messages []*Message
}

// Publication is one message as a broker delivers it to a node.
type Publication struct {
	*Message
	// State is the snapshot the publisher replaced atomically with this
	// message, or nil.
	State []byte
	// RetainLast reports that the message itself became the snapshot.
	RetainLast bool
}

// Sink receives a broker's traffic on one node. A Hub hands its Sink to
// its broker's Bind; only broker implementations call its methods, which
// do not block.
type Sink interface {
	// Receive hands over a publication on a topic the node subscribes
	// to. Calls for one topic come in the order the broker delivers
	// them; the hub repairs any gap from Recover before delivering.
	Receive(p Publication)

	// Reconnected tells the node that its broker connection was lost and
	// restored, so publications may have been missed on every topic: the
	// hub checks each topic's head and repairs.
	Reconnected()
}
