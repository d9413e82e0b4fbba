package client

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
)

// run is the client's goroutine: it reads one connection after another,
// reconnecting in between, until Close or a failure it does not retry.
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

// redial connects again after delay, and then after backoff delays (and
// the server's Retry-After) as often as needed, until it succeeds, the
// server refuses for good (a *RefusedError) or the client is closed.
func (c *Client) redial(delay time.Duration, bo *backoff) (*websocket.Conn, error) {
	for {
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
		delay = retryDelay(err, bo, c.opts.MaxBackoff)
	}
}

// command is a client command (docs/protocol.md).
type command struct {
	Action string  `json:"action"`
	Topic  string  `json:"topic"`
	Epoch  string  `json:"epoch,omitempty"`
	Since  *uint64 `json:"since,omitempty"`
	ID     int64   `json:"id"`
}

// dueLocked appends to cmds the commands to send now, as far as pace allows, and
// marks them sent. It returns how long until more are due, or zero when
// nothing waits. Unsubscribes go first, then subscribes in the order of
// the Subscribe calls; a topic subscribed again is sent only once the
// server has confirmed its unsubscribe, so that the messages of the old
// subscription are not taken for the new one.
func (c *Client) dueLocked(cmds []command, pace *bucket, now time.Time) ([]command, time.Duration) {
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
