package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
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

// A publisher that must not lose an update rides out a broker outage:
// PublishStateRetry tries again, with backoff, until the broker stores the
// update or the context ends. The publisher logs the outage once, on the
// first failure, and keeps its own state at what was stored.
func ExampleHub_PublishStateRetry() {
	b := memory.New(memory.Options{})
	hub := fanout.NewHub(fanout.Options{Broker: b.Connect()})
	defer hub.Close()

	b.SetDown(true) // an outage, which ends after the third attempt
	failures := 0
	retry := fanout.Retry{MinDelay: time.Millisecond, OnRetry: func(err error, n int) {
		if n == 1 {
			fmt.Println("broker down, retrying:", errors.Is(err, fanout.ErrBroker))
		}
		if failures = n; n == 3 {
			b.SetDown(false)
		}
	}}
	pos, err := hub.PublishStateRetry(context.Background(), "game:1",
		[]byte(`{"event":"goal"}`), []byte(`{"score":"1-0"}`), retry)
	if err != nil {
		panic(err)
	}
	fmt.Printf("stored at seq %d after %d failures\n", pos.Seq, failures)
	// Output:
	// broker down, retrying: true
	// stored at seq 1 after 3 failures
}
