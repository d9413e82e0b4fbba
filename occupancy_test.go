package fanout_test

import (
	"fmt"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
)

// occupancyHub returns a hub on which every topic pushes its count.
func occupancyHub(t *testing.T, b fanout.Broker) *fanout.Hub {
	return occupancyHubOpts(t, b, fanout.Options{})
}

func occupancyHubOpts(t *testing.T, b fanout.Broker, opts fanout.Options) *fanout.Hub {
	t.Helper()
	opts.Broker = b
	opts.Occupancy = fanout.OccupancyOptions{Interval: 100 * time.Millisecond, TTL: time.Second, PushInterval: time.Second}
	opts.TopicConfig = func(string) fanout.TopicConfig { return fanout.TopicConfig{Occupancy: true} }
	h := fanout.NewHub(opts)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func joinFresh(t *testing.T, h *fanout.Hub, topic string) *fanout.Subscriber {
	t.Helper()
	s := h.NewSubscriber(fanout.SubscriberOptions{})
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Subscribe(t.Context(), topic); err != nil {
		t.Fatal(err)
	}
	if d := mustNext(t, s); d.Kind != fanout.Snapshot {
		t.Fatalf("first delivery %v, want the snapshot", d.Kind)
	}
	return s
}

func mustNext(t *testing.T, s *fanout.Subscriber) fanout.Delivery {
	t.Helper()
	d, err := s.Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// counts drains s and returns the counts of its occupancy deliveries.
func counts(t *testing.T, s *fanout.Subscriber) []int {
	t.Helper()
	var got []int
	buf := make([]fanout.Delivery, 16)
	for {
		n, err := s.Drain(buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range buf[:n] {
			if d.Kind != fanout.Occupancy || d.Epoch != "" || d.Seq != 0 {
				t.Fatalf("got %v at %v, want occupancy deliveries only", d.Kind, d.Position())
			}
			c, err := strconv.Atoi(string(d.Data))
			if err != nil {
				t.Fatalf("occupancy data %q: %v", d.Data, err)
			}
			got = append(got, c)
		}
		if n == 0 {
			return got
		}
	}
}

func TestOccupancyLocal(t *testing.T) {
	h := fanout.NewHub(fanout.Options{})
	defer h.Close()
	var subs []*fanout.Subscriber
	for range 3 {
		subs = append(subs, joinFresh(t, h, "room"))
	}
	if got := h.Occupancy("room"); got != 3 {
		t.Fatalf("Occupancy = %d, want 3", got)
	}
	_ = subs[0].Close()
	if err := subs[1].Unsubscribe("room"); err != nil {
		t.Fatal(err)
	}
	if got, local := h.Occupancy("room"), h.LocalOccupancy("room"); got != 1 || local != 1 {
		t.Fatalf("Occupancy, LocalOccupancy = %d, %d, want 1, 1", got, local)
	}
	if got := h.Occupancy("nobody"); got != 0 {
		t.Fatalf("Occupancy of an unknown topic = %d, want 0", got)
	}
}

// TestOccupancyPushCoalesced: changes within PushInterval of the last push
// come as one message with the newest count, at most one per PushInterval,
// and a consumer that does not read keeps only the newest count queued.
func TestOccupancyPushCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := occupancyHub(t, nil)
		a := joinFresh(t, h, "room")
		time.Sleep(200 * time.Millisecond) // two intervals of the hub's fake clock
		synctest.Wait()
		if got := counts(t, a); len(got) != 1 || got[0] != 1 {
			t.Fatalf("after the first join: counts %v, want [1]", got)
		}
		pushed := time.Now()
		// Nine joins, one every 50ms: 450ms, within one PushInterval.
		for range 9 {
			joinFresh(t, h, "room")
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
		}
		if got := counts(t, a); len(got) != 0 {
			t.Fatalf("counts %v pushed within PushInterval of the last push", got)
		}
		time.Sleep(time.Second - time.Since(pushed))
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if got := counts(t, a); len(got) != 1 || got[0] != 10 {
			t.Fatalf("after PushInterval: counts %v, want [10] (coalesced)", got)
		}
		// Joins every 100ms for 5s: one push per second.
		start := time.Now()
		var got []int
		for range 50 {
			joinFresh(t, h, "room")
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			got = append(got, counts(t, a)...)
		}
		if max := int(time.Since(start)/time.Second) + 1; len(got) > max || len(got) < max-2 {
			t.Fatalf("%d pushes in %v: %v, want about one per second", len(got), time.Since(start), got)
		}
		// A consumer that does not read has one count queued, the newest.
		lazy := joinFresh(t, h, "room")
		for range 5 {
			joinFresh(t, h, "room")
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if got := counts(t, lazy); len(got) != 1 || got[0] != h.Occupancy("room") {
			t.Fatalf("a consumer that did not read holds counts %v, want [%d]", got, h.Occupancy("room"))
		}
	})
}

// TestOccupancyNodesSynctest runs occupancy across three memory-broker
// nodes on a fake clock: counts converge within one Interval (plus the
// delivery), a closed broker's node expires after TTL and not before.
func TestOccupancyNodesSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mb := memory.New(memory.Options{})
		conns := []*memory.Conn{mb.Connect(), mb.Connect(), mb.Connect()}
		var hubs []*fanout.Hub
		for _, c := range conns {
			hubs = append(hubs, occupancyHub(t, c))
		}
		for i, h := range hubs {
			for range i + 1 {
				joinFresh(t, h, "room")
			}
		}
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		for i, h := range hubs {
			if got := h.Occupancy("room"); got != 6 {
				t.Fatalf("hub %d: Occupancy = %d after one interval, want 6", i, got)
			}
		}
		_ = conns[2].Close() // node 2 dies without a goodbye
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if got := hubs[0].Occupancy("room"); got != 6 {
			t.Fatalf("Occupancy = %d before the dead node's TTL, want 6", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for i, h := range hubs[:2] {
			if got := h.Occupancy("room"); got != 3 {
				t.Fatalf("hub %d: Occupancy = %d after the dead node's TTL, want 3", i, got)
			}
		}
	})
}

// TestOccupancyReportSplit: a node with more topics than one report holds
// sends them in several, and another node counts them all.
func TestOccupancyReportSplit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mb := memory.New(memory.Options{})
		long := fanout.Options{MaxTopicLength: 1000}
		a := occupancyHubOpts(t, mb.Connect(), long)
		b := occupancyHubOpts(t, mb.Connect(), long)
		const n = 200 // 200 topics of ~500 bytes: about three reports
		for i := range n {
			joinFresh(t, a, fmt.Sprintf("%0500d", i))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for i := range n {
			if got := b.Occupancy(fmt.Sprintf("%0500d", i)); got != 1 {
				t.Fatalf("topic %d: Occupancy on the other node = %d, want 1", i, got)
			}
		}
		if sent := a.OccupancyStats().ReportsSent; sent < 3 {
			t.Fatalf("%d reports sent, want the counts split in several", sent)
		}
	})
}
