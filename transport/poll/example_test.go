package poll_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/poll"
)

// Mount the handler where clients poll. A client keeps the position of
// the last message it applied and polls again from it.
func ExampleNewHandler() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	polls := poll.NewHandler(hub, poll.Options{HoldTimeout: 20 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("GET /poll", polls)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = polls.Shutdown(ctx)
	}()

	_, _ = hub.PublishState("game:1", []byte(`{"event":"kickoff"}`), []byte(`{"score":"0-0"}`))

	type message struct {
		Type, Epoch string
		Seq         uint64
		Data        json.RawMessage
	}
	get := func(q url.Values) []message {
		resp, err := http.Get(srv.URL + "/poll?" + q.Encode())
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var ms []message
		_ = json.NewDecoder(resp.Body).Decode(&ms)
		return ms
	}

	// The first poll, without a position, answers the snapshot at once.
	ms := get(url.Values{"topic": {"game:1"}})
	fmt.Println(ms[0].Type, ms[0].Seq, string(ms[0].Data))

	// The next one is held until there is news.
	published := make(chan struct{})
	go func() {
		defer close(published)
		_, _ = hub.PublishState("game:1", []byte(`{"event":"goal"}`), []byte(`{"score":"1-0"}`))
	}()
	last := ms[len(ms)-1]
	ms = get(url.Values{"topic": {"game:1"}, "epoch": {last.Epoch}, "since": {strconv.FormatUint(last.Seq, 10)}})
	<-published
	fmt.Println(ms[0].Type, ms[0].Seq, string(ms[0].Data))
	// Output:
	// snapshot 1 {"score":"0-0"}
	// update 2 {"event":"goal"}
}
