package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
)

// link is the state of one connection. While it is up, the client's
// goroutine reads it; a writer goroutine exists only while commands are
// due, and a pinging one only while an idle check waits for its pong, as
// the server's connections do. Its fields are guarded by Client.mu, except
// those set before it is published.
type link struct {
	conn   *websocket.Conn
	ctx    context.Context // done when the connection has ended
	cancel context.CancelFunc
	wg     sync.WaitGroup // the writer and the idle check
	pace   bucket
	wake   *time.Timer // wakes the writer when pacing or a retry allows
	idle   *time.Timer // runs the idle check

	writing bool  // the writer goroutine runs
	failure error // why the writer or the idle check gave up on the connection
}

// serve reads a connection until it ends and returns why, after closing it
// and waiting for the goroutines of the link.
func (c *Client) serve(conn *websocket.Conn) error {
	l := c.attach(conn)
	if l == nil {
		_ = conn.Close(websocket.StatusNormalClosure, "bye")
		return fanout.ErrClosed
	}
	c.notify(Connected, nil)
	err := c.read(l.ctx, conn)
	switch {
	case errors.Is(err, errOverflow):
		_ = conn.Close(transport.CloseSlowConsumer, "slow consumer")
	case errors.Is(err, errLost), errors.Is(err, errBinary), errors.Is(err, errBadMessage):
		_ = conn.Close(websocket.StatusProtocolError, "protocol violation")
	}
	failure := c.detach(l)
	switch {
	case c.ctx.Err() != nil:
		return fanout.ErrClosed
	case failure != nil && websocket.CloseStatus(err) == -1:
		return failure // the read failed because the writer or the idle check closed the connection
	}
	return err
}

// attach makes conn the client's connection, with every topic to be
// subscribed, and starts the writer. It returns nil if Close came first.
func (c *Client) attach(conn *websocket.Conn) *link {
	ctx, cancel := context.WithCancel(context.Background())
	l := &link{conn: conn, ctx: ctx, cancel: cancel, pace: newBucket(c.opts.CommandRate, c.opts.CommandBurst, time.Now())}
	l.wake = time.AfterFunc(time.Hour, func() { c.wakeWriter(l) })
	l.wake.Stop()
	l.idle = time.AfterFunc(time.Hour, func() { c.checkIdle(l) })
	l.idle.Stop()
	c.seen()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		cancel()
		return nil
	}
	c.link = l
	if c.opts.IdleTimeout > 0 {
		l.idle.Reset(c.opts.IdleTimeout)
	}
	c.wakeWriterLocked()
	return l
}

// detach ends the link: it closes the connection, waits for the writer
// and the idle check, and forgets what the connection had subscribed, so
// that the next one subscribes every topic again. It returns the failure
// the writer or the idle check recorded.
func (c *Client) detach(l *link) error {
	c.mu.Lock()
	c.link = nil
	l.wake.Stop()
	l.idle.Stop()
	c.mu.Unlock()
	l.cancel()
	_ = l.conn.CloseNow()
	l.wg.Wait()

	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.topics {
		t.sent, t.due, t.retries = false, time.Time{}, 0
	}
	clear(c.leaving)
	clear(c.ids)
	return l.failure
}

// wakeWriterLocked starts the writer of the current connection, unless it
// runs already.
func (c *Client) wakeWriterLocked() {
	l := c.link
	if l == nil || l.writing || l.failure != nil {
		return
	}
	l.writing = true
	l.wg.Add(1)
	go c.writer(l)
}

func (c *Client) wakeWriter(l *link) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == l {
		c.wakeWriterLocked()
	}
}

// writer sends the due commands on l, then ends, arming l.wake if more
// will be due.
func (c *Client) writer(l *link) {
	defer l.wg.Done()
	var cmds []command
	for {
		c.mu.Lock()
		var wait time.Duration
		if c.link == l {
			cmds, wait = c.dueLocked(cmds[:0], &l.pace, time.Now())
		}
		if c.link != l || len(cmds) == 0 {
			l.writing = false
			if wait > 0 && c.link == l {
				l.wake.Reset(wait)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for _, cmd := range cmds {
			if err := c.write(l, cmd); err != nil {
				c.fail(l, err)
				return
			}
		}
	}
}

func (c *Client) write(l *link, cmd command) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(l.ctx, c.opts.WriteTimeout)
	defer cancel()
	if err := l.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("fanout: send %s %q: %w", cmd.Action, cmd.Topic, err)
	}
	return nil
}

// fail records why l's writer or idle check gave up, and closes the
// connection, which ends the read.
func (c *Client) fail(l *link, err error) {
	c.mu.Lock()
	if l.failure == nil {
		l.failure = err
	}
	l.writing = false
	c.mu.Unlock()
	_ = l.conn.CloseNow()
}

// checkIdle runs when l has been up for IdleTimeout since it was last
// known alive: it pings the server if nothing has arrived since, and
// rearms itself.
func (c *Client) checkIdle(l *link) {
	c.mu.Lock()
	if c.link != l {
		c.mu.Unlock()
		return
	}
	if silent := time.Since(time.Unix(0, c.lastSeen.Load())); silent < c.opts.IdleTimeout {
		l.idle.Reset(c.opts.IdleTimeout - silent)
		c.mu.Unlock()
		return
	}
	l.wg.Add(1)
	c.mu.Unlock()
	defer l.wg.Done()

	ctx, cancel := context.WithTimeout(l.ctx, c.opts.WriteTimeout)
	defer cancel()
	if err := l.conn.Ping(ctx); err != nil {
		c.fail(l, fmt.Errorf("fanout: the connection went silent: %w", err))
		return
	}
	c.seen()
	c.mu.Lock()
	if c.link == l {
		l.idle.Reset(c.opts.IdleTimeout)
	}
	c.mu.Unlock()
}
