package redis

import (
	"context"
	"fmt"

	"github.com/fanout-go/fanout"
	goredis "github.com/redis/go-redis/v9"
)

var _ fanout.OccupancyBroker = (*Broker)(nil)

// occupancyChannel is the Pub/Sub channel that carries the nodes'
// occupancy reports: {<KeyPrefix>}:occupancy, which no topic's channel
// ({<KeyPrefix>:<topic>}:c) can be.
func (b *Broker) occupancyChannel() string { return "{" + b.opts.KeyPrefix + "}:occupancy" }

// PublishOccupancy implements fanout.OccupancyBroker: one PUBLISH on the
// occupancy channel, which every node's Pub/Sub connection subscribes to.
// Redis Pub/Sub delivers at most once, in order per publisher.
func (b *Broker) PublishOccupancy(ctx context.Context, report []byte) error {
	if b.isClosed() {
		return ErrClosed
	}
	if err := b.client.Publish(ctx, b.occupancyChannel(), report).Err(); err != nil {
		return fmt.Errorf("fanout/redis: publish occupancy: %w", err)
	}
	return nil
}

// subscribeOccupancy subscribes the Pub/Sub connection to the occupancy
// channel when sink takes reports. On failure go-redis keeps the channel
// and subscribes it when the connection comes back.
func (b *Broker) subscribeOccupancy(sink fanout.Sink) {
	if _, ok := sink.(fanout.OccupancySink); !ok || b.occupancy.Swap(true) {
		return
	}
	b.psMu.RLock()
	_ = b.ps.Subscribe(bg, b.occupancyChannel())
	b.psMu.RUnlock()
}

// deliverOccupancy hands a report to the sink and reports whether m was
// one.
func (b *Broker) deliverOccupancy(m *goredis.Message) bool {
	if m.Channel != b.occupancyChannel() {
		return false
	}
	if os, ok := b.sinkOrNil().(fanout.OccupancySink); ok {
		os.ReceiveOccupancy([]byte(m.Payload))
	}
	return true
}
