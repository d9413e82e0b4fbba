package nats_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
)

// BenchmarkCrossNode measures publish -> receive through NATS: publishers
// on one hub, one subscriber on another hub (another NATS connection),
// beside the same workload on one in-process hub. Two workloads:
//
//   - stream: 4 publishers, each on its own topic, publish as fast as
//     Publish returns; msgs/s is the throughput, and the latency includes
//     the time a message waits in the subscriber's queue.
//   - ping: one message at a time, the next published once the previous
//     one arrived; the latency percentiles are those of an idle system.
//
// Latency runs from the start of Publish to the subscriber's Next.
//
//	go test -run '^$' -bench CrossNode -benchtime 2000x .
func BenchmarkCrossNode(b *testing.B) {
	const size = 128
	for _, w := range []struct {
		name       string
		publishers int
	}{{"stream", 4}, {"ping", 0}} {
		b.Run(w.name+"/hub-in-process", func(b *testing.B) {
			h := fanout.NewHub(fanout.Options{})
			defer func() { _ = h.Close() }()
			runCrossNode(b, h, h, w.publishers, size)
		})
		b.Run(w.name+"/nats-cross-node", func(b *testing.B) {
			ns := startServer(b)
			pub := newHub(b, ns.url(), natsbroker.Options{})
			sub := newHub(b, ns.url(), natsbroker.Options{})
			runCrossNode(b, pub, sub, w.publishers, size)
		})
	}
}

// runCrossNode publishes b.N messages from publishers goroutines, each on
// its own topic of pub, and receives them all on one subscriber of sub.
// Zero publishers means one that waits for each message to arrive before
// it publishes the next. Each payload starts with its message's index
// into the send times.
func runCrossNode(b *testing.B, pub, sub *fanout.Hub, publishers, size int) {
	ping := publishers == 0
	if ping {
		publishers = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := sub.NewSubscriber(fanout.SubscriberOptions{QueueSize: 1 << 16})
	defer func() { _ = s.Close() }()
	topics := make([]string, publishers)
	for i := range topics {
		topics[i] = fmt.Sprintf("bench.%d", i)
		if err := s.Subscribe(ctx, topics[i]); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Next(ctx); err != nil { // the snapshot every subscription starts with
			b.Fatal(err)
		}
	}
	sent := make([]atomic.Int64, b.N) // send time of message i, Unix ns
	lat := make([]time.Duration, 0, b.N)
	var next atomic.Int64             // the next message index to publish
	arrived := make(chan struct{}, 1) // ping: the last message arrived
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()

	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for _, topic := range topics {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				data := make([]byte, size)
				binary.BigEndian.PutUint64(data, uint64(i))
				sent[i].Store(time.Now().UnixNano())
				if _, err := pub.Publish(topic, data); err != nil {
					errs <- err
					return
				}
				if ping {
					select {
					case <-arrived:
					case <-ctx.Done():
						return
					}
				}
			}
		})
	}
	for range b.N {
		d, err := s.Next(ctx)
		if err != nil {
			b.Fatalf("after %d messages: %v", len(lat), err)
		}
		i := binary.BigEndian.Uint64(d.Data)
		lat = append(lat, time.Duration(time.Now().UnixNano()-sent[i].Load()))
		if ping {
			arrived <- struct{}{}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
}

// BenchmarkRecover measures Recover of a topic whose whole history (256
// messages) a joining node asks for, and of a small gap (4 messages).
//
//	go test -run '^$' -bench Recover .
func BenchmarkRecover(b *testing.B) {
	ns := startServer(b)
	br := newBroker(b, ns.url(), natsbroker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var head fanout.Position
	for i := range natsbroker.DefaultHistorySize {
		var err error
		if head, err = br.Publish(ctx, "rec", fmt.Appendf(nil, `{"n":%d}`, i), nil, false); err != nil {
			b.Fatal(err)
		}
	}
	for _, missed := range []uint64{4, natsbroker.DefaultHistorySize} {
		b.Run(fmt.Sprintf("missed=%d", missed), func(b *testing.B) {
			after := fanout.Position{Epoch: head.Epoch, Seq: head.Seq - missed}
			b.ReportAllocs()
			for b.Loop() {
				rec, err := br.Recover(ctx, "rec", after, 1000)
				if err != nil || uint64(len(rec.Messages)) != missed {
					b.Fatalf("recovered %d messages, %v", len(rec.Messages), err)
				}
			}
		})
	}
}
