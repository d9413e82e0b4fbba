package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
)

// run is the client's goroutine: it serves one connection after another
// until Close or a failure it does not retry.
func (c *Client) run(conn *websocket.Conn) {
	defer c.wg.Done()
	defer close(c.done)
	r := newReconnector(c.opts.MinBackoff, c.opts.MaxBackoff, rand.Int64N)
	for {
		start := time.Now()
		err := c.serve(conn)
		if c.ctx.Err() != nil {
			c.end(fanout.ErrClosed)
			return
		}
		c.notify(Disconnected, err)
		kind := reconnectPolicy(err)
		if kind == stop {
			c.end(fmt.Errorf("fanout: the server closed the connection; not reconnecting: %w", err))
			return
		}
		if errors.Is(err, errOverflow) && !c.waitRoom() {
			c.end(fanout.ErrClosed)
			return
		}
		if conn, err = c.redial(r.first(kind, time.Since(start)), &r.bo); err != nil {
			c.end(err)
			return
		}
	}
}

// waitRoom waits until Next has taken half of the queue. It returns false
// when the client is closed first.
func (c *Client) waitRoom() bool {
	c.mu.Lock()
	c.roomWait = c.q.len() > c.opts.QueueSize/2
	wait := c.roomWait
	c.mu.Unlock()
	if !wait {
		return true
	}
	select {
	case <-c.room:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// redial connects again after delay, and then after backoff delays as
// often as needed, until it succeeds, the server refuses for good (a
// *RefusedError) or the client is closed.
func (c *Client) redial(delay time.Duration, bo *backoff) (*websocket.Conn, error) {
	for ; ; delay = bo.next() {
		t := time.NewTimer(delay)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return nil, fanout.ErrClosed
		case <-t.C:
		}
		conn, err := c.dial(c.ctx)
		switch {
		case err == nil:
			return conn, nil
		case c.ctx.Err() != nil:
			return nil, fanout.ErrClosed
		}
		var refused *RefusedError
		if errors.As(err, &refused) {
			return nil, err
		}
		c.notify(Disconnected, err)
	}
}

// serve runs one connection: a goroutine reads it while this one sends
// the commands. It returns why the connection ended, after closing it and
// waiting for the reader.
func (c *Client) serve(conn *websocket.Conn) error {
	// The connection's context is not c.ctx, so that Close can still
	// close it with a handshake.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.read(ctx, conn) }()
	c.notify(Connected, nil)

	readerDone, err := c.send(ctx, conn, done)
	switch {
	case errors.Is(err, fanout.ErrClosed):
		_ = conn.Close(websocket.StatusNormalClosure, "bye")
	case errors.Is(err, errOverflow):
		_ = conn.Close(transport.CloseSlowConsumer, "slow consumer")
	case errors.Is(err, errLost), errors.Is(err, errBinary), errors.Is(err, errBadMessage):
		_ = conn.Close(websocket.StatusProtocolError, "protocol violation")
	}
	cancel()
	_ = conn.CloseNow()
	if !readerDone {
		// A write failed; when the server had closed the connection,
		// its close code says more than the write error.
		if rerr := <-done; websocket.CloseStatus(rerr) != -1 && !errors.Is(err, fanout.ErrClosed) {
			err = rerr
		}
	}
	c.detach()
	return err
}

// send writes the due commands until the reader reports the end of the
// connection (its error is returned, with readerDone set), a write or an
// idle check fails, or the client is closed (fanout.ErrClosed).
func (c *Client) send(ctx context.Context, conn *websocket.Conn, done <-chan error) (readerDone bool, err error) {
	pace := newBucket(c.opts.CommandRate, c.opts.CommandBurst, time.Now())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	c.seen()
	idle := newIdleTimer(c.opts.IdleTimeout)
	defer idle.Stop()
	var cmds []command
	for {
		var wait time.Duration
		cmds, wait = c.due(cmds[:0], &pace, time.Now())
		for _, cmd := range cmds {
			if err := c.write(ctx, conn, cmd); err != nil {
				return false, err
			}
		}
		if wait > 0 {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case err := <-done:
			return true, err
		case <-c.ctx.Done():
			return false, fanout.ErrClosed
		case <-c.kick:
		case <-timer.C:
		case <-idle.C:
			if err := c.checkIdle(ctx, conn, idle); err != nil {
				return false, err
			}
		}
	}
}

// newIdleTimer returns the timer of the idle check, stopped when d < 0.
func newIdleTimer(d time.Duration) *time.Timer {
	t := time.NewTimer(max(d, time.Hour))
	if d > 0 {
		t.Reset(d)
	} else {
		t.Stop()
	}
	return t
}

// checkIdle pings the server if the connection has been silent for
// IdleTimeout, and rearms idle.
func (c *Client) checkIdle(ctx context.Context, conn *websocket.Conn, idle *time.Timer) error {
	silent := time.Since(time.Unix(0, c.lastSeen.Load()))
	if silent < c.opts.IdleTimeout {
		idle.Reset(c.opts.IdleTimeout - silent)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.WriteTimeout)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)() // Close need not wait for the pong
	if err := conn.Ping(ctx); err != nil {
		if c.ctx.Err() != nil {
			return fanout.ErrClosed
		}
		return fmt.Errorf("fanout: the connection went silent: %w", err)
	}
	c.seen()
	idle.Reset(c.opts.IdleTimeout)
	return nil
}

