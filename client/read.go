package client

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout/transport"
)

// read reads a connection on the client's goroutine: it applies every
// frame until the connection fails or a message breaks the rules, and
// returns why.
func (c *Client) read(ctx context.Context, conn *websocket.Conn) error {
	var msgs []frameMsg
	in := make(interner)
	for {
		typ, frame, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		c.seen()
		if typ != websocket.MessageText {
			return errBinary
		}
		var perr error
		msgs, perr = parseFrame(msgs[:0], frame, in)
		if err := c.apply(msgs); err != nil {
			return err
		}
		if perr != nil {
			return perr
		}
	}
}

// apply applies the messages of one frame.
func (c *Client) apply(msgs []frameMsg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range msgs {
		if err := c.applyLocked(&msgs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) applyLocked(f *frameMsg) error {
	if k, ok := f.kind(); ok {
		return c.receiveLocked(f.message(k))
	}
	if f.Type == "occupancy" {
		c.occupancyLocked(f)
		return nil
	}
	cmd := sentCommand{topic: f.Topic}
	if f.ID != nil {
		if sent, ok := c.ids[*f.ID]; ok {
			delete(c.ids, *f.ID)
			cmd = sent
		}
	}
	switch f.Type {
	case "subscribed":
		if t := c.topics[cmd.topic]; t != nil && t.sent {
			t.retries = 0
		}
	case "unsubscribed":
		if !c.leftLocked(cmd.topic) && f.Reason != transport.ReasonRequested {
			c.refusedLocked(cmd.topic, f.Reason, "the server ended the subscription")
		}
	case "error":
		switch {
		case cmd.unsubscribe && f.Code == transport.CodeRateLimited:
			if _, ok := c.leaving[cmd.topic]; ok {
				c.leaving[cmd.topic] = false // send it again, paced
				c.wakeWriterLocked()
			}
		case c.leftLocked(cmd.topic):
		case f.Code == transport.CodeAlreadySubscribed, f.Code == transport.CodeNotSubscribed:
		default:
			c.refusedLocked(cmd.topic, f.Code, f.Message)
		}
	}
	return nil // unknown types are ignored, for newer servers
}

// receiveLocked queues a snapshot, update or reset for the caller, or
// drops it as a duplicate, or reports the topic's sequence broken.
func (c *Client) receiveLocked(m Message) error {
	t := c.topics[m.Topic]
	if t == nil || !t.sent {
		return nil // unsubscribed, or the tail of an earlier subscription
	}
	switch judge(t.recv, t.hasRecv, &m) {
	case drop:
		return nil
	case lost:
		return errLost
	}
	if c.q.len() >= c.opts.QueueSize {
		return errOverflow
	}
	t.recv, t.hasRecv = m.Position(), true
	c.q.push(item{t: t, m: m})
	signal(c.ready)
	return nil
}

// leftLocked completes the unsubscribe of name, if one was sent, and
// reports whether it did.
func (c *Client) leftLocked(name string) bool {
	if sent, ok := c.leaving[name]; !ok || !sent {
		return false
	}
	delete(c.leaving, name)
	c.wakeWriterLocked() // a new subscription of name may wait for this
	return true
}

// refusedLocked handles the server's refusal of topic name with code:
// retried later when the code allows, else the topic is forgotten and the
// caller told through Next.
func (c *Client) refusedLocked(name, code, msg string) {
	t := c.topics[name]
	if name != "" && (t == nil || !t.sent) {
		return // about a subscription that no longer exists
	}
	if code == transport.CodeRateLimited || code == transport.CodeUnavailable {
		if t != nil {
			bo := backoff{min: c.opts.MinBackoff, max: c.opts.MaxBackoff, attempt: t.retries, int64n: rand.Int64N}
			t.sent, t.due = false, time.Now().Add(bo.next())
			t.retries++
			c.wakeWriterLocked()
		}
		return
	}
	if t != nil {
		t.gone = true
		delete(c.topics, name)
	} else if c.q.len() >= c.opts.QueueSize {
		return // an error naming no topic, with the caller that far behind: drop it
	}
	c.q.push(item{err: &TopicError{Topic: name, Code: code, Message: msg}})
	signal(c.ready)
}
