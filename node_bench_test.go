package fanout_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
)

// BenchmarkNodeFanout measures one publish delivered to every subscriber
// of one topic on every node, through a memory broker (broker/memory), next to the same
// subscribers on one hub without a broker. An op is one publish (made on
// node 0); every drainEvery publishes the benchmark goroutine waits until
// every subscriber has received them, draining, and that wait is timed.
// deliveries/s counts deliveries on all nodes.
func BenchmarkNodeFanout(b *testing.B) {
	for _, subs := range []int{1, 1000} {
		b.Run(fmt.Sprintf("impl=hub/nodes=1/subs=%d", subs), func(b *testing.B) { benchNodeFanout(b, 0, subs) })
		for _, nodes := range []int{1, 3} {
			b.Run(fmt.Sprintf("impl=memorybroker/nodes=%d/subs=%d", nodes, subs), func(b *testing.B) { benchNodeFanout(b, nodes, subs) })
		}
	}
}

// benchNodeFanout runs nodes hubs on a memory broker (one hub without a
// broker when nodes is 0), with subs subscribers each.
func benchNodeFanout(b *testing.B, nodes, subs int) {
	const topic = "bench:node"
	ctx := context.Background()
	var hubs []*fanout.Hub
	if nodes == 0 {
		hubs = append(hubs, fanout.NewHub(fanout.Options{}))
	} else {
		mb := memory.New(memory.Options{})
		for range nodes {
			hubs = append(hubs, fanout.NewHub(fanout.Options{Broker: mb.Connect()}))
		}
	}
	var all []*fanout.Subscriber
	for _, h := range hubs {
		b.Cleanup(func() { _ = h.Close() })
		for range subs {
			s := h.NewSubscriber(fanout.SubscriberOptions{QueueSize: 4 * drainEvery})
			b.Cleanup(func() { _ = s.Close() })
			if err := s.Subscribe(ctx, topic); err != nil {
				b.Fatal(err)
			}
			all = append(all, s)
		}
	}
	payload := make([]byte, 64)
	buf := make([]fanout.Delivery, 4*drainEvery)
	var head uint64
	seen := make([]uint64, len(all)) // the last seq each subscriber drained
	drain := func() {
		for i, s := range all {
			for seen[i] < head {
				k, err := s.Drain(buf)
				if err != nil {
					b.Fatal(err)
				}
				if k == 0 {
					<-s.Ready()
					continue
				}
				seen[i] = buf[k-1].Seq
			}
		}
	}
	publish := func() {
		pos, err := hubs[0].Publish(topic, payload)
		if err != nil {
			b.Fatal(err)
		}
		head = pos.Seq
	}
	publishLoop(b, fanout.DefaultHistorySize, publish, drain)
	reportDeliveries(b, len(all))
}
