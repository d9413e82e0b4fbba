package ws

import (
	"context"
	"errors"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/internal/ratelimit"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

// conn is one WebSocket connection: its subscriber, its reading loop (on a
// goroutine of the handler), and the state of its writer and keepalive.
type conn struct {
	h      *Handler
	ws     *websocket.Conn
	nc     net.Conn      // the hijacked connection under ws, to cut it at once
	frames *frameWriter  // writes the text frames; nil when ws does, compressing them (see frame.go)
	r      *http.Request // the upgrade request, with ctx as its context; nil without Auth.Subscribe
	srv    *http.Server  // the server of the upgrade request, if known: its ErrorLog logs panics
	sub    *fanout.Subscriber

	// ctx bounds the hub calls of the commands (a snapshot loader) and
	// carries the upgrade request's values; cancel is called when the
	// connection closes.
	ctx    context.Context
	cancel context.CancelFunc

	closing atomic.Bool  // a close (handshake or abort) has started
	closeAt atomic.Int32 // a close code the writer sends after the pending replies, 0 for none
	ending  atomic.Bool  // the reading loop ended: the subscriber is closed by us
	broken  atomic.Bool  // a write failed: the writer stops writing
	joined  atomic.Int64 // when the latest subscribe began, in Unix nanoseconds (see conns.Since)

	// Writer state; see writer.go.
	writer  conns.Writer // the writer role: a writer goroutine runs while it is held
	writes  sync.WaitGroup
	writeFn func()      // c.write, made once
	timer   *time.Timer // write deadline, armed around each write; set once by the first writer
	lag     conns.Lag   // how far the writer is behind; owned by the writer
	since   time.Time   // when the oldest message of the frame being built became undelivered; owned by the writer

	mu        sync.Mutex // guards the fields below
	replies   []byte     // control replies waiting for the writer, separated by '\n'
	ended     bool       // the connection ended: timer callbacks do nothing
	callbacks sync.WaitGroup
	ping      *time.Timer // keepalive; nil when disabled

	// Command state, owned by the reading loop and, while the loop waits
	// for it, by the goroutine answering one command (see readCommand).
	limit    ratelimit.Bucket
	invalid  int    // invalid commands in a row
	limited  int    // rate-limited commands in a row
	cmd      []byte // the command being answered
	failed   bool   // answering a command panicked: end the connection
	handling sync.WaitGroup
	handleFn func() // c.handleCommand, made once
}

func newConn(h *Handler, wsc *websocket.Conn, hw *hijackWriter, r *http.Request) *conn {
	c := &conn{h: h, ws: wsc, nc: hw.conn, frames: hw.frames}
	c.writer.Init(false, true)
	c.writeFn = c.write
	c.handleFn = c.handleCommand
	// net/http cancels r's context when ServeHTTP returns: keep its values,
	// and end it with the connection instead.
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(r.Context()))
	if h.opts.Auth.Subscribe != nil {
		c.r = r.WithContext(c.ctx) // else not kept: a request holds 1 to 2 KiB
	}
	c.srv, _ = r.Context().Value(http.ServerContextKey).(*http.Server)
	now := time.Now()
	c.limit = ratelimit.New(h.opts.CommandRate, h.opts.CommandBurst, now)
	c.joined.Store(now.UnixNano())
	c.lag = conns.NewLag(h.opts.MaxLag, h.opts.MaxUnsentBytes)
	wsc.SetReadLimit(h.opts.ReadLimit)
	c.sub = h.hub.NewSubscriber(fanout.SubscriberOptions{
		QueueSize:        h.opts.QueueSize,
		MaxSubscriptions: h.opts.MaxTopics,
		Overflow:         h.opts.Overflow,
		OnReady:          c.wake,
		Meter:            &h.stats.Meter,
	})
	return c
}

// serve runs the connection's reading loop until the connection closes,
// then releases everything it holds, even on a panic.
func (c *conn) serve() {
	defer c.teardown()
	if c.sub.Err() != nil {
		c.wake() // the hub is closed: let the writer close the connection
	}
	c.startPing()
	for c.readCommand() {
	}
}

// teardown ends the subscriber, the connection, its timers and its writer,
// and waits for them.
func (c *conn) teardown() {
	c.ending.Store(true)
	c.cancel()
	_ = c.sub.Close()
	c.abort() // the peer is gone or the close handshake is done: unblock the writer and a ping
	c.stopCallbacks()
	c.stopWriter()
}

