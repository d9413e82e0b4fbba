package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
)

// The baselines are the minimal servers the transports are measured
// against: a broadcaster hands the same pre-encoded message to a buffered
// channel per connection, and each connection has one writer that takes
// everything queued and writes it at once (a WebSocket text frame of
// messages joined by '\n', or SSE data: events and one flush). They drop
// nothing: the benchmark's pacing keeps every channel below its capacity,
// and a full channel is counted and fails the benchmark.

// baselineQueue is a connection's channel capacity, the same as
// fanout.DefaultQueueSize.
const baselineQueue = 512

// maxBatch bounds one frame or flush, as the transports' defaults do.
const maxBatch = 64 << 10

// bmsg is one encoded message, shared by every connection.
type bmsg struct{ b []byte }

// broadcaster fans messages out to its connections' channels.
type broadcaster struct {
	mu    sync.RWMutex // guards conns
	conns map[chan *bmsg]struct{}

	dropped atomic.Int64 // sends to a full channel
	open    atomic.Int64 // connections in the broadcaster
}

func newBroadcaster() *broadcaster {
	return &broadcaster{conns: make(map[chan *bmsg]struct{})}
}

func (b *broadcaster) add(ch chan *bmsg) {
	b.mu.Lock()
	b.conns[ch] = struct{}{}
	b.mu.Unlock()
	b.open.Add(1)
}

func (b *broadcaster) remove(ch chan *bmsg) {
	b.mu.Lock()
	delete(b.conns, ch)
	b.mu.Unlock()
	b.open.Add(-1)
}

// publish sends m to every connection without blocking.
func (b *broadcaster) publish(m *bmsg) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for ch := range b.conns {
		select {
		case ch <- m:
		default:
			b.dropped.Add(1)
		}
	}
	if n := b.dropped.Load(); n > 0 {
		return fmt.Errorf("baseline: %d messages dropped on full channels", n)
	}
	return nil
}

// wsBaseline serves the benchmark topic over WebSocket: the handler's
// goroutine reads (the subscribe command, then anything until the close),
// and a writer goroutine per connection drains its channel.
type wsBaseline struct {
	b  *broadcaster
	wg sync.WaitGroup // ServeHTTP calls

	mu     sync.Mutex // guards conns and closed
	conns  map[*websocket.Conn]struct{}
	closed bool
}

func newWSBaseline() *wsBaseline {
	return &wsBaseline{b: newBroadcaster(), conns: make(map[*websocket.Conn]struct{})}
}

func (h *wsBaseline) track(c *websocket.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *wsBaseline) untrack(c *websocket.Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.wg.Done()
}

func (h *wsBaseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	if !h.track(c) {
		_ = c.CloseNow()
		return
	}
	defer h.untrack(c)
	defer c.CloseNow()
	// CloseNow unblocks the calls: a cancellable context would cost a
	// callback per call.
	ctx := context.Background()
	if _, _, err := c.Read(ctx); err != nil { // the subscribe command
		return
	}
	ch := make(chan *bmsg, baselineQueue)
	h.b.add(ch)
	defer h.b.remove(ch)
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribed","topic":"`+benchTopic+`"}`)); err != nil {
		return
	}
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() { wsWrite(c, ch, stop) })
	for {
		if _, _, err := c.Read(ctx); err != nil {
			break
		}
	}
	close(stop)
	_ = c.CloseNow() // unblocks a write
	writer.Wait()
}

// wsWrite is a connection's writer: it joins everything queued into one
// frame (up to maxBatch) and writes it, until stop is closed.
func wsWrite(c *websocket.Conn, ch chan *bmsg, stop chan struct{}) {
	var buf []byte
	for {
		select {
		case m := <-ch:
			buf = append(buf[:0], m.b...)
		more:
			for len(buf) < maxBatch {
				select {
				case m := <-ch:
					buf = append(buf, '\n')
					buf = append(buf, m.b...)
				default:
					break more
				}
			}
			if err := c.Write(context.Background(), websocket.MessageText, buf); err != nil {
				_ = c.CloseNow()
				return
			}
		case <-stop:
			return
		}
	}
}

// Close closes every connection and waits for their goroutines.
func (h *wsBaseline) Close() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*websocket.Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		_ = c.CloseNow()
	}
	h.wg.Wait()
}

// sseBaseline serves the benchmark topic as an event stream in the
// ordinary net/http model: the handler's goroutine is the connection's
// writer, writing data: events and flushing once per batch.
type sseBaseline struct {
	b    *broadcaster
	stop chan struct{} // closed by Close: handlers return
	once sync.Once
}

func newSSEBaseline() *sseBaseline {
	return &sseBaseline{b: newBroadcaster(), stop: make(chan struct{})}
}

func (h *sseBaseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ch := make(chan *bmsg, baselineQueue)
	h.b.add(ch)
	defer h.b.remove(ch)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	var buf []byte
	for {
		select {
		case m := <-ch:
			buf = appendData(buf[:0], m.b)
		more:
			for len(buf) < maxBatch {
				select {
				case m := <-ch:
					buf = appendData(buf, m.b)
				default:
					break more
				}
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-h.stop:
			return
		}
	}
}

func appendData(b, msg []byte) []byte {
	b = append(b, "data: "...)
	b = append(b, msg...)
	return append(b, "\n\n"...)
}

// Close ends every stream; the HTTP server's Close waits for them.
func (h *sseBaseline) Close() { h.once.Do(func() { close(h.stop) }) }
