package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport"
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

// The loop of a typical consumer: replace the state on a snapshot or a
// reset, apply updates, and go on after a refused topic.
func ExampleClient_Next() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	h := ws.NewHandler(hub, ws.Options{Auth: transport.Auth{
		Subscribe: func(_ *http.Request, topic string) error {
			if strings.HasPrefix(topic, "private:") {
				return errors.New("members only")
			}
			return nil
		},
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	_, _ = hub.PublishState("price:ACME", []byte(`101`), []byte(`101`))

	ctx := context.Background()
	c, err := client.Dial(ctx, "ws"+srv.URL[len("http"):], client.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_ = c.Subscribe("private:ledger")
	_ = c.Subscribe("price:ACME")

	state := map[string]string{}
	for range 2 { // a real consumer loops until its context ends

		m, err := c.Next(ctx)
		var refused *client.TopicError
		switch {
		case errors.As(err, &refused):
			fmt.Println("refused:", refused.Topic, refused.Code)
			continue
		case err != nil:
			panic(err) // the client has ended: Close, or a final close by the server
		}
		switch m.Kind {
		case fanout.Snapshot, fanout.Reset:
			state[m.Topic] = string(m.Data)
		case fanout.Update:
			state[m.Topic] = string(m.Data) // here, each update is the whole state
		}
	}
	fmt.Println(state)
	// Output:
	// refused: private:ledger forbidden
	// map[price:ACME:101]
}