// readCommand reads and answers one command. It returns false when the
// connection is over.
func (c *conn) readCommand() bool {
	typ, rd, err := c.ws.Reader(context.Background())
	if err != nil {
		return false // closed by the peer, by a close handshake, or broken
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	b, err := readAll(rd, (*bp)[:0])
	*bp = b[:0]
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		c.linger() // the library has sent 1009
		return false
	case err != nil:
		return false
	case c.closeAt.Load() != 0:
		// Closing: the loop goes on reading only to see the peer's close.
	case typ != websocket.MessageText:
		c.closeAfterReplies(transport.CloseProtocolViolation)
	default:
		// Answer on a goroutine of its own, and wait: commands stay in
		// order and under the rate limit, and the hub calls and hooks
		// (tens of frames deep) do not grow this goroutine's stack, which
		// an idle connection would keep.
		c.cmd = b
		c.handling.Add(1)
		go c.handleFn() // a func value made once, like the writer's
		c.handling.Wait()
		c.cmd = nil
		return !c.failed
	}
	return true
}

// handleCommand answers c.cmd for the reading loop, which waits for it. A
// panic (an authorization hook's) is logged and ends the connection.
func (c *conn) handleCommand() {
	defer c.handling.Done()
	defer func() {
		if v := recover(); v != nil {
			c.failed = true
			c.logPanic(v)
		}
	}()
	c.count(c.handle(c.cmd))
}

// logPanic logs a panic that ended the connection, with its stack, as
// net/http does for a handler: to the server's ErrorLog, or the standard
// logger. It must be called by the deferred function that recovered v.
func (c *conn) logPanic(v any) {
	if v == http.ErrAbortHandler {
		return // a deliberate abort, which net/http does not log either
	}
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, false)]
	logf := log.Printf
	if c.srv != nil && c.srv.ErrorLog != nil {
		logf = c.srv.ErrorLog.Printf
	}
	logf("fanout: ws: panic serving %s: %v\n%s", c.nc.RemoteAddr(), v, buf)
}

// Outcomes of a command, for the protocol-violation rule.
const (
	served  = iota // answered by the hub, even with an error
	invalid        // malformed or unknown
	limited        // over the command rate
)

// count applies the protocol-violation rule: maxInvalid invalid commands
// in a row, or more rate-limited ones in a row than the burst (a client
// that ignores rate_limited), close the connection with 4002.
func (c *conn) count(outcome int) {
	switch outcome {
	case served:
		c.invalid, c.limited = 0, 0
	case invalid:
		c.invalid++
	case limited:
		c.limited++
	}
	if c.invalid >= maxInvalid || c.limited > c.h.opts.CommandBurst {
		c.closeAfterReplies(transport.CloseProtocolViolation)
	}
}

// lingerTime bounds how long linger waits for the peer.
const lingerTime = 2 * time.Second

// linger discards what the peer still sends, until it closes or lingerTime
// passes, so that closing the connection sends a FIN rather than a reset,
// which would discard the close frame in flight.
func (c *conn) linger() {
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.nc, int64(lingerTime.Seconds())<<20))
}

// readBufs holds command buffers, so that an idle connection holds none.
var readBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

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

// handle answers one command and returns its outcome.
func (c *conn) handle(b []byte) int {
	if !c.limit.Take(time.Now()) {
		cmd, _ := protocol.ParseCommand(b) // for the id and topic to echo
		c.replyError(protocol.Errorf(transport.CodeRateLimited,
			"more than %g commands per second; retry later", c.h.opts.CommandRate), cmd)
		return limited
	}
	cmd, err := protocol.ParseCommand(b)
	if err != nil {
		c.replyError(protocol.FromError(err), cmd)
		return invalid
	}
	switch cmd.Action {
	case transport.ActionSubscribe:
		c.subscribe(cmd)
	case transport.ActionUnsubscribe:
		if err := c.sub.Unsubscribe(cmd.Topic); err != nil {
			c.replyError(protocol.FromError(err), cmd)
			break
		}
		c.replyf(func(b []byte) []byte {
			return protocol.AppendUnsubscribed(b, cmd.Topic, transport.ReasonRequested, cmd.ID, cmd.HasID)
		})
	}
	return served
}

