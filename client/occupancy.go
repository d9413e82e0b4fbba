package client

import "github.com/fanout-go/fanout"

// occupancyLocked takes an occupancy message of a subscribed topic: the
// topic's subscriber count, which the server pushes for the topics it
// configures so (see docs/protocol.md). It is kept for Occupancy and
// queued for Next, unless the caller is that far behind, since the next
// count will come.
func (c *Client) occupancyLocked(f *frameMsg) {
	t := c.topics[f.Topic]
	if t == nil || !t.sent || f.Count < 0 {
		return
	}
	t.occupancy, t.hasOccupancy = f.Count, true
	if c.q.len() >= c.opts.QueueSize {
		return
	}
	c.q.push(item{t: t, m: Message{Kind: fanout.Occupancy, Topic: t.name, Count: f.Count}})
	signal(c.ready)
}

// Occupancy returns the newest subscriber count the server pushed for the
// topic name, over every node of the server, and false when none came yet
// (the server pushes counts only for the topics it configures so) or the
// topic is not subscribed.
func (c *Client) Occupancy(name string) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.topics[name]
	if t == nil || !t.hasOccupancy {
		return 0, false
	}
	return t.occupancy, true
}
