package fanout_test

import (
	"context"
	"fmt"

	"github.com/fanout-go/fanout"
)

func Example() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()

	// The feed publishes the game's full state with each event.
	_, _ = hub.PublishState("game:1", []byte(`{"event":"kickoff"}`), []byte(`{"score":"0-0"}`))

	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	ctx := context.Background()
	if err := sub.Subscribe(ctx, "game:1"); err != nil {
		panic(err)
	}
	_, _ = hub.PublishState("game:1", []byte(`{"event":"goal","team":"A"}`), []byte(`{"score":"1-0"}`))

	for range 2 {
		d, err := sub.Next(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Println(d.Kind, d.Seq, string(d.Data))
	}
	// Output:
	// snapshot 1 {"score":"0-0"}
	// update 2 {"event":"goal","team":"A"}
}
