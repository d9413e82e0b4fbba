package market_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/ticker/market"
)

// A conflating subscriber that falls behind holds only the newest quote
// of each instrument instead of a backlog: here the quote that replaced
// each instrument's snapshot while it waited in the queue.
func ExampleTopicConfig() {
	hub := fanout.NewHub(fanout.Options{TopicConfig: market.TopicConfig})
	defer hub.Close()
	m := market.New(hub, 3, 1)
	_ = m.PublishAll()

	sub := hub.NewSubscriber(fanout.SubscriberOptions{Overflow: fanout.OverflowConflate})
	defer sub.Close()
	for _, inst := range m.Instruments() {
		_ = sub.Subscribe(context.Background(), market.QuoteTopic(inst.Sym))
	}
	_ = m.Step(1000) // the subscriber reads nothing meanwhile

	fmt.Println("queued:", sub.Len())
	buf := make([]fanout.Delivery, 8)
	n, _ := sub.Drain(buf)
	latest := m.Quotes()
	for i, d := range buf[:n] {
		fmt.Println(d.Kind, d.Seq > 1, string(d.Data) == mustJSON(latest[i]))
	}
	// Output:
	// queued: 3
	// snapshot true true
	// snapshot true true
	// snapshot true true
}

func mustJSON(q market.Quote) string {
	b, err := json.Marshal(q)
	if err != nil {
		panic(err)
	}
	return string(b)
}
