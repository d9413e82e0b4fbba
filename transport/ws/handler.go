package ws

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

// A Handler is an http.Handler that upgrades requests to WebSocket
// connections speaking fanout's protocol, each subscribed to the hub
// through its own fanout.Subscriber.
//
// http.Server.Shutdown does not close hijacked connections such as
// WebSockets: call Handler.Shutdown (a paced drain) or Handler.Close as
// well. A Handler is safe for concurrent use; create one with NewHandler
// (the zero value is not usable).
type Handler struct {
	hub    *fanout.Hub
	opts   Options
	stats  counters // what Stats reports
	accept websocket.AcceptOptions

	// adm counts the admitted requests: ServeHTTP calls past admission,
	// then their connections' goroutines. Shutdown and Close wait for it.
	adm *conns.Admission

	open conns.Set[*conn] // the upgraded connections; closed by Shutdown or Close

	mu     sync.Mutex    // guards the fields below
	hurry  chan struct{} // closed by Close: stop pacing, close the rest now
	closed bool          // hurry is closed
}

// NewHandler returns a handler serving hub's topics with opts.
func NewHandler(hub *fanout.Hub, opts Options) *Handler {
	opts = opts.withDefaults()
	return &Handler{
		hub:  hub,
		opts: opts,
		accept: websocket.AcceptOptions{
			OriginPatterns:     opts.OriginPatterns,
			InsecureSkipVerify: opts.InsecureSkipVerify,
			CompressionMode:    opts.CompressionMode,
		},
		adm:   conns.NewAdmission(opts.MaxConnections, opts.MaxPerClient, opts.ClientKey),
		hurry: make(chan struct{}),
	}
}

// ServeHTTP authorizes the request with Options.Auth.Connect (HTTP 403 on
// denial), upgrades it and returns, leaving the connection to a goroutine
// of the handler until it closes. Requests beyond Options.MaxConnections,
// and requests arriving after Shutdown or Close began, are answered with
// HTTP 503 and Retry-After.
//
// net/http cancels r's context when ServeHTTP returns; the request that
// Options.Auth.Subscribe receives carries r's context values, and its
// context is done when the connection closes. A panic in a hook closes the
// connection and is logged to the http.Server's ErrorLog (or the log
// package's standard logger), as net/http does for a handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ticket, refusal := h.adm.Admit(r)
	if refusal != conns.Admitted {
		conns.Refuse(w, refusal, "connections")
		return
	}
	started := false
	defer func() {
		if !started {
			h.adm.Release(ticket)
		}
	}()

	if pe := protocol.AllowConnect(h.opts.Auth, r); pe != nil {
		http.Error(w, pe.Message, http.StatusForbidden)
		return
	}
	if !canHijack(w) {
		// hijackWriter implements http.Hijacker whatever w is: with it,
		// websocket.Accept would answer 101 and only then fail to hijack.
		http.Error(w, "fanout: this connection cannot be upgraded to a WebSocket (HTTP/2, or a ResponseWriter without http.Hijacker); connect with HTTP/1.1", http.StatusNotImplemented)
		return
	}
	hw := &hijackWriter{ResponseWriter: w}
	wsc, err := websocket.Accept(hw, r, &h.accept)
	if err != nil {
		if hw.conn != nil {
			_ = hw.conn.Close()
		}
		return // Accept has answered the request
	}
	conns.SetSendBuffer(hw.conn, h.opts.SendBuffer)
	c := newConn(h, wsc, hw, r)
	if code := h.register(c); code != 0 {
		c.close(code) // Shutdown or Close began during the upgrade
	}
	started = true
	go h.run(c, ticket) // releases the admission when the connection ends
}

// run serves c on a goroutine that h.adm counts (from its admission),
// until the connection closes. A panic is logged and ends the connection,
// whose teardown has run by then.
func (h *Handler) run(c *conn, ticket conns.Ticket) {
	defer h.adm.Release(ticket)
	defer h.unregister(c)
	defer func() {
		if v := recover(); v != nil {
			c.logPanic(v)
		}
	}()
	c.serve()
}

// register adds c to the open connections. Once Shutdown or Close has
// begun, it returns the close code for c as well.
func (h *Handler) register(c *conn) websocket.StatusCode {
	if h.open.Add(c) {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return websocket.StatusGoingAway
	}
	return transport.CloseReconnect
}

func (h *Handler) unregister(c *conn) { h.open.Remove(c) }

// Len returns the number of open connections.
func (h *Handler) Len() int { return h.open.Len() }

// Shutdown stops accepting connections (new requests get HTTP 503) and
// closes the open ones with transport.CloseReconnect (4001, "reconnect"),
// so that their clients reconnect elsewhere and resume. It closes them in
// batches, one every 50ms, spread over three quarters of the time left
// before ctx's deadline, or at 1000 connections per second when ctx has
// none, so that the clients do not all reconnect at once. Then it waits
// for every connection's goroutines to end, and returns nil.
//
// If ctx is done first, Shutdown cuts the remaining connections at once,
// without a close handshake, waits for their goroutines and returns ctx's
// error. A later Shutdown waits for the connections to end; Close during a
// Shutdown closes the remaining connections at once with 1001.
func (h *Handler) Shutdown(ctx context.Context) error {
	open, first := h.startClosing()
	var closers sync.WaitGroup
	defer closers.Wait()
	if first {
		h.drain(ctx, &closers, open)
	}
	if err := h.adm.Wait(ctx); err != nil {
		h.closeNow()
		_ = h.adm.Wait(context.Background()) // the connections are cut: they end at once
		return err
	}
	return nil
}

// closeGrace bounds how long Close waits for close handshakes before it
// cuts the connections whose peers have not answered.
const closeGrace = 2 * time.Second

// Close closes every connection now with 1001 (going away), so that their
// clients reconnect with backoff and resume, and waits for their
// goroutines to end. Peers that do not answer the close handshake within
// 2 seconds are cut. It is idempotent and returns nil.
func (h *Handler) Close() error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.hurry)
	}
	h.mu.Unlock()
	open, _ := h.startClosing()
	var closers sync.WaitGroup
	h.closeAll(&closers, open, websocket.StatusGoingAway)
	done := make(chan struct{})
	go func() {
		closers.Wait()
		close(done)
	}()
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		h.closeNow()
		<-done
	}
	_ = h.adm.Wait(context.Background())
	return nil
}

// startClosing refuses new connections and returns the open ones; first
// reports whether this call made the switch.
func (h *Handler) startClosing() (open []*conn, first bool) {
	h.adm.Close()
	return h.open.Close()
}

// drain closes open in paced batches with 4001 (see conns.Pace).
func (h *Handler) drain(ctx context.Context, closers *sync.WaitGroup, open []*conn) {
	conns.Pace(ctx, h.hurry, len(open), func(lo, hi int) {
		h.closeAll(closers, open[lo:hi], transport.CloseReconnect)
	})
}

// closeAll runs the close handshakes of conns concurrently, in goroutines
// that closers counts.
func (h *Handler) closeAll(closers *sync.WaitGroup, conns []*conn, code websocket.StatusCode) {
	closers.Add(len(conns))
	for _, c := range conns {
		go func() {
			defer closers.Done()
			c.close(code)
		}()
	}
}

// closeNow cuts every connection, without a handshake, dropping what the
// kernel still holds for them.
func (h *Handler) closeNow() {
	for _, c := range h.open.Items() {
		c.cut()
	}
}