func (c *conn) subscribe(cmd protocol.Command) {
	if err := fanout.ValidTopic(cmd.Topic, math.MaxInt); err != nil { // the hub checks the length
		c.replyError(protocol.FromError(err), cmd)
		return
	}
	if pe := protocol.AllowSubscribe(c.h.opts.Auth, c.r, cmd.Topic); pe != nil {
		c.replyError(pe, cmd)
		return
	}
	c.joined.Store(time.Now().UnixNano()) // what it queues is undelivered from now
	// A fresh subscribe starts with the topic's snapshot (null data when
	// it keeps none), so that every topic has a position the client can
	// resume from, even before its first update.
	var err error
	if cmd.Resume {
		err = c.sub.Resume(c.ctx, cmd.Topic, fanout.Position{Epoch: cmd.Epoch, Seq: cmd.Since})
	} else {
		err = c.sub.Subscribe(c.ctx, cmd.Topic)
	}
	if err != nil {
		c.replyError(protocol.FromError(err), cmd)
		return
	}
	c.replyf(func(b []byte) []byte { return protocol.AppendSubscribed(b, cmd.Topic, cmd.ID, cmd.HasID) })
}

func (c *conn) replyError(pe *protocol.ProtocolError, cmd protocol.Command) {
	c.h.stats.Rejected(pe.Code)
	topic := cmd.Topic
	if fanout.ValidTopic(topic, math.MaxInt) != nil {
		topic = "" // do not echo what may be garbage
	}
	c.replyf(func(b []byte) []byte { return protocol.AppendError(b, pe, topic, cmd.ID, cmd.HasID) })
}

// replyf appends a control reply for the writer and wakes it. A client
// that lets replies pile up beyond maxPendingReplies is a slow consumer.
func (c *conn) replyf(appendMsg func([]byte) []byte) {
	c.mu.Lock()
	if len(c.replies) > 0 {
		c.replies = append(c.replies, '\n')
	}
	c.replies = appendMsg(c.replies)
	over := len(c.replies) > maxPendingReplies
	c.mu.Unlock()
	if over {
		c.closeAfterReplies(transport.CloseSlowConsumer)
		return
	}
	c.wake()
}

// closeAfterReplies has the writer close the connection with code once it
// has written the pending replies, so that the client sees the errors that
// led to the close. The reading loop goes on until the handshake ends.
func (c *conn) closeAfterReplies(code websocket.StatusCode) {
	if c.closeAt.CompareAndSwap(0, int32(code)) {
		c.wake()
	}
}

// closeReason returns the reason text of a close code the handler sends.
func closeReason(code websocket.StatusCode) string {
	switch code {
	case transport.CloseSlowConsumer:
		return "slow consumer"
	case transport.CloseReconnect:
		return "reconnect"
	case transport.CloseProtocolViolation:
		return "protocol violation"
	case websocket.StatusGoingAway:
		return "going away"
	}
	return ""
}

// close closes the connection with a close handshake, unless a close has
// already started. It blocks until the handshake ends (or times out).
func (c *conn) close(code websocket.StatusCode) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.h.stats.Closed(closeName(code))
	c.cancel()
	_ = c.ws.Close(code, closeReason(code))
}

// abort closes the connection without a handshake, at once: closing the
// network connection fails every read and write under way, including
// those of a close handshake.
func (c *conn) abort() {
	if !c.closing.Load() {
		c.h.stats.Closed(closeName(websocket.StatusAbnormalClosure))
	}
	c.closing.Store(true)
	c.cancel()
	_ = c.nc.Close()
	_ = c.ws.CloseNow()
}

// cut aborts a connection that is stuck (a write past its deadline, or
// Shutdown out of time), dropping what the kernel holds for it: a client
// that does not read would keep its send buffer alive for minutes.
func (c *conn) cut() {
	_ = conns.Discard(c.nc)
	c.abort()
}

// closeFor closes the connection because its subscriber ended with err.
func (c *conn) closeFor(err error) {
	if c.ending.Load() {
		return // the reading loop closed the subscriber
	}
	if errors.Is(err, fanout.ErrSlowConsumer) {
		c.close(transport.CloseSlowConsumer)
		return
	}
	c.close(websocket.StatusGoingAway)
}
