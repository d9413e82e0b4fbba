package sse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
)

// Mount the handler where browsers open their EventSource, e.g.
// new EventSource("/events?topic=game:1"). Shut it down along with the
// server: http.Server.Shutdown does not close the streams it took over.
func ExampleNewHandler() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	events := sse.NewHandler(hub, sse.Options{})
	mux := http.NewServeMux()
	mux.Handle("GET /events", events)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = events.Shutdown(ctx)
	}()

	_, _ = hub.PublishState("game:1", []byte(`{"event":"kickoff"}`), []byte(`{"score":"0-0"}`))

	// A client: what EventSource does, by hand.
	resp, err := http.Get(srv.URL + "/events?topic=game:1")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	for n := 0; n < 2 && lines.Scan(); {
		field, value, _ := strings.Cut(lines.Text(), ": ")
		switch field {
		case "event":
			fmt.Print(value, " ")
		case "data":
			var m struct {
				Seq  uint64
				Data json.RawMessage
			}
			_ = json.Unmarshal([]byte(value), &m)
			fmt.Println(m.Seq, string(m.Data))
			if n++; n == 1 {
				_, _ = hub.PublishState("game:1", []byte(`{"event":"goal"}`), []byte(`{"score":"1-0"}`))
			}
		}
	}
	// Output:
	// text/event-stream
	// snapshot 1 {"score":"0-0"}
	// update 2 {"event":"goal"}
}

// A page that stored the last event id (for instance in sessionStorage)
// resumes on its first connect with the cursor parameter; reconnects send
// it as Last-Event-ID by themselves.
func ExampleEncodeCursor() {
	topics := []string{"game:1", "game:2"}
	cursor := sse.EncodeCursor(topics, []fanout.Position{{Epoch: "k3Xq9a_Z", Seq: 41}, {}})
	fmt.Println(sse.DecodeCursor(cursor, []string{"game:2", "game:1"}))
	// Output:
	// [:0 k3Xq9a_Z:41]
}
