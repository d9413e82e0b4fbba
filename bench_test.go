package fanout_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/fanout-go/fanout"
)

// The benchmarks keep one table per workload, with the in-repo limit
// baseline (plain buffered channels) in the same table as the hub, so that
// benchstat compares them side by side. BENCHMARKS.md holds the results.

// drainEvery is how many publishes a fan-out benchmark makes between two
// synchronous drains of every consumer. It is below every queue bound used
// here, so nothing overflows and nothing is dropped.
const drainEvery = 64

// sink keeps the consumers' work observable so the compiler cannot drop it.
var sink atomic.Uint64

// fanoutSizes are the subscriber counts of BenchmarkFanout.
var fanoutSizes = []int{1, 100, 10_000}

// payloadSizes are the payload sizes of BenchmarkFanout, in bytes. Neither
// side copies the payload, so its size should not change the cost.
var payloadSizes = []int{64, 1024}

// BenchmarkFanout measures one publish delivered to every subscriber of one
// topic, by the hub and by the limit baseline, a loop over plain buffered
// channels. An op is one publish; consumers drain synchronously on the
// benchmark goroutine every drainEvery publishes, and that drain is timed.
// Both sides allocate one message per publish and nothing per delivery, so
// allocs/op should be 1 whatever the subscriber count.
func BenchmarkFanout(b *testing.B) {
	for _, size := range payloadSizes {
		for _, n := range fanoutSizes {
			name := fmt.Sprintf("subs=%d/bytes=%d", n, size)
			b.Run("impl=hub/"+name, func(b *testing.B) { benchHubFanout(b, n, size) })
			b.Run("impl=chan/"+name, func(b *testing.B) { benchChanFanout(b, n, size) })
		}
	}
}

// publishLoop warms up with warm publishes, growing the queues and the
// history ring to their working size so that a short run (-benchtime
// 100x) reports the steady state, then publishes in the benchmark loop.
// It drains every drainEvery publishes and at the end, and returns how
// many publishes the loop made.
func publishLoop(b *testing.B, warm int, publish, drain func()) int {
	for i := 1; i <= warm; i++ {
		publish()
		if i%drainEvery == 0 {
			drain()
		}
	}
	drain()

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		publish()
		if i++; i%drainEvery == 0 {
			drain()
		}
	}
	drain()
	return i
}

func benchHubFanout(b *testing.B, n, size int) {
	const topic = "bench:fanout"
	ctx := context.Background()
	hub := fanout.NewHub(fanout.Options{})
	b.Cleanup(func() { _ = hub.Close() })
	subs := make([]*fanout.Subscriber, n)
	for i := range subs {
		s := hub.NewSubscriber(fanout.SubscriberOptions{QueueSize: 2 * drainEvery})
		b.Cleanup(func() { _ = s.Close() })
		if err := s.Subscribe(ctx, topic); err != nil {
			b.Fatal(err)
		}
		subs[i] = s
	}
	payload := make([]byte, size)
	buf := make([]fanout.Delivery, 2*drainEvery) // longer than a queue ever gets
	var got uint64
	drain := func() {
		for _, s := range subs {
			k, err := s.Drain(buf)
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range buf[:k] {
				got += d.Seq
			}
		}
	}
	publish := func() {
		if _, err := hub.Publish(topic, payload); err != nil {
			b.Fatal(err)
		}
	}
	warm := fanout.DefaultHistorySize
	i := publishLoop(b, warm, publish, drain)
	reportDeliveries(b, n)

	sink.Add(got)
	// Every publish reached every subscriber: seq 1..total summed, n times.
	total := uint64(warm + i)
	if want := uint64(n) * total * (total + 1) / 2; got != want {
		b.Fatalf("consumers saw seq sum %d, want %d", got, want)
	}
}

// chanMsg is the baseline's message: what a minimal hand-written fan-out
// allocates per publish.
type chanMsg struct {
	topic string
	seq   uint64
	data  []byte
}

