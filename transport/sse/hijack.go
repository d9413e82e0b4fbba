package sse

import (
	"bytes"
	"net"
	"net/http"
	"time"

	"github.com/fanout-go/fanout/transport/internal/conns"
)

// serveHijacked serves s on a connection taken over from the HTTP server:
// it writes the response head itself, writes what is queued, and returns,
// leaving the stream to writers started when it has something to write
// and to the heartbeat goroutine.
//
// The response is HTTP/1.1 200 with Connection: close and no length: the
// body ends when the connection closes, which is how a stream ends anyway,
// and it spares the chunk framing on every write.
func (s *stream) serveHijacked(conn net.Conn, header http.Header) {
	_ = conn.SetDeadline(time.Time{}) // clear the server's deadlines
	conns.SetSendBuffer(conn, s.h.opts.SendBuffer)
	if !s.attach(conn) {
		return
	}
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-cache")
	header.Set("X-Accel-Buffering", "no")
	header.Set("Connection", "close")
	header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	header.Del("Content-Length")
	header.Del("Transfer-Encoding")
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	_ = header.Write(&head) // headers set by middleware (CORS) go out too
	head.WriteString("\r\n")
	head.Write(s.pre)
	s.pre = head.Bytes()
	s.h.startHeartbeat()
	s.run()
}

// startHeartbeat starts the heartbeat goroutine if it does not run yet.
func (h *Handler) startHeartbeat() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hbStarted || h.closing {
		return
	}
	h.hbStarted = true
	go h.heartbeat()
}

// stopHeartbeat stops the heartbeat goroutine, if it runs, and waits for
// it.
func (h *Handler) stopHeartbeat() {
	h.mu.Lock()
	started := h.hbStarted
	h.mu.Unlock()
	h.stopOnce.Do(func() { close(h.stopHB) })
	if started {
		<-h.hbDone
	}
}

// heartbeat asks, every Heartbeat, each hijacked stream that wrote no
// event since the previous tick to write a comment line. A failed write
// ends the stream: that is how a client that went away is found, as an
// idle stream never reads.
func (h *Handler) heartbeat() {
	defer close(h.hbDone)
	tick := time.NewTicker(h.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-h.stopHB:
			return
		case <-tick.C:
			h.streams.Each(func(s *stream) {
				if !s.hijacked.Load() || s.wrote.Swap(false) {
					return
				}
				s.state.Or(stPing)
				s.trigger()
			})
		}
	}
}
