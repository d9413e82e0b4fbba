package redis_test

import (
	"context"
	"fmt"
	"log"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/redis"
)

// Two gateway nodes share one Redis: a message published on one reaches
// the subscribers of the other with the same position, and a client that
// read up to a position on one node resumes from it on the other. Here
// both nodes live in one process; in production each gateway process
// makes its own Broker on the shared Redis.
func Example() {
	newNode := func() *fanout.Hub {
		b, err := redis.New(redis.Options{Addr: exampleAddr}) // e.g. "redis.internal:6379"
		if err != nil {
			log.Fatal(err)
		}
		return fanout.NewHub(fanout.Options{Broker: b}) // the hub closes its broker
	}
	nodeA, nodeB := newNode(), newNode()
	defer nodeA.Close()
	defer nodeB.Close()
	ctx := context.Background()

	// A client on node B.
	onB := nodeB.NewSubscriber(fanout.SubscriberOptions{})
	defer onB.Close()
	if err := onB.Subscribe(ctx, "game:7"); err != nil {
		log.Fatal(err)
	}
	d, err := onB.Next(ctx) // every subscription starts with a snapshot: none yet
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("node B:", d.Kind, d.Seq, d.Data == nil)

	// The feed publishes on node A.
	if _, err := nodeA.PublishState("game:7", []byte(`{"goal":"A"}`), []byte(`{"score":"1-0"}`)); err != nil {
		log.Fatal(err)
	}
	d, err = onB.Next(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("node B:", d.Kind, d.Seq, string(d.Data))
	last := d.Position()

	// Node B goes away; the client reconnects to node A and resumes.
	onB.Close()
	if _, err := nodeA.Publish("game:7", []byte(`{"goal":"B"}`)); err != nil {
		log.Fatal(err)
	}
	onA := nodeA.NewSubscriber(fanout.SubscriberOptions{})
	defer onA.Close()
	if err := onA.Resume(ctx, "game:7", last); err != nil {
		log.Fatal(err)
	}
	d, err = onA.Next(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("node A:", d.Kind, d.Seq, string(d.Data))
	// Output:
	// node B: snapshot 0 true
	// node B: update 1 {"goal":"A"}
	// node A: update 2 {"goal":"B"}
}

// New makes a Broker; a zero Options means a Redis at 127.0.0.1:6379,
// 256 messages of history per topic, and topics that expire after an
// hour without publishes.
func ExampleNew() {
	b, err := redis.New(redis.Options{
		Addr:        exampleAddr,
		KeyPrefix:   "scores", // keys {scores:<topic>}:m, :h, :s; channel {scores:<topic>}:c
		HistorySize: 1000,
	})
	if err != nil {
		log.Fatal(err)
	}
	hub := fanout.NewHub(fanout.Options{Broker: b})
	defer hub.Close()

	pos, err := hub.Publish("match:1", []byte(`{"kickoff":true}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pos.Seq, len(pos.Epoch))
	// Output: 1 8
}
