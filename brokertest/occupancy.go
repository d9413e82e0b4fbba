package brokertest

import (
	"strconv"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
)

// occupancyOptions make counts converge and expire fast enough for the
// suite: a report every 50ms, a node forgotten after 900ms of silence.
var occupancyOptions = fanout.OccupancyOptions{
	Interval:     50 * time.Millisecond,
	TTL:          900 * time.Millisecond,
	PushInterval: 100 * time.Millisecond,
}

// occupancyNode is a hub and its broker, which a case may close under the
// hub to make the node die without a word.
type occupancyNode struct {
	hub    *fanout.Hub
	broker fanout.Broker
}

// occupancyNodes starts n hubs with occupancy on the backend, or skips the
// case when the broker does not carry occupancy reports.
func (be Backend) occupancyNodes(t *testing.T, n int) []occupancyNode {
	t.Helper()
	nodes := make([]occupancyNode, n)
	for i := range nodes {
		b := be.Connect(t)
		if _, ok := b.(fanout.OccupancyBroker); !ok {
			_ = b.Close()
			t.Skipf("the broker (%T) does not implement fanout.OccupancyBroker", b)
		}
		h := fanout.NewHub(fanout.Options{
			Broker:    b,
			Occupancy: occupancyOptions,
			TopicConfig: func(string) fanout.TopicConfig {
				return fanout.TopicConfig{Occupancy: true}
			},
		})
		nodes[i] = occupancyNode{hub: h, broker: b}
		t.Cleanup(func() {
			if err := h.Close(); err != nil {
				t.Errorf("close hub %d: %v", i, err)
			}
		})
	}
	return nodes
}

// join subscribes k subscribers to topic on h.
func join(t *testing.T, h *fanout.Hub, topic string, k int) []*fanout.Subscriber {
	t.Helper()
	subs := make([]*fanout.Subscriber, k)
	for i := range subs {
		subs[i] = subscriber(t, h, topic, nil)
	}
	return subs
}

// converge waits until every hub of nodes counts want subscribers of
// topic, and returns how long that took.
func converge(t *testing.T, nodes []occupancyNode, topic string, want int) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, topic+" counted "+strconv.Itoa(want)+" on every node", func() bool {
		for _, n := range nodes {
			if n.hub.Occupancy(topic) != want {
				return false
			}
		}
		return true
	})
	return time.Since(start)
}

// testOccupancyConverge: on two and on three nodes, joins and leaves on
// every node are counted by every node.
func testOccupancyConverge(t *testing.T, be Backend) {
	for _, n := range []int{2, 3} {
		t.Run("nodes="+strconv.Itoa(n), func(t *testing.T) {
			nodes := be.occupancyNodes(t, n)
			var subs [][]*fanout.Subscriber
			total := 0
			for i, node := range nodes {
				subs = append(subs, join(t, node.hub, "room", i+1))
				total += i + 1
			}
			join(t, nodes[0].hub, "hall", 1)
			t.Logf("joins: converged in %v", converge(t, nodes, "room", total))
			converge(t, nodes, "hall", 1)
			for _, s := range subs[n-1][:n-1] {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			total -= n - 1
			if got := nodes[n-1].hub.LocalOccupancy("room"); got != 1 {
				t.Fatalf("LocalOccupancy after the leaves = %d, want 1", got)
			}
			t.Logf("leaves: converged in %v", converge(t, nodes, "room", total))
			if err := subs[0][0].Unsubscribe("room"); err != nil {
				t.Fatal(err)
			}
			converge(t, nodes, "room", total-1)
		})
	}
}

// testOccupancyNodeDies: the counts of a node that stops reporting expire
// on the others; those of a node that closes go at once.
func testOccupancyNodeDies(t *testing.T, be Backend) {
	nodes := be.occupancyNodes(t, 3)
	for i, node := range nodes {
		join(t, node.hub, "room", i+1)
	}
	converge(t, nodes, "room", 6)
	// Node 2 loses its broker without a goodbye, as a crashed process.
	if err := nodes[2].broker.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("a dead node's counts expired in %v (TTL %v)", converge(t, nodes[:2], "room", 3), occupancyOptions.TTL)
	if got := nodes[0].hub.OccupancyStats().ExpiredNodes; got == 0 {
		t.Errorf("OccupancyStats().ExpiredNodes = 0 after node 2 expired")
	}
	// Node 1 closes: it says goodbye.
	if err := nodes[1].hub.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("a closed node's counts went in %v", converge(t, nodes[:1], "room", 1))
}

// testOccupancyMove: a client that leaves one node and resumes on another
// is counted once, everywhere, once the nodes have reported.
func testOccupancyMove(t *testing.T, be Backend) {
	nodes := be.occupancyNodes(t, 3)
	s := subscriber(t, nodes[0].hub, "room", nil)
	converge(t, nodes, "room", 1)
	d := next(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pos := d.Position()
	subscriber(t, nodes[1].hub, "room", &pos)
	t.Logf("a move converged in %v", converge(t, nodes, "room", 1))
	// It stays counted once while every node hears several reports.
	var before []uint64
	for _, n := range nodes {
		before = append(before, n.hub.OccupancyStats().ReportsRecv)
	}
	eventually(t, "three more reports on every node", func() bool {
		for i, n := range nodes {
			if n.hub.OccupancyStats().ReportsRecv < before[i]+3 {
				return false
			}
		}
		return true
	})
	for i, n := range nodes {
		if got := n.hub.Occupancy("room"); got != 1 {
			t.Fatalf("node %d counts %d subscribers of room after the move, want 1", i, got)
		}
	}
}

// testOccupancyPush: a subscriber of a topic with TopicConfig.Occupancy
// receives the count, which includes the subscribers of other nodes.
func testOccupancyPush(t *testing.T, be Backend) {
	nodes := be.occupancyNodes(t, 2)
	s := fresh(t, nodes[0].hub, "room")
	expectCount(t, s, 1)
	join(t, nodes[1].hub, "room", 2)
	expectCount(t, s, 3)
}

// expectCount reads s's deliveries until an Occupancy one says want.
func expectCount(t *testing.T, s *fanout.Subscriber, want int) {
	t.Helper()
	for {
		d := next(t, s)
		if d.Kind != fanout.Occupancy {
			t.Fatalf("got %v %v, want an occupancy delivery", d.Kind, d.Position())
		}
		if string(d.Data) == strconv.Itoa(want) {
			return
		}
	}
}
