package nats_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
	"github.com/nats-io/nats-server/v2/server"
)

// exampleServer starts an embedded NATS server with JetStream; a real
// deployment runs nats-server on its own. It returns the URL and a stop
// function.
func exampleServer() (string, func()) {
	dir, err := os.MkdirTemp("", "fanout-nats-example")
	if err != nil {
		panic(err)
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		panic(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		panic("nats server did not start")
	}
	return srv.ClientURL(), func() {
		srv.Shutdown()
		srv.WaitForShutdown()
		_ = os.RemoveAll(dir)
	}
}

// ExampleNew publishes through the broker on its own: an update with the
// topic's new state, then a plain update, and recovers the topic as a node
// joining it would.
func ExampleNew() {
	url, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	b, err := natsbroker.New(ctx, natsbroker.Options{URL: url, HistorySize: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	_, _ = b.Publish(ctx, "game:1", []byte(`{"goal":"A"}`), []byte(`{"score":"1-0"}`), false)
	pos, _ := b.Publish(ctx, "game:1", []byte(`{"card":"B"}`), nil, false)
	fmt.Println("published at seq", pos.Seq)

	rec, err := b.Recover(ctx, "game:1", fanout.Position{Epoch: pos.Epoch, Seq: 0}, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("head %d, snapshot at %d: %s\n", rec.Head.Seq, rec.Snapshot.Seq, rec.Snapshot.Data)
	for _, m := range rec.Messages {
		fmt.Printf("%d %s\n", m.Seq, m.Data)
	}
	// Output:
	// published at seq 2
	// head 2, snapshot at 1: {"score":"1-0"}
	// 1 {"goal":"A"}
	// 2 {"card":"B"}
}

// Example_twoNodes runs two gateway nodes, each a hub with its own NATS
// broker: a message published on one reaches a subscriber of the other,
// at the same position, and the subscriber can resume on either node.
func Example_twoNodes() {
	url, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	node := func() *fanout.Hub {
		b, err := natsbroker.New(ctx, natsbroker.Options{URL: url})
		if err != nil {
			panic(err)
		}
		return fanout.NewHub(fanout.Options{Broker: b}) // the hub closes b
	}
	a, b := node(), node()
	defer a.Close()
	defer b.Close()

	sub := b.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	if err := sub.Subscribe(ctx, "game:7"); err != nil {
		panic(err)
	}
	d, err := sub.Next(ctx) // every subscription starts with a snapshot: no state yet
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Kind, d.Seq, d.Data == nil)
	pos, err := a.Publish("game:7", []byte(`{"goal":"A"}`))
	if err != nil {
		panic(err)
	}
	d, err = sub.Next(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Kind, d.Seq, d.Position() == pos, string(d.Data))
	// Output:
	// snapshot 0 true
	// update 1 true {"goal":"A"}
}
