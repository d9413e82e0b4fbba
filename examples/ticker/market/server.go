package market

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

// MaxTopicsPerClient is how many topics one page may follow, so that it
// can follow every instrument; the transports' defaults (100 topics, 20
// commands/s) suit pages that follow a few.
const MaxTopicsPerClient = 1024

// A Server serves the ticker page at /, the transports and the browser
// client where serve.Set.Mount puts them (/ws, /events, /poll,
// /fanout.js), and the readiness check at /readyz. It is safe for
// concurrent use. http.Server.Shutdown does not end WebSocket and SSE
// connections: serve it with serve.Run and Set, or call the Server's
// Shutdown or Close too.
type Server struct {
	mux *http.ServeMux
	set *serve.Set
}

// NewServer returns the ticker's server for the market on hub. Its
// connections conflate: a client that cannot keep up gets, per instrument,
// the newest quote rather than a queue of stale ones, and is never
// disconnected for being slow.
func NewServer(hub *fanout.Hub) *Server {
	s := &Server{
		mux: http.NewServeMux(),
		set: serve.New(hub, serve.Options{
			WS: ws.Options{
				Overflow:     fanout.OverflowConflate,
				QueueSize:    4 * MaxTopicsPerClient,
				MaxTopics:    MaxTopicsPerClient,
				CommandRate:  1000,
				CommandBurst: MaxTopicsPerClient,
			},
			SSE: sse.Options{
				Overflow:  fanout.OverflowConflate,
				QueueSize: 4 * MaxTopicsPerClient,
				MaxTopics: MaxTopicsPerClient,
			},
			Poll: poll.Options{
				QueueSize: 4 * MaxTopicsPerClient,
				MaxTopics: MaxTopicsPerClient,
			},
		}),
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

// Shutdown drains the connections, as for a deploy (see
// serve.Set.Shutdown); the clients reconnect and resume.
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
