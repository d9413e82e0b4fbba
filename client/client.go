package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
)

// A Client is one subscriber of a fanout server, over one WebSocket
// connection at a time, which it re-establishes after failures. It
// remembers its topics and their positions, resubscribes and resumes
// after every reconnect, and delivers messages through Next.
//
// A Client is safe for concurrent use. Create one with Dial; the zero
// value is not usable. Close it when done.
type Client struct {
	url  string
	opts Options

	ctx    context.Context // done once Close is called
	cancel context.CancelFunc
	wg     sync.WaitGroup // the run goroutine
	done   chan struct{}  // closed when the run goroutine has ended
	ready  chan struct{}  // signalled when the queue turns non-empty
	room   chan struct{}  // signalled when the queue falls to half, while roomWait

	lastSeen atomic.Int64 // when the current connection last received a frame or a ping, in Unix nanoseconds

	mu       sync.Mutex            // guards the fields below, the fields of every topic and of link
	link     *link                 // the connection; nil between connections
	topics   map[string]*topic     // the subscribed topics
	leaving  map[string]bool       // unsubscribed topics still subscribed on the server; true once the unsubscribe is sent
	ids      map[int64]sentCommand // commands awaiting their reply, by command id (at most maxAwaited)
	nextID   int64
	order    uint64 // Subscribe calls so far
	q        queue
	roomWait bool  // run waits for room in the queue
	err      error // why the client ended; nil while it runs
	closed   bool  // Close was called
}

// Dial connects to the fanout WebSocket endpoint at url (ws://, wss://,
// http:// or https://) and returns a running client once the first
// connection is up. If the first connection fails, Dial returns the
// error and no client; later failures are retried (see Options). ctx
// bounds the first connection only.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	c := &Client{
		url:     url,
		opts:    opts,
		done:    make(chan struct{}),
		ready:   make(chan struct{}, 1),
		room:    make(chan struct{}, 1),
		topics:  make(map[string]*topic),
		leaving: make(map[string]bool),
		ids:     make(map[int64]sentCommand),
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.run(conn)
	return c, nil
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.WriteTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, c.url, &websocket.DialOptions{
		HTTPClient:     c.opts.HTTPClient,
		HTTPHeader:     c.opts.Header,
		OnPingReceived: func(context.Context, []byte) bool { c.seen(); return true },
	})
	if err != nil {
		if r := refusal(resp, err); r != nil {
			return nil, r
		}
		if b := busy(resp, err, time.Now()); b != nil {
			err = b
		}
		return nil, fmt.Errorf("fanout: connect to %s: %w", c.url, err)
	}
	conn.SetReadLimit(c.opts.ReadLimit)
	return conn, nil
}

// Subscribe subscribes to the topic name. The client sends the command when it can
// (at once when connected, paced by Options.CommandRate), and again on
// every reconnect, resuming after the last message received. The first
// message of a new subscription is the topic's snapshot, with nil Data when
// the topic keeps no state (it gives the topic's position, so that a
// reconnect before its first update loses nothing). A refusal by the server arrives
// through Next as a *TopicError.
//
// Subscribe fails at once on an invalid topic name (fanout.ErrInvalidTopic),
// a topic already subscribed (fanout.ErrSubscribed) or a client that has
// ended.
func (c *Client) Subscribe(name string) error {
	if err := c.subscribe(name, nil); err != nil {
		return fmt.Errorf("subscribe %q: %w", name, err)
	}
	return nil
}

// Resume subscribes to the topic name from pos, the position of the last
// message the caller processed, for example one saved by an earlier
// process from Position. The server sends the updates after pos when its
// history still holds them, else a reset carrying the topic's state;
// afterwards the subscription behaves as with Subscribe. pos must be a
// position the server gave: messages of pos's epoch up to pos.Seq are
// taken for ones already processed and dropped. It fails like Subscribe.
func (c *Client) Resume(name string, pos fanout.Position) error {
	if err := c.subscribe(name, &pos); err != nil {
		return fmt.Errorf("resume %q: %w", name, err)
	}
	return nil
}