func benchChanFanout(b *testing.B, n, size int) {
	const topic = "bench:fanout"
	chans := make([]chan *chanMsg, n)
	for i := range chans {
		chans[i] = make(chan *chanMsg, drainEvery)
	}
	payload := make([]byte, size)
	var got uint64
	drain := func() {
		for _, ch := range chans {
		recv:
			for {
				select {
				case m := <-ch:
					got += m.seq
				default:
					break recv
				}
			}
		}
	}

	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		seq++
		m := &chanMsg{topic: topic, seq: seq, data: payload}
		for _, ch := range chans {
			ch <- m
		}
		if seq%drainEvery == 0 {
			drain()
		}
	}
	drain()
	reportDeliveries(b, n)

	sink.Add(got)
	if want := uint64(n) * seq * (seq + 1) / 2; got != want {
		b.Fatalf("consumers saw seq sum %d, want %d", got, want)
	}
}

// reportDeliveries reports perOp deliveries per op as deliveries/s.
func reportDeliveries(b *testing.B, perOp int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(perOp)*float64(b.N)/s, "deliveries/s")
	}
}

// BenchmarkJoin measures one subscriber joining a topic that has 256
// messages of history: Subscribe or Resume, draining the catch-up it
// queued, and Unsubscribe, so that the topic's subscriber set stays
// constant. The cases are:
//
//   - snapshot: the snapshot is at the head, so the catch-up is 1 message;
//   - snapshot+history: the snapshot is 32 messages behind the head, so the
//     catch-up is the snapshot and 32 updates from history;
//   - resume/missed=0: a resume at the head, nothing to catch up;
//   - resume/missed=32: a resume 32 messages behind, replayed from history;
//   - resume/reset: a resume from another epoch, answered with the snapshot.
//
// new-subscriber adds the rest of a client's life to snapshot: creating
// the Subscriber and closing it instead of unsubscribing.
func BenchmarkJoin(b *testing.B) {
	ctx := context.Background()
	const topic = "bench:join"
	payload := make([]byte, 64)

	// setup returns a hub whose topic holds 256 messages of history, the
	// newest behind messages after the snapshot, and the head position.
	setup := func(b *testing.B, behind int) (*fanout.Hub, fanout.Position) {
		hub := fanout.NewHub(fanout.Options{})
		b.Cleanup(func() { _ = hub.Close() })
		var head fanout.Position
		var err error
		for i := range fanout.DefaultHistorySize {
			if i == fanout.DefaultHistorySize-1-behind {
				head, err = hub.PublishState(topic, payload, payload)
			} else {
				head, err = hub.Publish(topic, payload)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		return hub, head
	}
	// run joins b.N times through join, expecting want deliveries each.
	run := func(b *testing.B, s *fanout.Subscriber, want int, join func() error) {
		buf := make([]fanout.Delivery, 64)
		b.ReportAllocs()
		for b.Loop() {
			if err := join(); err != nil {
				b.Fatal(err)
			}
			if k, err := s.Drain(buf); err != nil || k != want {
				b.Fatalf("join queued %d deliveries (%v), want %d", k, err, want)
			}
			if err := s.Unsubscribe(topic); err != nil {
				b.Fatal(err)
			}
		}
		reportJoins(b, want)
	}
	sub := func(b *testing.B, hub *fanout.Hub) *fanout.Subscriber {
		s := hub.NewSubscriber(fanout.SubscriberOptions{})
		b.Cleanup(func() { _ = s.Close() })
		return s
	}

	b.Run("snapshot", func(b *testing.B) {
		hub, _ := setup(b, 0)
		s := sub(b, hub)
		run(b, s, 1, func() error { return s.Subscribe(ctx, topic) })
	})
	b.Run("snapshot+history", func(b *testing.B) {
		hub, _ := setup(b, 32)
		s := sub(b, hub)
		run(b, s, 33, func() error { return s.Subscribe(ctx, topic) })
	})
	b.Run("resume/missed=0", func(b *testing.B) {
		hub, head := setup(b, 0)
		s := sub(b, hub)
		run(b, s, 0, func() error { return s.Resume(ctx, topic, head) })
	})
	b.Run("resume/missed=32", func(b *testing.B) {
		hub, head := setup(b, 0)
		s := sub(b, hub)
		from := fanout.Position{Epoch: head.Epoch, Seq: head.Seq - 32}
		run(b, s, 32, func() error { return s.Resume(ctx, topic, from) })
	})
	b.Run("resume/reset", func(b *testing.B) {
		hub, head := setup(b, 0)
		s := sub(b, hub)
		from := fanout.Position{Epoch: "elsewhere", Seq: head.Seq}
		run(b, s, 1, func() error { return s.Resume(ctx, topic, from) })
	})
	b.Run("new-subscriber", func(b *testing.B) {
		hub, _ := setup(b, 0)
		buf := make([]fanout.Delivery, 8)
		b.ReportAllocs()
		for b.Loop() {
			s := hub.NewSubscriber(fanout.SubscriberOptions{})
			if err := s.Subscribe(ctx, topic); err != nil {
				b.Fatal(err)
			}
			if k, err := s.Drain(buf); err != nil || k != 1 {
				b.Fatalf("join queued %d deliveries (%v), want 1", k, err)
			}
			_ = s.Close()
		}
		reportJoins(b, 1)
	})
}

// reportJoins reports joins/s and, when a join queues a catch-up of
// perJoin messages, deliveries/s.
func reportJoins(b *testing.B, perJoin int) {
	s := b.Elapsed().Seconds()
	if s <= 0 {
		return
	}
	b.ReportMetric(float64(b.N)/s, "joins/s")
	if perJoin > 0 {
		b.ReportMetric(float64(perJoin)*float64(b.N)/s, "deliveries/s")
	}
}

// parallelTopics is the number of topics BenchmarkPublishParallel
// publishes to.
const parallelTopics = 1024

// BenchmarkPublishParallel measures publishing from every P (run it with
// -cpu 1,2) to 1024 topics spread over the hub's shards, with no
// subscriber or one subscriber per topic. Each publishing goroutine owns
// an equal slice of the topics, publishes to them round-robin and drains
// their subscribers itself, every drainEvery messages per topic, so the
// only shared state is the hub's. It reports publishes/s and, with
// subscribers, deliveries/s.
func BenchmarkPublishParallel(b *testing.B) {
	for _, subs := range []int{0, 1} {
		b.Run("subs="+strconv.Itoa(subs), func(b *testing.B) {
			benchPublishParallel(b, subs)
		})
	}
}

func benchPublishParallel(b *testing.B, subsPerTopic int) {
	ctx := context.Background()
	hub := fanout.NewHub(fanout.Options{})
	b.Cleanup(func() { _ = hub.Close() })
	topics := make([]string, parallelTopics)
	subs := make([]*fanout.Subscriber, parallelTopics)
	for i := range topics {
		topics[i] = "bench:parallel:" + strconv.Itoa(i)
		if subsPerTopic == 0 {
			continue
		}
		s := hub.NewSubscriber(fanout.SubscriberOptions{QueueSize: 2 * drainEvery})
		b.Cleanup(func() { _ = s.Close() })
		if err := s.Subscribe(ctx, topics[i]); err != nil {
			b.Fatal(err)
		}
		subs[i] = s
	}
	payload := make([]byte, 64)
	buf := make([]fanout.Delivery, 2*drainEvery)
	// Warm up: create every topic and grow its history ring and its
	// subscriber's queue to their working size, so that a short run
	// (-benchtime 100x) reports the steady state.
	for round := 1; round <= fanout.DefaultHistorySize; round++ {
		for i, t := range topics {
			if _, err := hub.Publish(t, payload); err != nil {
				b.Fatal(err)
			}
			if s := subs[i]; s != nil && round%drainEvery == 0 {
				if _, err := s.Drain(buf); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	procs := runtime.GOMAXPROCS(0) // RunParallel starts this many goroutines
	var next atomic.Int64

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1)-1) % procs
		lo, hi := g*parallelTopics/procs, (g+1)*parallelTopics/procs
		buf := make([]fanout.Delivery, 2*drainEvery)
		k, round := lo, 0
		for pb.Next() {
			if _, err := hub.Publish(topics[k], payload); err != nil {
				b.Error(err)
				return
			}
			if s := subs[k]; s != nil && round%drainEvery == drainEvery-1 {
				if _, err := s.Drain(buf); err != nil {
					b.Error(err)
					return
				}
			}
			if k++; k == hi {
				k, round = lo, round+1
			}
		}
		for _, s := range subs[lo:hi] {
			if s != nil {
				if _, err := s.Drain(buf); err != nil {
					b.Error(err)
				}
			}
		}
	})
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "publishes/s")
		if subsPerTopic > 0 {
			b.ReportMetric(float64(subsPerTopic)*float64(b.N)/s, "deliveries/s")
		}
	}
}
