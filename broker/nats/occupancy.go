package nats

import (
	"context"
	"fmt"

	"github.com/fanout-go/fanout"
	natsgo "github.com/nats-io/nats.go"
)

var _ fanout.OccupancyBroker = (*Broker)(nil)

// occupancyBuffer bounds the occupancy reports received and not yet handed
// to the sink; NATS drops what does not fit, and the hub asks for full
// reports when it notices.
const occupancyBuffer = 256

// occupancySubject is the core NATS subject that carries the nodes'
// occupancy reports: <Prefix>.o, apart from the topics' subjects.
func (b *Broker) occupancySubject() string { return b.opts.Prefix + ".o" }

// PublishOccupancy implements fanout.OccupancyBroker: one core NATS
// publish on the occupancy subject, which every node subscribes to. It
// does not wait for the server; core NATS delivers at most once, in order
// per connection.
func (b *Broker) PublishOccupancy(ctx context.Context, report []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := b.nc.Publish(b.occupancySubject(), report); err != nil {
		return fmt.Errorf("fanout: nats: publish occupancy: %w", err)
	}
	return nil
}

// subscribeOccupancy subscribes to the occupancy subject when sink takes
// reports; the receiver goroutine hands them over. b.mu is held.
func (b *Broker) subscribeOccupancyLocked(sink fanout.Sink) {
	if _, ok := sink.(fanout.OccupancySink); !ok || b.occSub != nil || b.closed {
		return
	}
	sub, err := b.nc.ChanSubscribe(b.occupancySubject(), b.occIn)
	if err != nil {
		return // the connection is closed: the broker is of no use anyway
	}
	b.occSub = sub
}

// deliverOccupancy hands a report to the sink.
func (b *Broker) deliverOccupancy(m *natsgo.Msg) {
	if os, ok := b.getSink().(fanout.OccupancySink); ok {
		os.ReceiveOccupancy(m.Data)
	}
}
