package game

import (
	"context"
	_ "embed" // for the page
	"net/http"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/metrics"
	"github.com/fanout-go/fanout/transport/poll"
	"github.com/fanout-go/fanout/transport/serve"
	"github.com/fanout-go/fanout/transport/sse"
	"github.com/fanout-go/fanout/transport/ws"
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
	// Poll configures the long-poll transport; the zero value gives its
	// defaults (see poll.Options).
	Poll poll.Options
}

// A Server serves the scoreboard of a hub's games: the page at /, the
// transports and the browser client where serve.Set.Mount puts them (/ws,
// /events, /poll, /fanout.js; the page uses WebSocket and falls back to
// Server-Sent Events), and the readiness check at /readyz, which fails
// once the Server drains. It is safe for concurrent use.
//
// http.Server.Shutdown does not end WebSocket and SSE connections: serve
// it with serve.Run and Set, or call the Server's Shutdown or Close too.
type Server struct {
	mux *http.ServeMux
	set *serve.Set
}

// NewServer returns a server for the games hub carries (published by an
// Ingester).
func NewServer(hub *fanout.Hub, opts ServerOptions) *Server {
	s := &Server{
		mux: http.NewServeMux(),
		set: serve.New(hub, serve.Options{WS: opts.WS, SSE: opts.SSE, Poll: opts.Poll}),
	}
	s.mux.HandleFunc("GET /{$}", servePage)
	s.set.Mount(s.mux, "")
	s.mux.Handle("GET /readyz", s.set.Ready())
	s.mux.Handle("GET /metrics", metrics.NewHandler(hub, s.set.Handlers()...))
	return s
}

// ServeHTTP serves the page, the client, the transports and /readyz.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Set returns the transports the Server serves, for serve.Run.
func (s *Server) Set() *serve.Set { return s.set }

// Shutdown drains the open connections, as for a deploy (see
// serve.Set.Shutdown): /readyz fails from its start, clients are told to
// reconnect, and they resume on the next server from where they were.
func (s *Server) Shutdown(ctx context.Context) error { return s.set.Shutdown(ctx) }

// Close closes every connection at once and refuses new ones. It is
// idempotent and waits for the connections' goroutines.
func (s *Server) Close() error { return s.set.Close() }

func servePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}
