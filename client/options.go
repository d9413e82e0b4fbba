package client

import (
	"net/http"
	"time"
)

// Defaults of Options.
const (
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 10 * time.Second
	DefaultQueueSize    = 1024
	DefaultReadLimit    = 1 << 20
	DefaultCommandRate  = 15
	DefaultCommandBurst = 40
	DefaultWriteTimeout = 10 * time.Second
	DefaultIdleTimeout  = 40 * time.Second
)

// Options configures a Client. The zero value gives the defaults.
type Options struct {
	// Header is sent with every handshake request (for example a cookie
	// or an Authorization header). Nil sends none.
	Header http.Header

	// HTTPClient performs the handshakes. Nil means http.DefaultClient.
	HTTPClient *http.Client

	// MinBackoff and MaxBackoff bound the delay before a reconnect: the
	// n-th reconnect in a row waits a random time between zero and
	// min(MaxBackoff, MinBackoff·2ⁿ) (full jitter). A connection that
	// stayed up longer than MaxBackoff starts the count again, and so
	// does a close with 4000 (slow consumer) or 4001 (drain), the first
	// three times in a row. The same delays pace the retries of a topic
	// the server reports as unavailable or rate limited. A handshake
	// answered 429 or 503 with Retry-After waits that long first (at most
	// MaxBackoff), then the jittered delay. Zero means DefaultMinBackoff
	// (100ms) and DefaultMaxBackoff (10s).
	MinBackoff, MaxBackoff time.Duration

	// QueueSize bounds the messages received and not yet taken by Next.
	// When the caller falls that far behind, the client drops its
	// connection, waits until the caller has taken half of the queue, and
	// reconnects, resuming every topic after the last message queued:
	// nothing is lost, the server replays it (or sends a reset when its
	// history no longer reaches back). Zero means DefaultQueueSize (1024).
	QueueSize int

	// ReadLimit bounds one frame from the server, in bytes; a bigger frame
	// ends the connection (and the client reconnects). It must exceed the
	// server's largest frame (transport/ws batches up to 64 KiB, or one
	// message of up to the hub's MaxMessageSize). Zero means
	// DefaultReadLimit (1 MiB).
	ReadLimit int64

	// CommandRate and CommandBurst pace the subscribe and unsubscribe
	// commands the client sends (a token bucket, per second and burst),
	// so that resubscribing many topics after a reconnect stays within the
	// server's command rate. Zero means DefaultCommandRate (15/s) and
	// DefaultCommandBurst (40), below transport/ws's defaults.
	CommandRate  float64
	CommandBurst int

	// WriteTimeout bounds each handshake and the write of each command;
	// a connection that exceeds it is dropped and reconnected. Zero means
	// DefaultWriteTimeout (10s).
	WriteTimeout time.Duration

	// IdleTimeout is how long the connection may stay silent, with no
	// frame and no ping from the server, before the client pings it; a
	// ping not answered within WriteTimeout drops the connection (a
	// half-open TCP connection is otherwise never noticed). Zero means
	// DefaultIdleTimeout (40s, above transport/ws's 30s ping interval, so
	// that a healthy server's pings keep the client from pinging); a
	// negative value disables the check.
	IdleTimeout time.Duration

	// OnState, when set, is called when the client connects, loses its
	// connection or fails to reconnect (err says why), and ends (Closed,
	// with fanout.ErrClosed after Close, or the error that stopped it). It
	// runs on the client's goroutine, so it must return quickly and must
	// not call Close.
	OnState func(s State, err error)
}

func (o Options) withDefaults() Options {
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.CommandRate <= 0 {
		o.CommandRate = DefaultCommandRate
	}
	if o.CommandBurst <= 0 {
		o.CommandBurst = DefaultCommandBurst
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	return o
}

// State is the connection state reported to Options.OnState.
type State int

const (
	// Connected: a connection is up and the client is (re)subscribing.
	Connected State = iota + 1
	// Disconnected: the connection was lost; the client will reconnect.
	Disconnected
	// Closed: the client has ended, by Close or by a failure it does not
	// retry; Next returns the reason once the queue is drained.
	Closed
)

// String returns "connected", "disconnected" or "closed".
func (s State) String() string {
	switch s {
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Closed:
		return "closed"
	}
	return "unknown"
}
