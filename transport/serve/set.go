package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/poll"
	"github.com/fanout-go/fanout/transport/sse"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/fanout-go/fanout/web"
)

// Options configures a Set: one field per transport, each passed to the
// transport's NewHandler as it is. The zero value gives every transport's
// defaults.
type Options struct {
	// WS configures the WebSocket handler (see ws.Options).
	WS ws.Options
	// SSE configures the Server-Sent Events handler (see sse.Options).
	SSE sse.Options
	// Poll configures the long-poll handler (see poll.Options).
	Poll poll.Options
}

// transport is what a Set needs of each handler: the three transports
// share these methods and their contracts.
type transport interface {
	http.Handler
	Shutdown(ctx context.Context) error
	Close() error
}

// A Set is the whole set of handlers a browser client needs, on one hub:
// WebSocket, Server-Sent Events, long-poll and the fanout.js client, shut
// down as one, with a readiness handler for a load balancer.
//
// A Set is safe for concurrent use. Create one with New; the zero value is
// not usable.
type Set struct {
	// draining turns true when Shutdown or Close begins; Ready answers 503
	// from then on.
	draining atomic.Bool
	named    [3]named
}

// named is one transport of a Set, with the path Mount gives it and the
// name its errors carry.
type named struct {
	name, path string
	h          transport
}

// New returns the handlers of every transport for hub, configured by
// opts. Closing the Set does not close the hub.
func New(hub *fanout.Hub, opts Options) *Set {
	return &Set{named: [3]named{
		{"ws", "/ws", ws.NewHandler(hub, opts.WS)},
		{"sse", "/events", sse.NewHandler(hub, opts.SSE)},
		{"poll", "/poll", poll.NewHandler(hub, opts.Poll)},
	}}
}

// Mount registers the set on mux under prefix: the WebSocket handler at
// prefix+"/ws", Server-Sent Events at prefix+"/events", long-poll at
// prefix+"/poll" and the browser client at prefix+"/fanout.js", the paths
// the documentation uses; a page passes them to fanout.js, as in
// new FanoutClient({ ws: '/ws', sse: '/events' }). prefix is "" (the
// root) or a path such as "/live", starting with a slash and not ending
// with one. Like http.ServeMux.Handle, Mount panics on a malformed prefix
// or on a path already registered: both are mistakes in the program, not
// in a request.
//
// Mount does not register the readiness handler: mount Ready where the
// load balancer probes, usually "GET /readyz".
func (s *Set) Mount(mux *http.ServeMux, prefix string) {
	if prefix != "" && (!strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") ||
		strings.ContainsAny(prefix, " {}")) {
		panic(fmt.Sprintf("serve: Mount prefix %q: use \"\" or a path like \"/live\" (a leading slash, no trailing one, no pattern)", prefix))
	}
	for _, n := range s.named {
		mux.Handle(prefix+n.path, n.h)
	}
	mux.Handle(prefix+"/fanout.js", web.Handler())
}

// Ready returns the readiness handler, for a load balancer's health check:
// it answers 200 "ready" while the set serves, and 503 "draining" once
// Shutdown or Close has begun, so that the balancer stops sending new
// clients to this node while its connections drain. It answers GET and
// HEAD (405 otherwise) and is never cached.
//
// Readiness says only that this process takes new clients; it does not
// probe the hub's broker. Run keeps the listener open for
// RunOptions.DrainDelay after marking the set not ready, so that the
// balancer sees the 503 before clients are told to reconnect.
func (s *Set) Ready() http.Handler { return ready{s} }

// ready is the handler Ready returns.
type ready struct{ s *Set }

func (r ready) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "serve: the readiness check answers GET and HEAD only", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("draining\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// markDraining makes Ready answer 503 from now on.
func (s *Set) markDraining() { s.draining.Store(true) }

// Shutdown drains the set's connections, as for a deploy: it marks the
// set not ready, then runs the Shutdown of the WebSocket, SSE and
// long-poll handlers at once, each refusing new requests from its start
// and draining its connections across ctx's deadline so that clients
// reconnect elsewhere and resume. It returns when they have all finished:
// nil when every connection was drained, else the handlers' errors
// joined (ctx.Err() for a handler whose connections were cut at the
// deadline). A Set that is shut down cannot serve again.
//
// http.Server.Shutdown neither ends WebSocket and SSE connections (they
// are hijacked) nor answers held long-polls: call both, at the same time,
// as Run does.
func (s *Set) Shutdown(ctx context.Context) error {
	s.markDraining()
	return s.each(func(h transport) error { return h.Shutdown(ctx) })
}

// Close closes every connection of the set at once, with no drain, and
// refuses new ones; it marks the set not ready. It is idempotent and
// returns when the handlers' goroutines have ended.
func (s *Set) Close() error {
	s.markDraining()
	return s.each(transport.Close)
}

// each runs f on every handler at once and joins their errors, each
// prefixed by its transport's name.
func (s *Set) each(f func(transport) error) error {
	var (
		wg   sync.WaitGroup
		errs [len(s.named)]error
	)
	for i, n := range s.named {
		wg.Go(func() {
			if err := f(n.h); err != nil {
				errs[i] = fmt.Errorf("%s: %w", n.name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs[:]...)
}
