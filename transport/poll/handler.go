package poll

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/conns"
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
	stats counters         // what Stats reports
	adm   *conns.Admission // requests being served: Shutdown and Close wait for them
	pool  sync.Pool        // *[]fanout.Delivery of QueueSize

	serving conns.Set[*serving] // the requests being served

	mu      sync.Mutex // guards the fields below and serving.released
	closing bool       // Shutdown or Close began: release the requests that come
	cut     bool       // the requests are cut: cut those that come
}

// serving is one request being served, for releasing it (a held request
// is answered at once) or cutting it.
type serving struct {
	rc       *http.ResponseController
	conn     net.Conn // the request's connection, when the server's ConnContext is transport.ConnContext; else nil
	cancel   context.CancelFunc
	release  chan struct{} // closed to answer a held request at once
	released bool
}

// NewHandler returns a handler serving long-polls of hub's topics. It
// starts no goroutine.
func NewHandler(hub *fanout.Hub, opts Options) *Handler {
	opts = opts.withDefaults()
	h := &Handler{
		hub:  hub,
		opts: opts,
		adm:  conns.NewAdmission(opts.MaxHeld, opts.MaxPerClient, opts.ClientKey),
	}
	h.pool.New = func() any {
		ds := make([]fanout.Delivery, 64)
		return &ds
	}
	return h
}

// Len returns the number of requests being served, most of them held.
func (h *Handler) Len() int { return h.adm.Len() }

// ServeHTTP answers one poll. See docs/protocol.md for the request, the
// answer and the status codes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "fanout: use GET to poll", http.StatusMethodNotAllowed)
		return
	}
	ticket, refusal := h.adm.Admit(r)
	if refusal != conns.Admitted {
		conns.Refuse(w, refusal, "polls")
		return
	}
	defer h.adm.Release(ticket)
	sv := &serving{rc: http.NewResponseController(w), conn: conns.ConnOf(r.Context()), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sv.cancel = cancel
	h.track(sv)
	defer h.untrack(sv)

	req, status, msg := h.parse(r)
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	sub := h.hub.NewSubscriber(fanout.SubscriberOptions{QueueSize: h.opts.QueueSize, MaxSubscriptions: len(req.topics), Meter: &h.stats.Meter})
	defer sub.Close()
	body, status, msg := h.answer(ctx, sub, req, sv.release)
	_ = sub.Close() // its queue goes now, not after the write
	switch status {
	case http.StatusOK:
		header := w.Header()
		header.Set("Content-Type", "application/json")
		header.Set("Cache-Control", "no-store")
		if sv.conn != nil {
			conns.SetSendBuffer(sv.conn, h.opts.SendBuffer)
		}
		h.armWrite(sv)
		stop := sv.discardAfter(h.opts.WriteTimeout)
		_, _ = w.Write(body)
		stop()
	case http.StatusServiceUnavailable:
		conns.Unavailable(w, msg)
	default:
		http.Error(w, msg, status)
	}
}

// answer subscribes sub as req asks and returns the answer's body: the
// messages after req's positions, waiting for one if there are none yet.
func (h *Handler) answer(ctx context.Context, sub *fanout.Subscriber, req request, release <-chan struct{}) (body []byte, status int, msg string) {
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
		b, err = h.hold(ctx, b, sub, release)
	}
	if len(b) == n && errors.Is(err, fanout.ErrClosed) {
		return nil, http.StatusServiceUnavailable, "fanout: the hub is closed; poll again later"
	}
	if b[len(b)-1] == ',' {
		b = b[:len(b)-1]
	}
	return append(b, ']', '\n'), http.StatusOK, ""
}

// hold waits for a message, the hold timeout, the client or its release
// by Shutdown, and drains what arrived.
func (h *Handler) hold(ctx context.Context, b []byte, sub *fanout.Subscriber, release <-chan struct{}) ([]byte, error) {
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
		case <-release:
			return b, nil
		}
		var err error
		if b, err = h.drain(b, sub); err != nil {
			return b, err
		}
	}
	return b, nil
}

