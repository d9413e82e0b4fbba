package poll

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/transport"
)

// Handler serves long-polls of a hub's topics. It is an http.Handler;
// mount it on the path clients poll. Each request is served by a
// temporary fanout.Subscriber that resumes from the request's positions;
// a request with nothing to answer yet holds its goroutine (bounded by
// Options.MaxHeld) until a message arrives or Options.HoldTimeout passes.
//
// A Handler is safe for concurrent use. Create one with NewHandler; the
// zero value is not usable.
type Handler struct {
	hub   *fanout.Hub
	opts  Options
	stats counters // what Stats reports

	mu      sync.Mutex    // guards closing
	closing bool          // Shutdown or Close began
	stop    chan struct{} // closed when closing begins: answer held requests

	closed atomic.Bool   // closing, readable without mu
	served atomic.Int64  // requests being served
	idle   chan struct{} // signalled when served drops to zero while closing
	pool   sync.Pool     // *[]fanout.Delivery of QueueSize
}

// NewHandler returns a handler serving long-polls of hub's topics. It
// starts no goroutine.
func NewHandler(hub *fanout.Hub, opts Options) *Handler {
	opts = opts.withDefaults()
	h := &Handler{
		hub:  hub,
		opts: opts,
		stop: make(chan struct{}),
		idle: make(chan struct{}, 1),
	}
	h.pool.New = func() any {
		ds := make([]fanout.Delivery, 64)
		return &ds
	}
	return h
}

// Len returns the number of requests being served, most of them held.
func (h *Handler) Len() int { return int(h.served.Load()) }

// retryAfter is the Retry-After of a 503 answer, in seconds.
const retryAfter = 5

// ServeHTTP answers one poll. See docs/protocol.md for the request, the
// answer and the status codes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "fanout: use GET to poll", http.StatusMethodNotAllowed)
		return
	}
	if !h.admit() {
		unavailable(w, "fanout: too many polls, or the server is shutting down; poll again later")
		return
	}
	defer h.leave()
	req, status, msg := h.parse(r)
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	sub := h.hub.NewSubscriber(fanout.SubscriberOptions{QueueSize: h.opts.QueueSize, MaxSubscriptions: len(req.topics), Meter: &h.stats.Meter})
	defer sub.Close()
	body, status, msg := h.answer(r.Context(), sub, req)
	switch status {
	case http.StatusOK:
		header := w.Header()
		header.Set("Content-Type", "application/json")
		header.Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	case http.StatusServiceUnavailable:
		unavailable(w, msg)
	default:
		http.Error(w, msg, status)
	}
}

func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	http.Error(w, msg, http.StatusServiceUnavailable)
}

// answer subscribes sub as req asks and returns the answer's body: the
// messages after req's positions, waiting for one if there are none yet.
func (h *Handler) answer(ctx context.Context, sub *fanout.Subscriber, req request) (body []byte, status int, msg string) {
	b := append(make([]byte, 0, 512), '[')
	b = append(b, req.errors...)
	var failures protocol.Joiner
	failed := 0
	unavailable := false
	for i, name := range req.topics {
		// A topic without a position joins afresh: the hub sends its
		// snapshot first (null data when it keeps none), so that the
		// client has a position to poll from next, even on a topic
		// without state.
		var err error
		if req.from[i].Epoch == "" {
			err = sub.Subscribe(ctx, name)
		} else {
			err = sub.Resume(ctx, name, req.from[i])
		}
		if err != nil {
			pe := protocol.FromError(err)
			b = append(protocol.AppendError(b, pe, name, 0, false), ',')
			h.stats.Rejected(pe.Code)
			failures.Add(name, pe.Message)
			failed++
			unavailable = unavailable || pe.Code == transport.CodeUnavailable
		}
	}
	if failed == len(req.topics) {
		if unavailable {
			return nil, http.StatusServiceUnavailable, "fanout: no topic can be served now; poll again later: " + failures.String()
		}
		return nil, http.StatusBadRequest, "fanout: no topic can be polled: " + failures.String()
	}
	n := len(b)
	b, err := h.drain(b, sub)
	if len(b) == n && len(req.errors) == 0 && failed == 0 && err == nil {
		b, err = h.hold(ctx, b, sub)
	}
	if len(b) == n && errors.Is(err, fanout.ErrClosed) {
		return nil, http.StatusServiceUnavailable, "fanout: the hub is closed; poll again later"
	}
	if b[len(b)-1] == ',' {
		b = b[:len(b)-1]
	}
	return append(b, ']', '\n'), http.StatusOK, ""
}

// hold waits for a message, the hold timeout, the client or Shutdown,
// and drains what arrived.
func (h *Handler) hold(ctx context.Context, b []byte, sub *fanout.Subscriber) ([]byte, error) {
	timer := time.NewTimer(h.opts.HoldTimeout)
	defer timer.Stop()
	n := len(b)
	for len(b) == n {
		select {
		case <-sub.Ready():
		case <-timer.C:
			return b, nil
		case <-ctx.Done():
			return b, nil
		case <-h.stop:
			return b, nil
		}
		var err error
		if b, err = h.drain(b, sub); err != nil {
			return b, err
		}
	}
	return b, nil
}

// drain appends every queued message to b, comma-terminated. It returns
// the error that ended sub, if it ended.
func (h *Handler) drain(b []byte, sub *fanout.Subscriber) ([]byte, error) {
	ds := h.pool.Get().(*[]fanout.Delivery)
	defer h.pool.Put(ds)
	for {
		n, err := sub.Drain(*ds)
		for _, d := range (*ds)[:n] {
			b = append(append(b, protocol.Encode(d)...), ',')
		}
		h.stats.Meter.ObserveWrite((*ds)[:n], time.Now())
		clear((*ds)[:n])
		if err != nil || n < len(*ds) {
			return b, err
		}
	}
}

// admit counts a request in, unless the handler is closing or full.
func (h *Handler) admit() bool {
	// Count first, then look: Shutdown sets closed, then waits for the
	// count, so a request it does not wait for sees closed.
	if h.served.Add(1) > int64(h.opts.MaxHeld) || h.closed.Load() {
		h.leave()
		return false
	}
	return true
}

func (h *Handler) leave() {
	if h.served.Add(-1) == 0 && h.closed.Load() {
		select {
		case h.idle <- struct{}{}:
		default:
		}
	}
}

// beginClose stops accepting requests and releases the held ones.
func (h *Handler) beginClose() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closing {
		h.closing = true
		h.closed.Store(true)
		close(h.stop)
	}
}

// Shutdown stops accepting polls (new requests are answered 503) and
// answers every held request at once, with what has arrived for it
// (usually an empty array), so that the client polls again, elsewhere.
// It waits until every request has been answered or ctx is done, and
// then returns ctx.Err(). It may be called more than once, and with
// Close.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.beginClose()
	for h.served.Load() > 0 {
		select {
		case <-h.idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Several calls may wait at once, and leave sends a single wake-up:
	// pass it on.
	select {
	case h.idle <- struct{}{}:
	default:
	}
	return nil
}

// Close is Shutdown without a deadline: it answers every held request at
// once and waits until all are answered. It is idempotent and returns
// nil.
func (h *Handler) Close() error { return h.Shutdown(context.Background()) }
