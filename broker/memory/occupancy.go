package memory

import (
	"context"

	"github.com/fanout-go/fanout"
)

var _ fanout.OccupancyBroker = (*Conn)(nil)

// PublishOccupancy implements fanout.OccupancyBroker: it queues report for
// every other node of the broker, which receives it on its connection's
// goroutine, in order with the node's other reports. A node whose queue
// is full misses it, as a remote broker's node may.
func (c *Conn) PublishOccupancy(ctx context.Context, report []byte) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.b.mu.Unlock()
	for node := range c.b.conns {
		if node != c {
			node.enqueueReport(report)
		}
	}
	return nil
}

// enqueueReport queues an occupancy report for the node; b.mu is held.
func (c *Conn) enqueueReport(r []byte) {
	c.mu.Lock()
	if len(c.reports) < c.b.opts.QueueSize && !c.closed {
		c.reports = append(c.reports, r)
	}
	c.mu.Unlock()
	c.signal()
}

// deliverReports hands reports to the sink if it takes them.
func deliverReports(sink fanout.Sink, reports [][]byte) {
	os, ok := sink.(fanout.OccupancySink)
	for i, r := range reports {
		if ok {
			os.ReceiveOccupancy(r)
		}
		reports[i] = nil
	}
}