// command is a client command (docs/protocol.md).
type command struct {
	Action string  `json:"action"`
	Topic  string  `json:"topic"`
	Epoch  string  `json:"epoch,omitempty"`
	Since  *uint64 `json:"since,omitempty"`
	ID     int64   `json:"id"`
}

func (c *Client) write(ctx context.Context, conn *websocket.Conn, cmd command) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.WriteTimeout)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)() // Close need not wait for a stuck write
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		if c.ctx.Err() != nil {
			return fanout.ErrClosed
		}
		return fmt.Errorf("fanout: send %s %q: %w", cmd.Action, cmd.Topic, err)
	}
	return nil
}

// due appends to cmds the commands to send now, as far as pace allows, and
// marks them sent. It returns how long until more are due, or zero when
// nothing waits. Unsubscribes go first, then subscribes in the order of
// the Subscribe calls; a topic subscribed again is sent
// only once the server has confirmed its unsubscribe, so that the
// messages of the old subscription are not taken for the new one.
func (c *Client) due(cmds []command, pace *bucket, now time.Time) ([]command, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wait time.Duration
	later := func(d time.Duration) {
		if wait == 0 || d < wait {
			wait = max(d, time.Millisecond)
		}
	}
	for name, sent := range c.leaving {
		if sent {
			continue
		}
		if !pace.take(now) {
			later(pace.wait(now))
			return cmds, wait
		}
		c.leaving[name] = true
		cmds = append(cmds, command{Action: transport.ActionUnsubscribe, Topic: name, ID: c.idLocked(sentCommand{name, true})})
	}
	var ready []*topic
	for name, t := range c.topics {
		if _, ok := c.leaving[name]; ok || t.sent {
			continue
		}
		if d := t.due.Sub(now); d > 0 {
			later(d)
			continue
		}
		ready = append(ready, t)
	}
	slices.SortFunc(ready, func(a, b *topic) int { return cmp.Compare(a.order, b.order) })
	for _, t := range ready {
		if !pace.take(now) {
			later(pace.wait(now))
			break
		}
		t.sent = true
		cmd := command{Action: transport.ActionSubscribe, Topic: t.name, ID: c.idLocked(sentCommand{t.name, false})}
		if t.hasRecv {
			since := t.recv.Seq
			cmd.Epoch, cmd.Since = t.recv.Epoch, &since
		}
		cmds = append(cmds, cmd)
	}
	return cmds, wait
}

// sentCommand is what the client remembers of a command awaiting its
// reply.
type sentCommand struct {
	topic       string
	unsubscribe bool
}

// maxAwaited bounds the commands remembered while awaiting their replies;
// beyond it, replies are matched by their topic alone.
const maxAwaited = 4096

// idLocked returns a new command id for cmd.
func (c *Client) idLocked(cmd sentCommand) int64 {
	c.nextID = (c.nextID + 1) % (1 << 53)
	if len(c.ids) < maxAwaited {
		c.ids[c.nextID] = cmd
	}
	return c.nextID
}

// detach forgets what the ended connection had subscribed, so that the
// next one subscribes every topic again.
func (c *Client) detach() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.topics {
		t.sent, t.due, t.retries = false, time.Time{}, 0
	}
	clear(c.leaving)
	clear(c.ids)
}
