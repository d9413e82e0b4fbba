package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport/ws"
)

func Example() {
	// A server: a hub behind the WebSocket handler.
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	h := ws.NewHandler(hub, ws.Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close() // closes the connections, which http.Server does not
	_, _ = hub.PublishState("game:1", []byte(`{"event":"kickoff"}`), []byte(`{"score":"0-0"}`))

	// The client: it reconnects and resumes by itself until Close.
	ctx := context.Background()
	c, err := client.Dial(ctx, "ws"+srv.URL[len("http"):], client.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Subscribe("game:1"); err != nil {
		panic(err)
	}

	m, err := c.Next(ctx) // the state first
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Kind, m.Seq, string(m.Data))

	_, _ = hub.PublishState("game:1", []byte(`{"event":"goal","team":"A"}`), []byte(`{"score":"1-0"}`))
	m, err = c.Next(ctx) // then every change
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Kind, m.Seq, string(m.Data))
	// Output:
	// snapshot 1 {"score":"0-0"}
	// update 2 {"event":"goal","team":"A"}
}
