package ws

import (
	"context"
	"time"
)

// startPing arms the keepalive timer. Pings run on the timer's goroutine,
// so that an idle connection holds no goroutine for them.
func (c *conn) startPing() {
	if c.h.opts.PingInterval < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ping = time.AfterFunc(c.h.opts.PingInterval, c.keepalive)
}

// keepalive pings the peer and waits for its pong; a failure aborts the
// connection, a success arms the next ping.
func (c *conn) keepalive() {
	if !c.enter() {
		return
	}
	defer c.leave()
	ctx, cancel := context.WithTimeout(context.Background(), c.h.opts.WriteTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if err != nil {
		c.abort()
		return
	}
	c.mu.Lock()
	if !c.ended {
		c.ping.Reset(c.h.opts.PingInterval)
	}
	c.mu.Unlock()
}

// enter registers a timer callback that is about to use the connection;
// it reports false once the connection has ended. leave ends it.
func (c *conn) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.callbacks.Add(1)
	return true
}

func (c *conn) leave() { c.callbacks.Done() }

// stopCallbacks stops the keepalive and waits for running timer callbacks.
// The connection must be aborted first, so that a pending ping returns.
func (c *conn) stopCallbacks() {
	c.mu.Lock()
	c.ended = true
	if c.ping != nil {
		c.ping.Stop()
	}
	c.mu.Unlock()
	c.callbacks.Wait()
}
