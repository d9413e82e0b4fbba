package sse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

// Handler serves Server-Sent Events streams of a hub's topics. It is an
// http.Handler; mount it on the path clients open with EventSource.
//
// Over HTTP/1.1 the handler takes the connection over (http.Hijacker) once
// the request is accepted and returns, so that an idle stream holds no
// goroutine: a writer goroutine runs only while the stream has something to
// write, and one goroutine per handler sends the heartbeats. Since
// http.Server.Shutdown does not close such connections, call the handler's
// Shutdown or Close too. HTTP/2 streams (and writers that cannot be
// hijacked) are served by ServeHTTP until they end.
//
// A Handler is safe for concurrent use. Create one with NewHandler; the
// zero value is not usable.
type Handler struct {
	hub   *fanout.Hub
	opts  Options
	stats counters // what Stats reports

	retry   []byte // the retry: line and the blank line that ends it
	scratch sync.Pool

	streams conns.Set[*stream] // the open streams; closed by Shutdown or Close

	mu        sync.Mutex // guards closing and hbStarted
	closing   bool       // Shutdown or Close began: start no heartbeat
	hbStarted bool       // the heartbeat goroutine runs

	closed atomic.Bool      // closing, readable without mu
	adm    *conns.Admission // streams admitted and not yet finished
	active atomic.Int64     // goroutines running handler code: ServeHTTP calls and writers
	idle   chan struct{}    // signalled when active drops to zero while closing

	stopHB   chan struct{} // closed to stop the heartbeat goroutine
	hbDone   chan struct{} // closed when the heartbeat goroutine exits
	stopOnce sync.Once
}

// NewHandler returns a handler streaming hub's topics. It starts no
// goroutine until a stream opens.
func NewHandler(hub *fanout.Hub, opts Options) *Handler {
	opts = opts.withDefaults()
	h := &Handler{
		hub:    hub,
		opts:   opts,
		idle:   make(chan struct{}, 1),
		stopHB: make(chan struct{}),
		hbDone: make(chan struct{}),
		adm:    conns.NewAdmission(opts.MaxConnections, opts.MaxPerClient, opts.ClientKey),
	}
	h.retry = fmt.Appendf(nil, "retry: %d\n\n", opts.Retry.Milliseconds())
	h.scratch.New = func() any { return &scratch{out: make([]byte, 0, 4096)} }
	return h
}

// Len returns the number of streams open.
func (h *Handler) Len() int { return h.adm.Len() }

// ServeHTTP serves one stream. See docs/protocol.md for the request, the
// events and the status codes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.active.Add(1)
	defer h.leave()
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "fanout: use GET for an event stream", http.StatusMethodNotAllowed)
		return
	}
	if h.closed.Load() {
		conns.Unavailable(w, "fanout: the server is shutting down; reconnect later")
		return
	}
	req, status, msg := h.parse(r)
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	ticket, refusal := h.adm.Admit(r)
	if refusal != conns.Admitted {
		conns.Refuse(w, refusal, "event streams")
		return
	}
	s := h.newStream(req, ticket)
	if !h.register(s) {
		s.finish()
		conns.Unavailable(w, "fanout: the server is shutting down; reconnect later")
		return
	}
	if status, msg := s.subscribe(r, req); status != http.StatusOK {
		s.finish()
		if status == http.StatusServiceUnavailable {
			conns.Unavailable(w, msg)
		} else {
			http.Error(w, msg, status)
		}
		return
	}
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	switch {
	case err == nil:
		s.serveHijacked(conn, w.Header())
	case errors.Is(err, http.ErrNotSupported):
		s.serveLoop(r.Context(), w, rc)
	default:
		s.finish()
		http.Error(w, "fanout: cannot take the connection over", http.StatusInternalServerError)
	}
}

// register adds s to the open streams, and reports false once the
// handler is closing: then the caller finishes s.
func (h *Handler) register(s *stream) bool { return h.streams.Add(s) }

func (h *Handler) unregister(s *stream) {
	h.streams.Remove(s)
	h.adm.Release(s.ticket)
}

// leave ends a goroutine's run in handler code.
func (h *Handler) leave() {
	if h.active.Add(-1) == 0 && h.closed.Load() {
		select {
		case h.idle <- struct{}{}:
		default:
		}
	}
}

// beginClose stops accepting streams and returns those open.
func (h *Handler) beginClose() []*stream {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	h.closed.Store(true)
	h.adm.Close()
	streams, _ := h.streams.Close()
	return streams
}

// wait waits until no goroutine runs handler code, or ctx is done.
// Shutdown and Close may wait at the same time, and leave sends a single
// wake-up: a waiter that finds the handler idle passes it on.
func (h *Handler) wait(ctx context.Context) error {
	for h.active.Load() > 0 {
		select {
		case <-h.idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case h.idle <- struct{}{}:
	default:
	}
	return nil
}

// Shutdown stops accepting streams (new requests are answered 503 with
// Retry-After) and ends the open ones in batches, one every 50ms, spread
// over three quarters of the time left before ctx's deadline, or at 1000
// streams per second when ctx has none, so that the browsers, which
// reconnect and resume on their own, do not all come back at once. Each
// stream writes what is queued before it ends. Then it waits for every
// stream to end, and returns nil.
//
// If ctx is done first, Shutdown cuts the remaining streams at once, as
// Close does, waits for their goroutines (which end at once) and returns
// ctx's error. It may be called more than once, and with Close.
func (h *Handler) Shutdown(ctx context.Context) error {
	streams := h.beginClose()
	paced := conns.Pace(ctx, nil, len(streams), func(lo, hi int) {
		for _, s := range streams[lo:hi] {
			s.end()
		}
	})
	if !paced {
		h.Close()
		return ctx.Err()
	}
	if err := h.wait(ctx); err != nil {
		h.Close()
		return err
	}
	h.stopHeartbeat()
	return nil
}

// Close cuts every stream at once, without writing what is queued (the
// kernel drops what it holds for them), and stops accepting new ones. It
// waits for the handler's goroutines to end, which they do at once. It is
// idempotent and returns nil.
func (h *Handler) Close() error {
	for _, s := range h.beginClose() {
		s.stuck.Store(true)
		s.finish()
	}
	_ = h.wait(context.Background())
	h.stopHeartbeat()
	return nil
}