// drain appends the queued messages to b, comma-terminated, up to
// Options.MaxUnsentBytes (at least one message): what does not fit is
// left, and the client's next poll resumes it from the last message it
// got. It returns the error that ended sub, if it ended.
func (h *Handler) drain(b []byte, sub *fanout.Subscriber) ([]byte, error) {
	ds := h.pool.Get().(*[]fanout.Delivery)
	defer h.pool.Put(ds)
	start := len(b)
	for {
		n, err := sub.Drain(*ds)
		for i, d := range (*ds)[:n] {
			enc := protocol.Encode(d)
			if len(b) > start && len(b)-start+len(enc) > h.opts.MaxUnsentBytes {
				h.stats.Meter.ObserveWrite((*ds)[:i], time.Now())
				clear((*ds)[:n])
				return b, nil // full: the rest waits for the next poll
			}
			b = append(append(b, enc...), ',')
		}
		h.stats.Meter.ObserveWrite((*ds)[:n], time.Now())
		clear((*ds)[:n])
		if err != nil || n < len(*ds) {
			return b, err
		}
	}
}

// Shutdown stops accepting polls (new requests are answered 503 with
// Retry-After) and answers the held ones with what has arrived for them
// (usually an empty array), so that their clients poll again, elsewhere:
// in batches, one every 50ms, spread over three quarters of the time left
// before ctx's deadline, or at 1000 requests per second when ctx has
// none, so that the clients do not all come back at once. Then it waits
// for every request to be answered, and returns nil.
//
// If ctx is done first, Shutdown cuts the requests still being served
// (their answers fail, and the clients poll again), waits for them to
// return, which they do at once, and returns ctx's error. It may be called
// more than once, and with Close.
func (h *Handler) Shutdown(ctx context.Context) error {
	held := h.beginClose()
	conns.Pace(ctx, nil, len(held), func(lo, hi int) { h.releaseAll(held[lo:hi]) })
	if err := h.adm.Wait(ctx); err != nil {
		h.cutAll()
		_ = h.adm.Wait(context.Background())
		return err
	}
	return nil
}

// Close stops accepting polls and cuts every request being served at
// once: a held request's answer, and an answer a client is slow to take,
// fail, and the clients poll again. It waits for the requests to return,
// which they do at once. It is idempotent and returns nil.
func (h *Handler) Close() error {
	h.beginClose()
	h.cutAll()
	_ = h.adm.Wait(context.Background())
	return nil
}

// beginClose stops accepting requests and returns those being served.
func (h *Handler) beginClose() []*serving {
	h.adm.Close()
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	held, _ := h.serving.Close()
	return held
}

// releaseAll answers the held requests of svs at once.
func (h *Handler) releaseAll(svs []*serving) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, sv := range svs {
		sv.releaseLocked()
	}
}

func (sv *serving) releaseLocked() {
	if !sv.released {
		sv.released = true
		close(sv.release)
	}
}

// track adds sv to the requests being served. Once the handler closes,
// it releases sv at once, and once the requests are cut, it cuts sv.
func (h *Handler) track(sv *serving) {
	h.serving.Add(sv)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		sv.releaseLocked()
	}
	if h.cut {
		sv.cutNow()
	}
}

func (h *Handler) untrack(sv *serving) { h.serving.Remove(sv) }

// armWrite sets the write deadline of sv's answer, Options.WriteTimeout
// from now (a second more when sv's connection is known: discardAfter
// cuts it first), unless sv is cut (its deadline is in the past and stays
// so). A ResponseWriter without deadlines leaves the write unbounded.
func (h *Handler) armWrite(sv *serving) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.cut {
		d := h.opts.WriteTimeout
		if sv.conn != nil {
			d += time.Second
		}
		_ = sv.rc.SetWriteDeadline(time.Now().Add(d))
	}
}

// discardAfter cuts sv's connection with a reset if its answer is not
// written within d, and returns what stops that. net/http closes a
// connection whose write timed out as any other, and the kernel then
// keeps the unsent answer, for minutes, for a client that does not read;
// a reset makes it drop it. Without the connection (see
// transport.ConnContext) the write deadline alone bounds the write.
func (sv *serving) discardAfter(d time.Duration) (stop func()) {
	if sv.conn == nil {
		return func() {}
	}
	t := time.AfterFunc(d, func() { _ = conns.Discard(sv.conn) })
	return func() { t.Stop() }
}

// cutAll cuts every request being served, and those to come.
func (h *Handler) cutAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cut = true
	for _, sv := range h.serving.Items() {
		sv.releaseLocked()
		sv.cutNow()
	}
}

// cutNow ends the request's hub calls and fails its write: a deadline in
// the past fails the write under way and those to come.
func (sv *serving) cutNow() {
	sv.cancel()
	_ = sv.rc.SetWriteDeadline(time.Unix(1, 0))
	if sv.conn != nil {
		_ = conns.Discard(sv.conn)
	}
}
