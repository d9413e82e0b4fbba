package main

import (
	"context"
	_ "embed" // for the page
	"errors"
	"net/http"
	"sync"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/fanout-go/fanout/web"
)

//go:embed page/index.html
var page []byte

// maxTopicsPerClient lets one page follow every instrument; the
// transports' defaults (100 topics, 20 commands/s) suit pages that follow
// a few topics.
const maxTopicsPerClient = 1024

// A server serves the ticker page at /, the client at /fanout.js and the
// transports at /ws and /events.
type server struct {
	mux *http.ServeMux
	ws  *ws.Handler
	sse *sse.Handler
}

// newServer returns the ticker's server. Its connections conflate: a
// client that cannot keep up gets, per instrument, the newest quote rather
// than a queue of stale ones, and is never disconnected for being slow.
func newServer(hub *fanout.Hub) *server {
	s := &server{
		mux: http.NewServeMux(),
		ws: ws.NewHandler(hub, ws.Options{
			Overflow:     fanout.OverflowConflate,
			QueueSize:    4 * maxTopicsPerClient,
			MaxTopics:    maxTopicsPerClient,
			CommandRate:  1000,
			CommandBurst: maxTopicsPerClient,
		}),
		sse: sse.NewHandler(hub, sse.Options{
			Overflow:  fanout.OverflowConflate,
			QueueSize: 4 * maxTopicsPerClient,
			MaxTopics: maxTopicsPerClient,
		}),
	}
	s.mux.HandleFunc("GET /{$}", servePage)
	s.mux.Handle("GET /fanout.js", web.Handler())
	s.mux.Handle("/ws", s.ws)
	s.mux.Handle("/events", s.sse)
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// shutdown drains both transports' connections; clients resume elsewhere.
func (s *server) shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	var sseErr error
	wg.Go(func() { sseErr = s.sse.Shutdown(ctx) })
	wsErr := s.ws.Shutdown(ctx)
	wg.Wait()
	return errors.Join(wsErr, sseErr)
}

func servePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}
