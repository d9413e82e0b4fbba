package ws

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

// wake starts the writer unless it is running (see conns.Writer). It is
// the subscriber's OnReady hook, so it runs on a publisher's goroutine
// under the topic's lock: it only flips the state and starts a goroutine.
func (c *conn) wake() {
	if c.writer.TryStart() {
		c.writes.Add(1)
		go c.writeFn() // a func value made once: "go c.write()" would allocate a closure each time
	}
}

// write is the writer goroutine: it writes everything queued, then ends.
func (c *conn) write() {
	defer c.writes.Done()
	w := writeBufs.Get().(*writeBuf)
	defer writeBufs.Put(w)
	for {
		c.flush(w)
		if code := c.closeAt.Load(); code != 0 {
			c.close(websocket.StatusCode(code))
		}
		if !c.writer.Release(c.hasWork) {
			return
		}
	}
}

// stopWriter waits for the running writer, if any, and keeps any other
// from starting. It is called once, by the reading goroutine, after the
// subscriber is closed and the connection aborted, so a writer ends soon.
func (c *conn) stopWriter() {
	c.writer.Stop()
	c.writes.Wait()
	if c.timer != nil {
		c.timer.Stop()
	}
}

// hasWork reports whether the writer has something to do.
func (c *conn) hasWork() bool {
	if c.closing.Load() || c.broken.Load() || c.ending.Load() {
		return false
	}
	c.mu.Lock()
	replies := len(c.replies)
	c.mu.Unlock()
	return replies > 0 || c.closeAt.Load() != 0 || c.sub.Len() > 0 || c.sub.Err() != nil
}

// writeBuf is a writer's reusable memory, pooled so that an idle
// connection holds none.
type writeBuf struct {
	ds [drainBatch]fanout.Delivery
	// frame is the frame being built: frameHead bytes of room for its
	// header (see frameWriter.writeText), then its payload.
	frame []byte
}

var writeBufs = sync.Pool{New: func() any { return new(writeBuf) }}

// empty starts a new frame.
func (w *writeBuf) empty() {
	if cap(w.frame) < frameHead {
		w.frame = make([]byte, frameHead, 512)
	}
	w.frame = w.frame[:frameHead]
}

// size returns the length of the frame's payload.
func (w *writeBuf) size() int { return len(w.frame) - frameHead }

// add appends one message to the frame's payload, after a '\n' unless it
// is the first.
func (w *writeBuf) add(b []byte) {
	if w.size() > 0 {
		w.frame = append(w.frame, '\n')
	}
	w.frame = append(w.frame, b...)
}

// maxKeptReplies is the capacity of the reply buffer a connection keeps
// between replies.
const maxKeptReplies = 1024

// flush writes the pending replies and queued deliveries in as few frames
// as possible, each at most MaxFrameSize (a bigger message goes alone),
// until nothing is left or the connection fails.
func (c *conn) flush(w *writeBuf) {
	limit := c.h.opts.MaxFrameSize
	w.empty()
	for !c.closing.Load() && !c.broken.Load() {
		c.takeReplies(w)
		n, err := c.sub.Drain(w.ds[:])
		if err != nil {
			if w.size() > 0 {
				c.send(w)
			}
			c.closeFor(err)
			return
		}
		if n > 0 && c.lagging(w, n) {
			clear(w.ds[:n])
			c.close(transport.CloseSlowConsumer)
			return
		}
		taken, ok := c.append(w, w.ds[:n], limit)
		clear(w.ds[:n]) // do not keep messages alive from the pool
		if !ok {
			return
		}
		if c.lag.Took(taken, n < len(w.ds)) {
			c.close(transport.CloseSlowConsumer)
			return
		}
		if n == len(w.ds) && w.size() < limit {
			continue // more may be queued: fill the frame first
		}
		if w.size() == 0 {
			c.since = time.Time{}
			return
		}
		if !c.send(w) {
			return
		}
		w.empty()
		c.since = time.Time{}
	}
}

// lagging reports whether the connection, which has just taken n messages
// from its queue into w.ds, lags beyond Options.MaxLag: the oldest message
// it has not written yet is too old. It records when that message became
// undelivered, for the write deadline (see send).
func (c *conn) lagging(w *writeBuf, n int) bool {
	since := conns.Since(w.ds[:n], time.Unix(0, c.joined.Load()))
	if c.since.IsZero() || since.Before(c.since) {
		c.since = since
	}
	return c.lag.Over(time.Now(), c.since)
}

// takeReplies moves the pending control replies into the frame.
func (c *conn) takeReplies(w *writeBuf) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.replies) == 0 {
		return
	}
	w.add(c.replies)
	c.replies = c.replies[:0]
	if cap(c.replies) > maxKeptReplies {
		c.replies = nil
	}
}

// append adds the encodings of ds to the frame, writing the frame out
// whenever the next message would not fit. It returns the bytes of the
// encodings, and false when a write failed.
func (c *conn) append(w *writeBuf, ds []fanout.Delivery, limit int) (taken int, ok bool) {
	for _, d := range ds {
		b := protocol.Encode(d)
		taken += len(b)
		if w.size() > 0 && w.size()+1+len(b) > limit {
			if !c.send(w) {
				return taken, false
			}
			w.empty()
		}
		if w.size() == 0 && len(b) >= limit {
			if !c.sendAlone(b) { // the shared encoding, not copied
				return taken, false
			}
			continue
		}
		w.add(b)
	}
	c.h.stats.Meter.ObserveWrite(ds, time.Now())
	return taken, true
}

// send writes the frame in w (see writeFrame).
func (c *conn) send(w *writeBuf) bool {
	return c.writeFrame(w.frame, true)
}

// sendAlone writes p, a message too big to share a frame, as a frame of
// its own (see writeFrame).
func (c *conn) sendAlone(p []byte) bool {
	return c.writeFrame(p, false)
}

// writeFrame writes one text frame within WriteTimeout, and before the oldest
// message it carries exceeds MaxLag. Its payload is b[frameHead:] when
// head is true (room for the header in front), else b. On failure it
// marks the connection broken and aborts it, so that the reading loop
// ends.
func (c *conn) writeFrame(b []byte, head bool) bool {
	now := time.Now()
	timeout := max(c.lag.Deadline(now, c.since, c.h.opts.WriteTimeout).Sub(now), minWriteTime)
	if c.timer == nil {
		c.timer = time.AfterFunc(timeout, c.writeTimedOut)
	} else {
		c.timer.Reset(timeout)
	}
	var err error
	switch {
	case c.frames != nil && head:
		err = c.frames.writeText(b)
	case c.frames != nil:
		err = c.frames.writeTextAlone(b)
	case head:
		err = c.ws.Write(context.Background(), websocket.MessageText, b[frameHead:])
	default:
		err = c.ws.Write(context.Background(), websocket.MessageText, b)
	}
	c.timer.Stop()
	if err != nil {
		c.broken.Store(true)
		c.abort()
		return false
	}
	return true
}

// minWriteTime is the least time a write is given, also when the message
// it carries is about to exceed MaxLag.
const minWriteTime = 100 * time.Millisecond

// writeTimedOut cuts a connection whose write took longer than
// WriteTimeout, or than the lag bound allowed.
func (c *conn) writeTimedOut() {
	if !c.enter() {
		return
	}
	defer c.leave()
	c.broken.Store(true)
	c.cut()
}
