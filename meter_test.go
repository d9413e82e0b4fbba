package fanout_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
)

func TestLatencyBound(t *testing.T) {
	for _, tc := range []struct {
		i    int
		want time.Duration
	}{
		{0, 16 * time.Microsecond},
		{1, 32 * time.Microsecond},
		{10, 16384 * time.Microsecond},
		{fanout.LatencyBuckets - 2, 16777216 * time.Microsecond},
		{fanout.LatencyBuckets - 1, 0},
		{-1, 0},
	} {
		if got := fanout.LatencyBound(tc.i); got != tc.want {
			t.Errorf("LatencyBound(%d) = %v, want %v", tc.i, got, tc.want)
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{16 * time.Microsecond, 0},
		{17 * time.Microsecond, 1},
		{32 * time.Microsecond, 1},
		{33 * time.Microsecond, 2},
		{time.Millisecond, 6},
		{time.Hour, fanout.LatencyBuckets - 1},
	} {
		var h fanout.Histogram
		h.Observe(tc.d)
		s := h.Snapshot()
		if s.Count != 1 || s.Counts[tc.want] != 1 {
			t.Errorf("Observe(%v) counted %v, want bucket %d", tc.d, s.Counts, tc.want)
		}
		if fanout.LatencyBound(tc.want) != 0 && tc.d > fanout.LatencyBound(tc.want) {
			t.Errorf("%v is above its bucket's bound %v", tc.d, fanout.LatencyBound(tc.want))
		}
	}
}

func TestMeter(t *testing.T) {
	h := fanout.NewHub(fanout.Options{})
	defer h.Close()
	var m fanout.Meter
	s := h.NewSubscriber(fanout.SubscriberOptions{Meter: &m})
	for _, topic := range []string{"a", "b", "c"} {
		if err := s.Subscribe(t.Context(), topic); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Unsubscribe("c"); err != nil {
		t.Fatal(err)
	}
	if got := m.Stats().Subscriptions; got != 2 {
		t.Fatalf("Subscriptions = %d, want 2", got)
	}
	if _, err := h.Publish("a", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	buf := make([]fanout.Delivery, 8)
	n, _ := s.Drain(buf) // two snapshots and an update
	if n != 3 {
		t.Fatalf("drained %d deliveries, want 3", n)
	}
	m.ObserveWrite(buf[:n], buf[2].Time.Add(time.Millisecond))
	lat := m.Stats().WriteLatency
	if lat.Count != 1 || lat.Counts[6] != 1 || lat.Sum != time.Millisecond {
		t.Fatalf("WriteLatency = %+v, want the update at 1ms only", lat)
	}
	if total, most := h.QueueDepth(); total != 0 || most != 0 {
		t.Fatalf("QueueDepth = %d, %d after a drain, want 0, 0", total, most)
	}
	if _, err := h.Publish("b", []byte(`2`)); err != nil {
		t.Fatal(err)
	}
	if total, most := h.QueueDepth(); total != 1 || most != 1 {
		t.Fatalf("QueueDepth = %d, %d, want 1, 1", total, most)
	}
	_ = s.Close()
	if got := m.Stats().Subscriptions; got != 0 {
		t.Fatalf("Subscriptions = %d after Close, want 0", got)
	}
}

func TestBrokerErrors(t *testing.T) {
	mb := memory.New(memory.Options{})
	h := fanout.NewHub(fanout.Options{Broker: mb.Connect()})
	defer h.Close()
	mb.SetDown(true)
	if _, err := h.Publish("a", nil); !errors.Is(err, fanout.ErrBroker) {
		t.Fatalf("publish while down: %v", err)
	}
	s := h.NewSubscriber(fanout.SubscriberOptions{})
	defer s.Close()
	if err := s.Subscribe(context.Background(), "a"); !errors.Is(err, fanout.ErrBroker) {
		t.Fatalf("subscribe while down: %v", err)
	}
	if got := h.Stats().BrokerErrors; got != 2 {
		t.Fatalf("BrokerErrors = %d, want 2", got)
	}
}
