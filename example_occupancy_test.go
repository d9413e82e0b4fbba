package fanout_test

import (
	"context"
	"fmt"

	"github.com/fanout-go/fanout"
)

// A topic's occupancy: Hub.Occupancy counts its subscribers (on every node
// of the broker, when there is one), and TopicConfig.Occupancy pushes the
// count to them.
func ExampleHub_Occupancy() {
	hub := fanout.NewHub(fanout.Options{
		TopicConfig: func(topic string) fanout.TopicConfig {
			return fanout.TopicConfig{Occupancy: true} // push "N watching"
		},
	})
	defer hub.Close()

	ctx := context.Background()
	a := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer a.Close()
	b := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer b.Close()
	_ = a.Subscribe(ctx, "game:123")
	_ = b.Subscribe(ctx, "game:123")
	fmt.Println("watching:", hub.Occupancy("game:123"))

	for {
		d, _ := a.Next(ctx)
		if d.Kind == fanout.Occupancy { // after the snapshot, within a second
			fmt.Printf("pushed: %s watching\n", d.Data)
			return
		}
	}
	// Output:
	// watching: 2
	// pushed: 2 watching
}
