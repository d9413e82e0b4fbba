package redis_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	redisbroker "github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
)

var benchTopics atomic.Int64

// BenchmarkCrossNode measures publish -> receive through two hubs, one
// publishing and one subscribed, that share Redis ("redis"), beside one
// hub doing both in process ("in-process", the baseline). "throughput"
// keeps up to 1024 messages in flight from 32 publishers and reports
// msgs/s; "latency" sends one message at a time and reports the p50 and
// p99 of publish-call-to-Next-return.
func BenchmarkCrossNode(b *testing.B) {
	srv := redistest.Start(b)
	setups := []struct {
		name string
		hubs func(b *testing.B) (pub, sub *fanout.Hub, done func())
	}{
		{"in-process", func(*testing.B) (*fanout.Hub, *fanout.Hub, func()) {
			h := fanout.NewHub(fanout.Options{})
			return h, h, func() { _ = h.Close() }
		}},
		{"redis", func(b *testing.B) (*fanout.Hub, *fanout.Hub, func()) {
			node := func() *fanout.Hub {
				br, err := redisbroker.New(redisbroker.Options{Addr: srv.Addr})
				if err != nil {
					b.Fatal(err)
				}
				return fanout.NewHub(fanout.Options{Broker: br})
			}
			pub, sub := node(), node()
			return pub, sub, func() { _ = pub.Close(); _ = sub.Close() }
		}},
	}
	modes := []struct {
		name               string
		window, publishers int
	}{
		{"throughput", 1024, 32},
		{"latency", 1, 1},
	}
	for _, mode := range modes {
		for _, setup := range setups {
			b.Run(mode.name+"/"+setup.name, func(b *testing.B) {
				pub, sub, done := setup.hubs(b)
				defer done()
				crossNode(b, pub, sub, mode.window, mode.publishers)
			})
		}
	}
}

// crossNode publishes b.N messages on pub, at most window unreceived at a
// time, and receives them from a subscriber of sub.
func crossNode(b *testing.B, pub, sub *fanout.Hub, window, publishers int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	topic := "bench.cross." + strconv.FormatInt(benchTopics.Add(1), 10)
	s := sub.NewSubscriber(fanout.SubscriberOptions{QueueSize: 2 * window})
	defer s.Close()
	if err := s.Subscribe(ctx, topic); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Next(ctx); err != nil { // the snapshot every subscription starts with
		b.Fatal(err)
	}
	base := time.Now()
	tokens := make(chan struct{}, window)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()

	var wg sync.WaitGroup
	for w := range publishers {
		wg.Go(func() {
			buf := make([]byte, 0, 64)
			for i := w; i < b.N; i += publishers {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				buf = fmt.Appendf(buf[:0], `{"t":%d}`, time.Since(base))
				if _, err := pub.Publish(topic, buf); err != nil {
					b.Error(err)
					cancel()
					return
				}
			}
		})
	}
	for range b.N {
		d, err := s.Next(ctx)
		if err != nil {
			b.Fatalf("after %d messages: %v", len(lat), err)
		}
		sent, err := strconv.ParseInt(string(d.Data[5:len(d.Data)-1]), 10, 64)
		if err != nil {
			b.Fatalf("payload %q: %v", d.Data, err)
		}
		lat = append(lat, time.Since(base)-time.Duration(sent))
		<-tokens
	}
	wg.Wait()
	b.StopTimer()

	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
}
