package memory_test

import (
	"context"
	"fmt"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
)

// Two hubs, two nodes of one application, share topics through a broker:
// a client subscribed on one node receives what the other publishes, at
// the position the broker assigned.
func Example() {
	mb := memory.New(memory.Options{})
	a := fanout.NewHub(fanout.Options{Broker: mb.Connect()}) // each hub closes its connection
	defer a.Close()
	b := fanout.NewHub(fanout.Options{Broker: mb.Connect()})
	defer b.Close()

	ctx := context.Background()
	sub := b.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	if err := sub.Subscribe(ctx, "game:1"); err != nil {
		panic(err)
	}
	d, err := sub.Next(ctx) // every subscription starts with a snapshot
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Kind, d.Seq, d.Data == nil)

	pos, err := a.PublishState("game:1", []byte(`{"event":"goal"}`), []byte(`{"score":"1-0"}`))
	if err != nil {
		panic(err)
	}
	d, err = sub.Next(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Kind, d.Seq, string(d.Data), d.Position() == pos)

	// A client joining on node a gets the snapshot the broker keeps.
	late := a.NewSubscriber(fanout.SubscriberOptions{})
	defer late.Close()
	if err := late.Subscribe(ctx, "game:1"); err != nil {
		panic(err)
	}
	d, err = late.Next(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Kind, d.Seq, string(d.Data))
	// Output:
	// snapshot 0 true
	// update 1 {"event":"goal"} true
	// snapshot 1 {"score":"1-0"}
}
