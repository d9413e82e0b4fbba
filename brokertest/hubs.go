package brokertest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/fanout-go/fanout"
)

// hubs starts n hubs, each with its own broker on the backend (n nodes).
func (be Backend) hubs(t *testing.T, n int) []*fanout.Hub {
	t.Helper()
	hubs := make([]*fanout.Hub, n)
	for i := range hubs {
		hubs[i] = fanout.NewHub(fanout.Options{Broker: be.Connect(t)})
		t.Cleanup(func() {
			if err := hubs[i].Close(); err != nil {
				t.Errorf("close hub %d: %v", i, err)
			}
		})
	}
	return hubs
}

func subscriber(t *testing.T, h *fanout.Hub, topic string, from *fanout.Position) *fanout.Subscriber {
	t.Helper()
	s := h.NewSubscriber(fanout.SubscriberOptions{QueueSize: 1024})
	t.Cleanup(func() { _ = s.Close() })
	var err error
	if from == nil {
		err = s.Subscribe(ctx(t), topic)
	} else {
		err = s.Resume(ctx(t), topic, *from)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fresh subscribes to topic, which has no state yet, on h and reads the
// position-only snapshot that starts every subscription.
func fresh(t *testing.T, h *fanout.Hub, topic string) *fanout.Subscriber {
	t.Helper()
	s := subscriber(t, h, topic, nil)
	if d := next(t, s); d.Kind != fanout.Snapshot || d.Data != nil {
		t.Fatalf("a fresh join on %s started with %v %q, want a snapshot with no data", topic, d.Kind, d.Data)
	}
	return s
}

func next(t *testing.T, s *fanout.Subscriber) fanout.Delivery {
	t.Helper()
	d, err := s.Next(ctx(t))
	if err != nil {
		t.Fatalf("next delivery: %v", err)
	}
	return d
}

func expect(t *testing.T, d fanout.Delivery, kind fanout.Kind, pos fanout.Position, data []byte) {
	t.Helper()
	if d.Kind != kind || d.Position() != pos || !bytes.Equal(d.Data, data) || d.Gap {
		t.Fatalf("got %v %v %q (gap %v), want %v %v %q", d.Kind, d.Position(), d.Data, d.Gap, kind, pos, data)
	}
}

func hubPublish(t *testing.T, h *fanout.Hub, topic string, data, state []byte) fanout.Position {
	t.Helper()
	var pos fanout.Position
	var err error
	if state != nil {
		pos, err = h.PublishState(topic, data, state)
	} else {
		pos, err = h.Publish(topic, data)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

// testHubsOrder publishes from three hubs at once; every subscriber of
// every hub sees the same updates, in order, with no gap.
func testHubsOrder(t *testing.T, be Backend) {
	const each = 100
	hubs := be.hubs(t, 3)
	var subs []*fanout.Subscriber
	for _, h := range hubs {
		subs = append(subs, fresh(t, h, "order"), fresh(t, h, "order"))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(hubs))
	for i, h := range hubs {
		wg.Go(func() {
			for j := range each {
				if _, err := h.Publish("order", fmt.Appendf(nil, `{"hub":%d,"n":%d}`, i, j)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var want []fanout.Delivery
	for n, s := range subs {
		for i := range len(hubs) * each {
			d := next(t, s)
			if n == 0 {
				want = append(want, d)
				if d.Kind != fanout.Update || d.Seq != uint64(i+1) || d.Epoch != want[0].Epoch || d.Gap {
					t.Fatalf("subscriber 0 got %v %v (gap %v), want update seq %d", d.Kind, d.Position(), d.Gap, i+1)
				}
				continue
			}
			expect(t, d, fanout.Update, want[i].Position(), want[i].Data)
		}
	}
}

// testHubsJoinSnapshot: a subscriber joining on another node gets the
// snapshot published elsewhere, then the updates that follow.
func testHubsJoinSnapshot(t *testing.T, be Backend) {
	hubs := be.hubs(t, 3)
	var pos fanout.Position
	for seq := uint64(1); seq <= 3; seq++ {
		pos = hubPublish(t, hubs[0], "join", payload(seq), fmt.Appendf(nil, `{"state":%d}`, seq))
	}
	s := subscriber(t, hubs[1], "join", nil)
	expect(t, next(t, s), fanout.Snapshot, pos, []byte(`{"state":3}`))
	pos = hubPublish(t, hubs[2], "join", payload(4), nil)
	expect(t, next(t, s), fanout.Update, pos, payload(4))
	pos = hubPublish(t, hubs[1], "join", payload(5), nil)
	expect(t, next(t, s), fanout.Update, pos, payload(5))
}

// testHubsResumeElsewhere: a client that read up to a position on one
// node resumes on another from history, without a reset.
func testHubsResumeElsewhere(t *testing.T, be Backend) {
	hubs := be.hubs(t, 2)
	a := fresh(t, hubs[0], "resume")
	for seq := uint64(1); seq <= 10; seq++ {
		hubPublish(t, hubs[0], "resume", payload(seq), nil)
	}
	var last fanout.Position
	for range 5 {
		last = next(t, a).Position()
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := subscriber(t, hubs[1], "resume", &last)
	for seq := last.Seq + 1; seq <= 10; seq++ {
		expect(t, next(t, b), fanout.Update, fanout.Position{Epoch: last.Epoch, Seq: seq}, payload(seq))
	}
	pos := hubPublish(t, hubs[0], "resume", payload(11), nil)
	expect(t, next(t, b), fanout.Update, pos, payload(11))
}

// testHubsDataLoss: when the broker loses a topic, every subscriber is
// reset to the new epoch rather than shown a silent gap.
func testHubsDataLoss(t *testing.T, be Backend) {
	if be.Flush == nil {
		t.Skip("Backend.Flush is not set")
	}
	hubs := be.hubs(t, 2)
	subs := []*fanout.Subscriber{fresh(t, hubs[0], "lost"), fresh(t, hubs[1], "lost")}
	old := hubPublish(t, hubs[0], "lost", payload(1), nil)
	for _, s := range subs {
		expect(t, next(t, s), fanout.Update, old, payload(1))
	}
	be.Flush(t)
	state := []byte(`{"state":"new"}`)
	pos := hubPublish(t, hubs[1], "lost", payload(1), state)
	if pos.Epoch == old.Epoch {
		t.Fatalf("publish after data loss kept the epoch: %v", pos)
	}
	for _, s := range subs {
		expect(t, next(t, s), fanout.Reset, pos, state)
	}
	pos = hubPublish(t, hubs[0], "lost", payload(2), nil)
	for _, s := range subs {
		expect(t, next(t, s), fanout.Update, pos, payload(2))
	}
}

// testHubsOutage: while the backend is down, publishing fails with
// fanout.ErrBroker; once it is back, every node carries on from where it
// was, without a gap or a reset.
func testHubsOutage(t *testing.T, be Backend) {
	if be.SetDown == nil {
		t.Skip("Backend.SetDown is not set")
	}
	hubs := be.hubs(t, 2)
	subs := []*fanout.Subscriber{fresh(t, hubs[0], "outage"), fresh(t, hubs[1], "outage")}
	type sent struct {
		pos  fanout.Position
		data []byte
	}
	var published []sent
	try := func(h *fanout.Hub) error {
		data := payload(uint64(100 + len(published)))
		pos, err := h.Publish("outage", data)
		if err == nil {
			published = append(published, sent{pos, data})
		} else if !errors.Is(err, fanout.ErrBroker) {
			t.Fatalf("publish: %v, want success or an error wrapping fanout.ErrBroker", err)
		}
		return err
	}
	if err := try(hubs[0]); err != nil {
		t.Fatal(err)
	}
	be.SetDown(t, true)
	up := false
	defer func() {
		if !up {
			be.SetDown(t, false)
		}
	}()
	eventually(t, "a publish to fail", func() bool { return try(hubs[1]) != nil })
	be.SetDown(t, false)
	up = true
	eventually(t, "a publish to succeed", func() bool { return try(hubs[1]) == nil })
	for _, s := range subs {
		for _, p := range published {
			expect(t, next(t, s), fanout.Update, p.pos, p.data)
		}
	}
}
