package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// dialTimeout bounds the connection and subscription of one client.
const dialTimeout = 10 * time.Second

// subscribeCommand is the WebSocket command every client sends first.
var subscribeCommand = []byte(`{"action":"subscribe","topic":"` + benchTopic + `"}`)

// receiver checks and times what one client receives: updates must arrive
// in order with no hole, and their latency is recorded. It is used by the
// client's reading goroutine only, except where noted.
type receiver struct {
	id    int
	last  uint64                // the last seq received
	pacer atomic.Pointer[pacer] // set by the publisher while the client is quiet
	lat   hist                  // publish->receive, of the paced messages
	seen  atomic.Uint64         // last, for other goroutines
	fail  func(error)           // reports a broken guarantee, once per run
	ready chan struct{}         // closed when the subscription is confirmed
	once  sync.Once
}

func newReceiver(id int, fail func(error)) *receiver {
	return &receiver{id: id, fail: fail, ready: make(chan struct{})}
}

func (r *receiver) markReady() { r.once.Do(func() { close(r.ready) }) }

// message handles one wire message received at now. It reports false when
// a guarantee is broken.
func (r *receiver) message(b []byte, now int64) bool {
	kind, seq, t := parseMessage(b)
	switch kind {
	case kindUpdate:
		if seq != r.last+1 {
			r.fail(fmt.Errorf("client %d: update %d after %d: lost or reordered", r.id, seq, r.last))
			return false
		}
		r.last = seq
		r.lat.record(now - t)
		r.seen.Store(seq) // after the record: awaitQuiet then merges it
	case kindSnapshot:
		r.last = seq
		r.seen.Store(seq)
		r.markReady()
	case kindSubscribed:
		r.markReady()
	}
	return true
}

// frame handles a WebSocket frame: messages separated by '\n'.
func (r *receiver) frame(b []byte, now int64) bool {
	p := r.pacer.Load() // before recording: orders this run after its reset
	prev := r.last
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		if !r.message(b[:i], now) {
			return false
		}
		b = b[min(i+1, len(b)):]
	}
	if p != nil && r.last > prev {
		p.advance(prev, r.last)
	}
	return true
}

// client is one loopback connection whose goroutine reads until closed.
type client interface {
	recv() *receiver
	close() // closes the connection; the reading goroutine then ends
}

// wsClient is a WebSocket client.
type wsClient struct {
	r       *receiver
	c       *websocket.Conn
	closing atomic.Bool
}

// dialWS connects to url, subscribes and starts reading in a goroutine
// that wg counts.
func dialWS(ctx context.Context, url string, r *receiver, wg *sync.WaitGroup) (*wsClient, error) {
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	if err := c.Write(ctx, websocket.MessageText, subscribeCommand); err != nil {
		_ = c.CloseNow()
		return nil, err
	}
	wc := &wsClient{r: r, c: c}
	wg.Go(wc.run)
	return wc, nil
}

func (c *wsClient) recv() *receiver { return c.r }

func (c *wsClient) close() {
	c.closing.Store(true)
	_ = c.c.CloseNow()
}

func (c *wsClient) run() {
	buf := make([]byte, 0, 64<<10)
	for {
		_, rd, err := c.c.Reader(context.Background())
		if err != nil {
			c.ended(err)
			return
		}
		now := nanotime()
		buf, err = readAll(rd, buf[:0])
		if err != nil {
			c.ended(err)
			return
		}
		if !c.r.frame(buf, now) {
			return
		}
	}
}

func (c *wsClient) ended(err error) {
	if !c.closing.Load() {
		c.r.fail(fmt.Errorf("client %d: connection ended: %w", c.r.id, err))
	}
}

func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// sseClient is an HTTP/1.1 event-stream client on a raw connection.
type sseClient struct {
	r       *receiver
	conn    net.Conn
	body    io.Reader
	stamp   *stampReader
	closing atomic.Bool
}

// stampReader records when its last read returned: the receive time of
// the bytes the client is parsing (at most the parsing time late).
type stampReader struct {
	r   io.Reader
	now int64
}

func (s *stampReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.now = nanotime()
	return n, err
}

// dialSSE opens an event stream of addr (host:port) and starts reading it
// in a goroutine that wg counts, once the response head has arrived:
// both servers subscribe before they answer.
func dialSSE(ctx context.Context, addr string, r *receiver, wg *sync.WaitGroup) (*sseClient, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	req := "GET /?topic=" + benchTopic + " HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		_ = conn.Close()
		return nil, err
	}
	stamp := &stampReader{r: conn}
	resp, err := http.ReadResponse(bufio.NewReaderSize(stamp, 64<<10), nil)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		_ = conn.Close()
		return nil, fmt.Errorf("event stream answered %s", resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	r.markReady()
	c := &sseClient{r: r, conn: conn, body: resp.Body, stamp: stamp}
	wg.Go(c.run)
	return c, nil
}

func (c *sseClient) recv() *receiver { return c.r }

func (c *sseClient) close() {
	c.closing.Store(true)
	_ = c.conn.Close()
}

var dataPrefix = []byte("data: ")

// run reads events line by line; a data line holds one message. The
// pacer advances at each blank line (the end of an event).
func (c *sseClient) run() {
	br := bufio.NewReaderSize(c.body, 64<<10)
	r := c.r
	var p *pacer
	prev := r.last
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if !c.closing.Load() {
				r.fail(fmt.Errorf("client %d: stream ended: %w", r.id, err))
			}
			return
		}
		switch {
		case bytes.HasPrefix(line, dataPrefix):
			p = r.pacer.Load() // before recording: orders this run after its reset
			if !r.message(line[len(dataPrefix):len(line)-1], c.stamp.now) {
				return
			}
		case len(line) == 1 && p != nil && r.last > prev:
			p.advance(prev, r.last)
			prev = r.last
		}
	}
}
