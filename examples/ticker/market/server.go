package market

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

// MaxTopicsPerClient is how many topics one page may follow, so that it
// can follow every instrument; the transports' defaults (100 topics, 20
// commands/s) suit pages that follow a few.
const MaxTopicsPerClient = 1024

// A Server serves the ticker page at /, the browser client at /fanout.js
// and the transports at /ws and /events. It is safe for concurrent use.
// http.Server.Shutdown does not end WebSocket and SSE connections: call
// the Server's Shutdown or Close too.
type Server struct {
	mux *http.ServeMux
	ws  *ws.Handler
	sse *sse.Handler
}

// NewServer returns the ticker's server for the market on hub. Its
// connections conflate: a client that cannot keep up gets, per instrument,
// the newest quote rather than a queue of stale ones, and is never
// disconnected for being slow.
func NewServer(hub *fanout.Hub) *Server {
	s := &Server{
		mux: http.NewServeMux(),
		ws: ws.NewHandler(hub, ws.Options{
			Overflow:     fanout.OverflowConflate,
			QueueSize:    4 * MaxTopicsPerClient,
			MaxTopics:    MaxTopicsPerClient,
			CommandRate:  1000,
			CommandBurst: MaxTopicsPerClient,
		}),
		sse: sse.NewHandler(hub, sse.Options{
			Overflow:  fanout.OverflowConflate,
			QueueSize: 4 * MaxTopicsPerClient,
			MaxTopics: MaxTopicsPerClient,
		}),
	}
	s.mux.HandleFunc("GET /{$}", servePage)
	s.mux.Handle("GET /fanout.js", web.Handler())
	s.mux.Handle("/ws", s.ws)
	s.mux.Handle("/events", s.sse)
	return s
}

// ServeHTTP serves the page, the client and the transports.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Shutdown drains both transports' connections, as for a deploy; the
// clients reconnect and resume. It returns when they are closed or ctx is
// done, closing the rest then.
func (s *Server) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	var sseErr error
	wg.Go(func() { sseErr = s.sse.Shutdown(ctx) })
	wsErr := s.ws.Shutdown(ctx)
	wg.Wait()
	return errors.Join(wsErr, sseErr)
}

// Close closes every connection at once and refuses new ones. It is
// idempotent and waits for the connections' goroutines.
func (s *Server) Close() error { return errors.Join(s.ws.Close(), s.sse.Close()) }

func servePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}
