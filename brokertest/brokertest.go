// Package brokertest is the conformance suite of fanout.Broker
// implementations. A broker module runs it from a test:
//
//	func TestConformance(t *testing.T) {
//		brokertest.Run(t, func(t *testing.T) brokertest.Backend {
//			prefix := uniquePrefix(t) // isolates the case's keys on a shared server
//			return brokertest.Backend{
//				Connect: func(t *testing.T) fanout.Broker { return connect(t, prefix) },
//				Flush:   func(t *testing.T) { deleteKeys(t, prefix) },
//			}
//		})
//	}
//
// The suite checks the broker on its own (sequence numbers, delivery,
// Recover, several nodes, data loss, outages) and through hubs: two or
// three hubs on one backend must show every subscriber the same ordered
// stream without gaps, and a client must be able to resume on another
// node. A broker that implements fanout.OccupancyBroker must make the
// nodes' subscriber counts converge, expire those of a node that dies, and
// count a client that moves between nodes once (the Occupancy cases skip
// for a broker that does not). It imports only the core and the standard
// library, so a broker module needs nothing else to run it.
package brokertest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
)

// waitTimeout bounds every wait of the suite. Waits end as soon as what
// they wait for happens; the bound only turns a hang into a failure.
const waitTimeout = 10 * time.Second

// Backend is one broker server (or an isolated part of a shared one, such
// as a key prefix) as the suite sees it. Run asks for a new Backend for
// every case, so cases do not see each other's topics.
type Backend struct {
	// Connect returns a new, connected broker on the backend: one node.
	// Every broker it returns must see the same topics. The suite binds
	// and closes it (a hub closes the broker it is given). Required.
	Connect func(t *testing.T) fanout.Broker

	// Flush, when set, makes the backend lose every topic's data
	// (sequence, history, snapshot), as a server restarted without
	// persistence would, while the nodes stay connected and subscribed.
	// Nil skips the data-loss cases.
	Flush func(t *testing.T)

	// SetDown, when set, makes the backend unreachable (true) or
	// reachable again (false), keeping its data. Nil skips the outage
	// case.
	SetDown func(t *testing.T, down bool)

	// HistorySize is how many messages the backend keeps per topic. Zero
	// skips the case that overflows history; otherwise it must be small
	// enough (at most a few thousand) to overflow quickly.
	HistorySize int
}

// Run runs every conformance case as a subtest of t, each on a new Backend
// from newBackend.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	cases := []struct {
		name string
		run  func(t *testing.T, be Backend)
	}{
		{"PublishSequence", testPublishSequence},
		{"SubscribeDelivers", testSubscribeDelivers},
		{"SubscribeIdempotent", testSubscribeIdempotent},
		{"Unsubscribe", testUnsubscribe},
		{"RecoverUnknownTopic", testRecoverUnknownTopic},
		{"RecoverHistory", testRecoverHistory},
		{"RecoverSnapshot", testRecoverSnapshot},
		{"HistoryLimit", testHistoryLimit},
		{"IndependentTopics", testIndependentTopics},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"TwoNodes", testTwoNodes},
		{"SubscribedBeforeReturn", testSubscribedBeforeReturn},
		{"DataLoss", testDataLoss},
		{"Outage", testOutage},
		{"Close", testClose},
		{"HubsOrder", testHubsOrder},
		{"HubsJoinSnapshot", testHubsJoinSnapshot},
		{"HubsResumeElsewhere", testHubsResumeElsewhere},
		{"HubsDataLoss", testHubsDataLoss},
		{"HubsOutage", testHubsOutage},
		{"OccupancyConverge", testOccupancyConverge},
		{"OccupancyNodeDies", testOccupancyNodeDies},
		{"OccupancyMove", testOccupancyMove},
		{"OccupancyPush", testOccupancyPush},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			be := newBackend(t)
			if be.Connect == nil {
				t.Fatal("brokertest: Backend.Connect is nil")
			}
			c.run(t, be)
		})
	}
}

// node connects a new node with a recording sink; the broker is closed
// when the test ends.
func (be Backend) node(t *testing.T) (fanout.Broker, *recorder) {
	t.Helper()
	b := be.Connect(t)
	r := newRecorder()
	b.Bind(r)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return b, r
}

// ctx returns a context that ends with the test or after waitTimeout.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return c
}

// recorder is a Sink that records what it receives.
type recorder struct {
	changed chan struct{} // signalled after every change

	mu         sync.Mutex // guards the fields below
	pubs       []fanout.Publication
	reconnects int
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) Receive(p fanout.Publication) {
	r.mu.Lock()
	r.pubs = append(r.pubs, p)
	r.mu.Unlock()
	r.signal()
}

func (r *recorder) Reconnected() {
	r.mu.Lock()
	r.reconnects++
	r.mu.Unlock()
	r.signal()
}

func (r *recorder) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// wait waits until cond, called with r.mu held, holds.
func (r *recorder) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		ok := cond()
		n := len(r.pubs)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-timer.C:
			t.Fatalf("timed out waiting for %s (%d publications received)", what, n)
		}
	}
}

// waitSeq waits for a publication of topic with sequence number seq and
// returns the publications of topic received so far.
func (r *recorder) waitSeq(t *testing.T, topic string, seq uint64) []fanout.Publication {
	t.Helper()
	var got []fanout.Publication
	r.wait(t, topic+" publication "+strconv.FormatUint(seq, 10), func() bool {
		got = got[:0]
		found := false
		for _, p := range r.pubs {
			if p.Topic == topic {
				got = append(got, p)
				found = found || p.Seq == seq
			}
		}
		return found
	})
	return got
}

// eventually polls cond, an effect outside the suite's control such as a
// server's health, every 10ms until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-timer.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
