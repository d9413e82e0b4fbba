package serve_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/serve"
)

// Example serves a hub's topics over every transport, with a readiness
// check, until its context is done, then drains. A real main passes the
// context of signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM).
func Example() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	set := serve.New(hub, serve.Options{})
	mux := http.NewServeMux()
	set.Mount(mux, "") // /ws, /events, /poll and /fanout.js
	mux.Handle("GET /readyz", set.Ready())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.Run(ctx, ln, serve.NewServer(mux), set, serve.RunOptions{}) }()

	base := "http://" + ln.Addr().String()
	fmt.Println(fetch(base + "/readyz"))
	fmt.Println(strings.Contains(fetch(base+"/poll?topic=game:1"), `"type":"snapshot"`))

	stop() // as a SIGTERM would
	fmt.Println("run:", <-done)
	w := httptest.NewRecorder()
	set.Ready().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Println("after:", w.Code, w.Body.String())
	// Output:
	// 200 ready
	// true
	// run: <nil>
	// after: 503 draining
}

// Example_mount puts the set under a prefix, beside the application's own
// routes.
func Example_mount() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	set := serve.New(hub, serve.Options{})
	defer set.Close() // the http.Server does not close WebSockets and streams: the set does

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "home") })
	set.Mount(mux, "/live")
	mux.Handle("GET /readyz", set.Ready())
	for _, path := range []string{"/", "/live/ws", "/live/events", "/live/poll", "/live/fanout.js", "/readyz", "/ws"} {
		_, pattern := mux.Handler(httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s: %q\n", path, pattern)
	}
	// Output:
	// /: "GET /{$}"
	// /live/ws: "/live/ws"
	// /live/events: "/live/events"
	// /live/poll: "/live/poll"
	// /live/fanout.js: "/live/fanout.js"
	// /readyz: "GET /readyz"
	// /ws: ""
}

// fetch returns the status and the body of a GET of url, on one line.
func fetch(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprint(resp.StatusCode, " ", strings.TrimSpace(string(b)))
}
