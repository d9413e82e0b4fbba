package ws

import (
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

// Defaults of Options.
const (
	DefaultMaxTopics      = 100
	DefaultCommandRate    = 20
	DefaultCommandBurst   = 50
	DefaultReadLimit      = 4096
	DefaultMaxFrameSize   = 64 << 10
	DefaultWriteTimeout   = 10 * time.Second
	DefaultPingInterval   = 30 * time.Second
	DefaultMaxConnections = 10000
	DefaultMaxLag         = 10 * time.Second
	DefaultMaxUnsentBytes = 16 << 20
	DefaultSendBuffer     = 128 << 10
)

// maxInvalid is how many invalid commands in a row (malformed or with an
// unknown action) a connection may send before it is closed with
// transport.CloseProtocolViolation.
const maxInvalid = 10

// maxPendingReplies bounds the control replies (subscribed, unsubscribed,
// error) waiting for the writer, in bytes. A client that keeps sending
// commands while not reading its replies is closed as a slow consumer.
const maxPendingReplies = 64 << 10

// drainBatch is how many deliveries the writer moves out of the queue at
// once.
const drainBatch = 128

// Options configures a Handler. The zero value gives the defaults.
type Options struct {
	// Auth holds the authorization hooks: Connect runs before the upgrade
	// (a denial answers HTTP 403 with the error's text), Subscribe on every
	// subscribe command (a denial answers an error message with the code
	// forbidden; the connection stays open). The zero value allows all.
	Auth transport.Auth

	// QueueSize bounds the messages queued for one connection over all its
	// topics (fanout.SubscriberOptions.QueueSize). Zero means
	// fanout.DefaultQueueSize.
	QueueSize int

	// Overflow is the policy for a connection whose queue is full. The
	// default, fanout.OverflowDisconnect, closes it with
	// transport.CloseSlowConsumer (4000) so that the client resumes.
	Overflow fanout.Overflow

	// MaxTopics bounds the subscriptions of one connection; a subscribe
	// beyond it is answered with the code limit. Zero means
	// DefaultMaxTopics (100).
	MaxTopics int

	// CommandRate is the sustained rate of commands a connection may send,
	// per second, and CommandBurst the burst above it (a token bucket).
	// A command beyond them is answered with the code rate_limited. A
	// connection that sends more rate-limited commands in a row than
	// CommandBurst, or 10 malformed ones in a row, is closed with
	// transport.CloseProtocolViolation (4002). Zero means
	// DefaultCommandRate (20/s), and for the burst the larger of
	// DefaultCommandBurst (50) and MaxTopics, so that a reconnecting client
	// may resubscribe all its topics at once.
	CommandRate  float64
	CommandBurst int

	// ReadLimit bounds one command frame, in bytes; a bigger frame closes
	// the connection with 1009 (message too big). Zero means
	// DefaultReadLimit (4096).
	ReadLimit int64

	// MaxFrameSize bounds one outgoing text frame, in bytes, when the
	// writer batches several messages into it. A single message bigger than
	// that is sent alone. Zero means DefaultMaxFrameSize (64 KiB).
	MaxFrameSize int

	// WriteTimeout bounds one frame write and the wait for a pong; a
	// connection that exceeds it is closed. Zero means DefaultWriteTimeout
	// (10s).
	WriteTimeout time.Duration

	// PingInterval is the time between keepalive pings. A ping not
	// answered within WriteTimeout closes the connection. Zero means
	// DefaultPingInterval (30s); a negative value disables pings.
	PingInterval time.Duration

	// MaxConnections bounds the open connections of the handler, counting
	// requests being upgraded. A request beyond it is refused before the
	// upgrade with HTTP 503 and a Retry-After header. Zero means
	// DefaultMaxConnections (10000).
	MaxConnections int

	// MaxLag bounds how long a message may wait for a connection that
	// does not keep up: when the oldest message not yet written to the
	// connection is older than MaxLag (counted from its publication, or
	// from the connection's latest subscribe for a snapshot or a
	// resume's replay), the connection is closed with
	// transport.CloseSlowConsumer (4000) and its client resumes. A write
	// that blocks past that point is cut. Zero means DefaultMaxLag (10s);
	// a negative value disables the check.
	MaxLag time.Duration

	// MaxUnsentBytes bounds how far a connection may fall behind, in
	// bytes: counted from the moment its queue was last empty, the bytes
	// of the messages its writer took from the queue while it never caught
	// up. Beyond it the connection is closed with 4000. A connection that
	// keeps up empties its queue at every write and never nears it. Zero
	// means DefaultMaxUnsentBytes (16 MiB); a negative value disables the
	// check.
	MaxUnsentBytes int

	// SendBuffer caps the kernel send buffer (SO_SNDBUF) of each
	// connection, in bytes, so that a client that stops reading is found
	// by the limits above within a bounded amount of kernel memory (the
	// kernel otherwise grows it to megabytes on a fast link; Linux
	// doubles the value given). Zero means DefaultSendBuffer (128 KiB); a
	// negative value leaves the kernel's.
	SendBuffer int

	// MaxPerClient, when positive, bounds the connections of one client,
	// named by ClientKey; a request beyond it is refused before the
	// upgrade with HTTP 503 and Retry-After, so that one client cannot
	// take all of MaxConnections. Zero means no limit per client.
	MaxPerClient int

	// ClientKey names the client of a request for MaxPerClient. Nil means
	// the host of r.RemoteAddr, which is right only when clients connect
	// directly: behind a proxy or load balancer every request has the
	// proxy's address (supply a key from a header the proxy sets, such as
	// the first hop of X-Forwarded-For, and trust it only from the proxy),
	// and behind a NAT (offices, mobile carriers) many users share one
	// address (a limit on it refuses them together; key by an
	// authenticated user instead).
	ClientKey func(r *http.Request) string

	// OriginPatterns, InsecureSkipVerify and CompressionMode are passed to
	// websocket.AcceptOptions: by default only same-host origins may
	// connect, and permessage-deflate is off.
	OriginPatterns     []string
	InsecureSkipVerify bool
	CompressionMode    websocket.CompressionMode
}

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = fanout.DefaultQueueSize
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = DefaultMaxTopics
	}
	if o.CommandRate <= 0 {
		o.CommandRate = DefaultCommandRate
	}
	if o.CommandBurst <= 0 {
		o.CommandBurst = max(DefaultCommandBurst, o.MaxTopics)
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	o.MaxLag = conns.OrDefault(o.MaxLag, DefaultMaxLag)
	o.MaxUnsentBytes = conns.OrDefault(o.MaxUnsentBytes, DefaultMaxUnsentBytes)
	o.SendBuffer = conns.OrDefault(o.SendBuffer, DefaultSendBuffer)
	return o
}
