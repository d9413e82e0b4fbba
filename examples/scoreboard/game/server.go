package game

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

// ServerOptions configures a Server. The zero value gives the defaults.
type ServerOptions struct {
	// WS configures the WebSocket transport; the zero value gives its
	// defaults (see ws.Options).
	WS ws.Options
	// SSE configures the Server-Sent Events transport; the zero value gives
	// its defaults (see sse.Options).
	SSE sse.Options
}

// A Server serves the scoreboard of a hub's games: the page at /, the
// browser client at /fanout.js, the WebSocket transport at /ws and the
// Server-Sent Events transport at /events (the page falls back to it when
// WebSocket cannot connect). It is safe for concurrent use.
//
// http.Server.Shutdown does not end WebSocket and SSE connections: call
// the Server's Shutdown or Close too.
type Server struct {
	mux *http.ServeMux
	ws  *ws.Handler
	sse *sse.Handler
}

// NewServer returns a server for the games hub carries (published by an
// Ingester).
func NewServer(hub *fanout.Hub, opts ServerOptions) *Server {
	s := &Server{
		mux: http.NewServeMux(),
		ws:  ws.NewHandler(hub, opts.WS),
		sse: sse.NewHandler(hub, opts.SSE),
	}
	s.mux.HandleFunc("GET /{$}", servePage)
	s.mux.Handle("GET /fanout.js", web.Handler())
	s.mux.Handle("/ws", s.ws)
	s.mux.Handle("/events", s.sse)
	return s
}

// ServeHTTP serves the page, the client and the transports.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Shutdown drains the open connections, as for a deploy: WebSocket clients
// are told to reconnect (close code 4001, paced), event streams end, and
// the clients resume on the next server from where they were. It returns
// when they are all closed or ctx is done, closing the rest then. New
// connections are refused from the start.
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
func (s *Server) Close() error {
	return errors.Join(s.ws.Close(), s.sse.Close())
}

func servePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}