func (c *Client) subscribe(name string, from *fanout.Position) error {
	if err := fanout.ValidTopic(name, 0); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.endedLocked(); err != nil {
		return err
	}
	if c.topics[name] != nil {
		return fanout.ErrSubscribed
	}
	c.order++
	t := &topic{name: name, order: c.order}
	if from != nil {
		t.pos, t.hasPos, t.recv, t.hasRecv = *from, true, *from, true
	}
	c.topics[name] = t
	c.wakeWriterLocked()
	return nil
}

// Unsubscribe ends the subscription to the topic name and forgets its
// position. Messages of the topic not yet taken by Next are discarded.
func (c *Client) Unsubscribe(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.endedLocked(); err != nil {
		return fmt.Errorf("unsubscribe %q: %w", name, err)
	}
	t := c.topics[name]
	if t == nil {
		return fmt.Errorf("unsubscribe %q: %w", name, fanout.ErrNotSubscribed)
	}
	delete(c.topics, name)
	t.gone = true
	if t.sent {
		c.leaving[name] = false
		c.wakeWriterLocked()
	}
	return nil
}

func (c *Client) endedLocked() error {
	if c.closed {
		return fanout.ErrClosed
	}
	return c.err
}

// Next returns the next message, waiting for one until ctx is done. The
// messages of each topic come in order, each once (to one caller, when
// several goroutines call Next): a snapshot first, then
// updates, and a reset whenever the client's state of the topic must be
// replaced. Next returns a *TopicError, in order with the messages, when
// the server refuses a topic; the client goes on, so call Next again.
// Once the client has ended, Next returns fanout.ErrClosed after Close, or
// the error that stopped the client after the queued messages.
func (c *Client) Next(ctx context.Context) (Message, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return Message{}, fanout.ErrClosed
		}
		for c.q.len() > 0 {
			it := c.q.pop()
			if c.roomWait && c.q.len() <= c.opts.QueueSize/2 {
				c.roomWait = false
				signal(c.room)
			}
			if c.q.len() > 0 {
				signal(c.ready) // pass the wake-up on to another waiting Next
			}
			if it.err != nil {
				c.mu.Unlock()
				return Message{}, it.err
			}
			if it.t.gone {
				continue
			}
			if it.m.Kind != fanout.Occupancy { // no position
				it.t.pos, it.t.hasPos = it.m.Position(), true
			}
			c.mu.Unlock()
			return it.m, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return Message{}, err
		}
		select {
		case <-c.ready:
		case <-c.done:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// Position returns the position of the last message of the topic name
// that Next returned (or that Resume started from), and false when there
// is none or the topic is not subscribed. It is the position to save for
// a later Resume.
func (c *Client) Position(name string) (fanout.Position, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.topics[name]; t != nil && t.hasPos {
		return t.pos, true
	}
	return fanout.Position{}, false
}

// Close closes the connection with 1000 (a normal closure, which tells the
// server the client is leaving) and stops the client, waiting for its
// goroutines to exit; a server that does not answer the close handshake
// delays it by at most the handshake's timeouts (5s + 5s in
// github.com/coder/websocket). Next returns fanout.ErrClosed from then on.
// Close is idempotent; later calls wait like the first. It returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	l := c.link
	c.mu.Unlock()
	c.cancel()
	if l != nil {
		// The read sees the end of the handshake; the client's goroutine
		// then stops.
		_ = l.conn.Close(websocket.StatusNormalClosure, "bye")
	}
	c.wg.Wait()
	return nil
}

// seen records that the connection is alive.
func (c *Client) seen() { c.lastSeen.Store(time.Now().UnixNano()) }

// end records why the client ended and wakes Next.
func (c *Client) end(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	err = c.err
	c.mu.Unlock()
	c.notify(Closed, err)
}

func (c *Client) notify(s State, err error) {
	if c.opts.OnState != nil {
		c.opts.OnState(s, err)
	}
}

// signal sends on a channel of capacity one without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
