package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/ws"
)

// Example mounts the WebSocket handler on a mux and talks to it as a
// client would.
func Example() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	h := ws.NewHandler(hub, ws.Options{
		Auth: transport.Auth{
			Subscribe: func(r *http.Request, topic string) error {
				if strings.HasPrefix(topic, "admin:") {
					return errors.New("admins only")
				}
				return nil
			},
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer h.Close() // the HTTP server does not close WebSockets: the handler does

	_, _ = hub.PublishState("game:1", []byte(`{"event":"kickoff"}`), []byte(`{"score":"0-0"}`))

	// A client subscribes, gets the snapshot, then the updates.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	for _, cmd := range []string{
		`{"action":"subscribe","topic":"game:1","id":1}`,
		`{"action":"subscribe","topic":"admin:1","id":2}`,
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(cmd)); err != nil {
			log.Fatal(err)
		}
	}
	printed := 0
	for printed < 4 {
		_, frame, err := c.Read(ctx)
		if err != nil {
			log.Fatal(err)
		}
		// A frame holds one or more messages, one per line.
		for line := range bytes.SplitSeq(frame, []byte("\n")) {
			var m struct {
				Type, Topic, Code string
				Seq               uint64
				Data              json.RawMessage
			}
			if err := json.Unmarshal(line, &m); err != nil {
				log.Fatal(err)
			}
			switch m.Type {
			case "subscribed":
				fmt.Println("subscribed", m.Topic)
			case "error":
				fmt.Println("error", m.Topic, m.Code)
			default:
				fmt.Println(m.Type, m.Topic, m.Seq, string(m.Data))
				if m.Type == "snapshot" {
					_, _ = hub.PublishState("game:1", []byte(`{"event":"goal"}`), []byte(`{"score":"1-0"}`))
				}
			}
			printed++
		}
	}
	_ = c.Close(websocket.StatusNormalClosure, "bye")
	// Unordered output:
	// subscribed game:1
	// error admin:1 forbidden
	// snapshot game:1 1 {"score":"0-0"}
	// update game:1 2 {"event":"goal"}
}

// ExampleHandler_Shutdown shows a deploy: the HTTP server stops taking
// requests, then the handler drains its WebSockets in paced batches with
// close code 4001, so that clients reconnect to another instance and
// resume, not all at once.
func ExampleHandler_Shutdown() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	h := ws.NewHandler(hub, ws.Options{})
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: mux}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()

	// ... on SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil { // ordinary requests
		log.Print(err)
	}
	if err := h.Shutdown(ctx); err != nil { // hijacked WebSockets
		log.Print(err)
	}
}
